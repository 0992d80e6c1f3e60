package ldap

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// hostileNames are names that try to widen a filter, add an RDN or
// confuse a parser; they seed the fuzz targets and the tests against the
// real server.
var hostileNames = []string{
	"*",
	"*)(uid=*",
	"*)(|(uid=*",
	"alice)(|(uid=*",
	"alice*",
	"a*e",
	"admin*)((|userPassword=*)",
	"*)(objectClass=*))(&(uid=alice",
	"\\2a",
	"\\",
	"(",
	")",
	"alice)",
	"uid=alice,ou=people,dc=example,dc=org",
	"alice,ou=people",
	"alice+cn=x",
	"#alice",
	" alice ",
	"al\"ice;<>",
	"élise",
	"alice\x00",
	"x\x00)(uid=*",
	strings.Repeat("a", 65),
	"\xff\xfe",
	"alice\n",
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"élise", true},
		{"*)(uid=*", true}, // legal, and escaped in the filter
		{strings.Repeat("a", 64), true},
		{strings.Repeat("é", 32), true}, // 64 bytes
		{"", false},
		{strings.Repeat("a", 65), false},
		{strings.Repeat("é", 33), false},
		{"\xff", false},
		{" alice", false},
		{"alice ", false},
		{"al ice", true},
		{"al\xc3", false},
		{"alice\x00", false},
		{"\x00", false},
		{"alice\n", false},
		{"al\x7fice", false},
	}
	for _, tc := range tests {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestBuildUserFilter(t *testing.T) {
	tests := []struct{ name, want string }{
		{"alice", "(uid=alice)"},
		{"*)(uid=*", `(uid=\2a\29\28uid=\2a)`},
		{`\2a`, `(uid=\5c2a)`},
		{"élise", `(uid=\c3\a9lise)`},
	}
	for _, tc := range tests {
		if got := buildUserFilter("(uid={username})", tc.name); got != tc.want {
			t.Errorf("buildUserFilter(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
	if got, want := buildGroupFilter("(|(memberUid={username})(member={dn}))", "a*", "cn=x (y),dc=org"),
		`(|(memberUid=a\2a)(member=cn=x \28y\29,dc=org))`; got != want {
		t.Errorf("buildGroupFilter = %s, want %s", got, want)
	}
}

func TestBuildUserDN(t *testing.T) {
	tests := []struct{ name, want string }{
		{"alice", "uid=alice,ou=people,dc=example,dc=org"},
		{"a,ou=admins", `uid=a\,ou\=admins,ou=people,dc=example,dc=org`},
		{"a+cn=b", `uid=a\+cn\=b,ou=people,dc=example,dc=org`},
		{" #a ", `uid=\ #a\ ,ou=people,dc=example,dc=org`},
		{"#a", `uid=\#a,ou=people,dc=example,dc=org`},
		{`a"\;<>`, `uid=a\"\\\;\<\>,ou=people,dc=example,dc=org`},
	}
	for _, tc := range tests {
		if got := buildUserDN("uid={username},ou=people,dc=example,dc=org", tc.name); got != tc.want {
			t.Errorf("buildUserDN(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// marker stands for {username} when compiling a template alone.
const marker = "otpgate-marker-3f9c1e"

// FuzzUserFilter checks, for every preset's UserFilter, that the filter
// built from any name that checkName lets through compiles, and has the
// template's exact shape with the name as nothing but the value of an
// equality match on the name attribute: a name can never widen the
// search.
func FuzzUserFilter(f *testing.F) {
	for _, n := range hostileNames {
		f.Add(n)
	}
	f.Add("alice")
	templates := []struct{ filter, attr string }{{"(uid={username})", "uid"}}
	for _, p := range presets {
		templates = append(templates, struct{ filter, attr string }{p.userFilter, p.nameAttr})
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkName(name) != nil {
			return
		}
		for _, tmpl := range templates {
			want, err := goldap.CompileFilter(strings.ReplaceAll(tmpl.filter, UsernamePlaceholder, marker))
			if err != nil {
				t.Fatalf("template %s: %v", tmpl.filter, err)
			}
			built := buildUserFilter(tmpl.filter, name)
			got, err := goldap.CompileFilter(built)
			if err != nil {
				t.Fatalf("buildUserFilter(%q) = %s, which does not compile: %v", name, built, err)
			}
			if err := sameShape(want, got, tmpl.attr, name); err != nil {
				t.Fatalf("buildUserFilter(%q) = %s: %v", name, built, err)
			}
		}
	})
}

// sameShape compares two compiled filters: the same tags and children
// everywhere, the same values except where want holds the marker, which
// must be the value of an equality match on attr and hold name in got.
func sameShape(want, got *ber.Packet, attr, name string) error {
	if want.ClassType != got.ClassType || want.TagType != got.TagType || want.Tag != got.Tag {
		return fmt.Errorf("tag %v, want %v", got.Tag, want.Tag)
	}
	if len(want.Children) != len(got.Children) {
		return fmt.Errorf("%d children under tag %v, want %d", len(got.Children), got.Tag, len(want.Children))
	}
	if want.Tag == goldap.FilterEqualityMatch && len(want.Children) == 2 && want.Children[1].Data.String() == marker {
		if a := got.Children[0].Data.String(); !strings.EqualFold(a, attr) {
			return fmt.Errorf("name compared with %s, want %s", a, attr)
		}
		if v := got.Children[1].Data.Bytes(); !bytes.Equal(v, []byte(name)) {
			return fmt.Errorf("equality value %q, want %q", v, name)
		}
		return nil
	}
	if len(want.Children) == 0 {
		if !bytes.Equal(want.Data.Bytes(), got.Data.Bytes()) {
			return fmt.Errorf("value %q, want %q", got.Data.Bytes(), want.Data.Bytes())
		}
		return nil
	}
	for i := range want.Children {
		if err := sameShape(want.Children[i], got.Children[i], attr, name); err != nil {
			return err
		}
	}
	return nil
}

// FuzzUserDN checks that a name put into a DN template stays the one
// value of the first RDN: no RDN added, none moved.
func FuzzUserDN(f *testing.F) {
	for _, n := range hostileNames {
		f.Add(n)
	}
	f.Add("alice")
	const tmpl = "uid={username},ou=people,dc=example,dc=org"
	f.Fuzz(func(t *testing.T, name string) {
		if checkName(name) != nil {
			return
		}
		built := buildUserDN(tmpl, name)
		dn, err := goldap.ParseDN(built)
		if err != nil {
			t.Fatalf("buildUserDN(%q) = %s, which does not parse: %v", name, built, err)
		}
		var got []string
		for _, rdn := range dn.RDNs {
			for _, a := range rdn.Attributes {
				got = append(got, a.Type+"="+a.Value)
			}
			if len(rdn.Attributes) != 1 {
				t.Fatalf("buildUserDN(%q) = %s: an RDN with %d values", name, built, len(rdn.Attributes))
			}
		}
		want := []string{"uid=" + name, "ou=people", "dc=example", "dc=org"}
		if !slices.Equal(got, want) {
			t.Fatalf("buildUserDN(%q) = %s, parses as %q, want %q", name, built, got, want)
		}
	})
}
