package userfile

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Expand expands a state file path as the stock module expands its
// secret= argument: "~" at the start or right after "/" and "${HOME}"
// become home, "${USER}" becomes name; the substituted text is not
// scanned again. home is "" when the home directory is not known, and a
// template that needs it is then an error.
func Expand(template, home, name string) (string, error) {
	var b strings.Builder
	tilde := true
	for i := 0; i < len(template); {
		subst, n, isHome := "", 0, false
		switch {
		case tilde && template[i] == '~':
			subst, n, isHome = home, 1, true
		case strings.HasPrefix(template[i:], "${HOME}"):
			subst, n, isHome = home, 7, true
		case strings.HasPrefix(template[i:], "${USER}"):
			subst, n = name, 7
		}
		if n == 0 {
			tilde = template[i] == '/'
			b.WriteByte(template[i])
			i++
			continue
		}
		if isHome && home == "" {
			return "", fmt.Errorf("%s: no home directory known", template)
		}
		b.WriteString(subst)
		i += n
		tilde = false
	}
	return b.String(), nil
}

// needsHome reports whether a template refers to the home directory.
func needsHome(template string) bool {
	_, err := Expand(template, "", "x")
	return err != nil
}

// maxTemplate bounds the length of a template, in bytes.
const maxTemplate = 1024

// ValidateTemplate checks a path template for the server: it must name a
// different absolute, clean path for each user, so it must hold ${USER}
// or ${HOME} (or "~"), start with "/", "${HOME}" or "~", and hold no
// other "${", no "." or ".." element, no "//" and no control character.
func ValidateTemplate(template string) error {
	bad := func(why string) error { return fmt.Errorf("user file template %q: %s", template, why) }
	switch {
	case template == "":
		return errors.New("user file template is empty")
	case len(template) > maxTemplate:
		return fmt.Errorf("user file template: longer than %d bytes", maxTemplate)
	case strings.ContainsFunc(template, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("control character")
	}
	rest := strings.NewReplacer("${USER}", "", "${HOME}", "").Replace(template)
	if strings.Contains(rest, "${") {
		return bad("only ${USER} and ${HOME} are expanded")
	}
	a, err1 := Expand(template, "/home/a", "a")
	b, err2 := Expand(template, "/home/b", "b")
	switch {
	case err1 != nil || err2 != nil:
		return bad("cannot be expanded")
	case a == b:
		return bad("must hold ${USER} or ${HOME}, or every user would share one file")
	case !strings.HasPrefix(a, "/"):
		return bad("must be an absolute path (start with /, ${HOME} or ~)")
	case filepath.Clean(a) != a || strings.HasSuffix(template, "/"):
		return bad(`must be a clean path: no "//", "." or ".." elements, no trailing "/"`)
	}
	return nil
}

// ValidateName checks that a user name is safe as one path component: 1 to
// 64 bytes of letters, digits, '.', '_', '-' and '@', not starting with '.'
// or '-'. otpgate's own names are of this form; the check keeps a name from
// ever leading a template outside its directory.
func ValidateName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("user name %q is not a safe path component", name)
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return fmt.Errorf("user name %q is not a safe path component", name)
		}
	}
	return nil
}
