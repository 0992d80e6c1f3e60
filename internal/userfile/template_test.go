package userfile

import (
	"strings"
	"testing"
)

// TestExpand checks the module's expansion of secret=, which templates share.
func TestExpand(t *testing.T) {
	tests := []struct {
		spec, home, name, want string
		wantErr                bool
	}{
		{"~/.google_authenticator", "/home/al", "al", "/home/al/.google_authenticator", false},
		{"${HOME}/.ga", "/home/al", "al", "/home/al/.ga", false},
		{"/var/otp/${USER}", "/home/al", "al", "/var/otp/al", false},
		{"/var/otp/~/x", "/home/al", "al", "/var/otp//home/al/x", false},
		{"/var/otp/a~", "/home/al", "al", "/var/otp/a~", false},
		{"~~", "/home/al", "al", "/home/al~", false},
		{"/x/${USER}", "", "al", "/x/al", false},
		{"/x/${HOME}", "", "al", "", true},
		{"~/x", "", "al", "", true},
		{"/x/${USER}", "/h", "${HOME}", "/x/${HOME}", false},
		{"/x/$USER", "/h", "al", "/x/$USER", false},
	}
	for _, tc := range tests {
		got, err := Expand(tc.spec, tc.home, tc.name)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Expand(%q, %q, %q) = %q, %v; want %q, error %v", tc.spec, tc.home, tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestValidateTemplate(t *testing.T) {
	tests := []struct {
		template string
		ok       bool
	}{
		{"/home/${USER}/.google_authenticator", true},
		{"${HOME}/.google_authenticator", true},
		{"~/.google_authenticator", true},
		{"/var/lib/otp/${USER}", true},
		{"/var/lib/otp/${USER}.ga", true},
		{"", false},
		{"/var/lib/otp/all", false},
		{"relative/${USER}", false},
		{"${USER}/x", false},
		{"/var/${LOGNAME}/${USER}", false},
		{"/var//${USER}", false},
		{"/var/../${USER}", false},
		{"/var/./${USER}", false},
		{"/var/${USER}/", false},
		{"/var/${USER}\n", false},
		{"/var/\x00${USER}", false},
		{"/" + strings.Repeat("a", 1100) + "${USER}", false},
	}
	for _, tc := range tests {
		tmpl := strings.NewReplacer(`\n`, "\n", `\x00`, "\x00").Replace(tc.template)
		if err := ValidateTemplate(tmpl); (err == nil) != tc.ok {
			t.Errorf("ValidateTemplate(%q) = %v, want ok %v", tmpl, err, tc.ok)
		}
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"bob", true}, {"b.o_b-1@x", true}, {"Bob", true},
		{"", false}, {".", false}, {"..", false}, {".bob", false}, {"-bob", false}, {"a/b", false},
		{"a b", false}, {"a\x00", false}, {"${HOME}", false}, {strings.Repeat("a", 65), false},
	}
	for _, tc := range tests {
		name := strings.ReplaceAll(tc.name, `\x00`, "\x00")
		if err := ValidateName(name); (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %v", name, err, tc.ok)
		}
	}
}

// FuzzTemplate: a template is refused, or it expands, for any safe name,
// to an absolute clean path that holds the name or the home directory, and
// two users get two paths.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/home/${USER}/.google_authenticator", "${HOME}/.ga", "~/x", "/a/${USER}/../b", "/x/${HOME}${USER}", "${", "~~/${USER}"} {
		f.Add(s, "bob")
	}
	f.Fuzz(func(t *testing.T, template, name string) {
		if ValidateTemplate(template) != nil || ValidateName(name) != nil {
			return
		}
		p, err := Expand(template, "/home/"+name, name)
		if err != nil {
			t.Fatalf("valid template %q: Expand: %v", template, err)
		}
		q, _ := Expand(template, "/home/"+name+"x", name+"x")
		if !strings.HasPrefix(p, "/") || p == q || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			t.Fatalf("template %q, name %q: path %q (other %q)", template, name, p, q)
		}
	})
}
