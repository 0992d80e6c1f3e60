package ldap

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// checkName refuses, before any directory request, a name that no
// directory account should have and that could only serve an attack: an
// empty, overlong (more than MaxNameLen bytes) or non-UTF-8 name, or one
// with a NUL or another control character, or a leading or trailing space.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("name longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return errors.New("name is not UTF-8")
	case name[0] == ' ' || name[len(name)-1] == ' ':
		// Matching rules ignore them (RFC 4518 §2.6.1), so " alice"
		// would be alice under another name for the core's throttle.
		return errors.New("name begins or ends with a space")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("name contains a control character")
		}
	}
	return nil
}

// buildUserFilter puts name into the UserFilter template, escaped per
// RFC 4515 §3: the name can only ever be an assertion value, never
// filter syntax, so "*)(uid=*" matches a user of that literal name.
func buildUserFilter(template, name string) string {
	return strings.ReplaceAll(template, UsernamePlaceholder, goldap.EscapeFilter(name))
}

// buildGroupFilter puts the user's name and DN into the GroupFilter
// template, both escaped per RFC 4515: a DN from the directory may hold
// parentheses or an asterisk too.
func buildGroupFilter(template, name, dn string) string {
	return strings.NewReplacer(
		UsernamePlaceholder, goldap.EscapeFilter(name),
		DNPlaceholder, goldap.EscapeFilter(dn),
	).Replace(template)
}

// buildUserDN puts name into the UserDNTemplate, escaped as an attribute
// value per RFC 4514 §2.4, so that a name with a comma or a plus cannot
// add an RDN or move the DN elsewhere in the tree.
func buildUserDN(template, name string) string {
	return strings.ReplaceAll(template, UsernamePlaceholder, escapeDNValue(name))
}

// escapeDNValue escapes an attribute value for a DN string (RFC 4514
// §2.4): the characters `"+,;<>\` and NUL everywhere, a leading space or
// '#', and a trailing space. '=' needs no escape there, but escaping it
// costs nothing and keeps older parsers on track.
func escapeDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == 0:
			b.WriteString(`\00`)
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\' || c == '=':
			b.WriteByte('\\')
			b.WriteByte(c)
		case (i == 0 && (c == ' ' || c == '#')) || (i == len(v)-1 && c == ' '):
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
