package access

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
)

// attackRules are the rules of the attack run: a deny rule, a group rule,
// and everyone else everywhere else.
const attackRules = `host wiki.example.org  path /private  deny
host wiki.example.org  path /admin    groups admins
host wiki.example.org  path /Public   users *  case insensitive
host wiki.example.org  path /         groups staff
host *.example.org                    users *
`

var (
	carol = mfa.User{Name: "carol", Groups: []string{"staff"}}
	admin = mfa.User{Name: "root", Groups: []string{"admins", "staff"}}
)

// passes reports whether u may reach the escaped path on the wiki: the
// path must parse, and the rules must let u pass.
func passes(rs *Rules, escaped string, u mfa.User) bool {
	p, err := ParsePath(escaped)
	return err == nil && rs.Check(Request{Host: "wiki.example.org", Path: p}, u).Pass
}

// TestCheckSpellings: every spelling of /private and /admin that some
// backend serves as that path is refused to a user outside the rule.
func TestCheckSpellings(t *testing.T) {
	rs := mustParse(t, attackRules)
	for _, p := range []string{
		// Seen passing in the attack run.
		"/PRIVATE", "/Private/x", "/private;x=1", "/admin;jsessionid=1", "/admin%3B/x", "/private.",
		"/private%20", "/priv%2561te", "/%252e%252e/private", "/%C0%AEadmin",
		// Case, escapes and Unicode.
		"/pRiVaTe", "/ADMIN/users", "/pr%69vate", "/PR%49VATE", "/%70rivate", "/private%2F", "/%2fprivate",
		"/private%2fx", "/%5cprivate", "/private%5c", "/\\private", "/x\\..\\private", "/private%00", "/private%0a",
		"/private%", "/private%2", "/private%zz", "/private%u0041", "/%ef%bd%90rivate", "/ｐｒｉｖａｔｅ", "/ＰＲＩＶＡＴＥ",
		"/%EF%BC%B0RIVATE", "/private\uff0e", "/private\uff1bx", "/admin\u2215x", "/ſecret/../private",
		"/%c0%afprivate", "/%e0%80%aeprivate", "/%f0%80%80%aeadmin", "/%ff/private/..",
		// Servlet path parameters and Windows names.
		"/private;", "/private;/x", "/;x/private", "/;/private", "/private;x/y", "/private%3b", "/private%3Bx",
		"/admin;a=b;c=d/users", "/private.;x", "/private. . .", "/private%2e", "/private%2e%2e", "/private%20%2e",
		"/private::$DATA", "/private:stream", "/private%3Fx", "/private%23x", "/admin%3f/../x", "/private\uff1fx", "/admin::$INDEX_ALLOCATION/x", "/PRIVAT~1", "/ADMIN~1/x",
		// Slashes and dot segments.
		"//private", "/private/", "/private//", "/private//x", "///admin", "/./private", "/x/../private",
		"/x/%2e%2e/private", "/x/%2E%2E/private", "/x/.%2e/private", "/x/..;/private", "/x/..%3b/private",
		"/x/.. /private", "/x/..%20/private", "/x/..%00/private", "/x/.../private", "/x/\uff0e\uff0e/private",
		"/x/%ef%bc%8e%ef%bc%8e/private", "/%2e/private", "/private/.", "/private/..", "/x/..\\private",
	} {
		if passes(rs, p, carol) {
			t.Errorf("%q: carol passes, want refused", p)
		}
	}
	// So that the test can fail: plain paths that carol may reach, and
	// admins reach their pages in any spelling that parses.
	for _, tc := range []struct {
		path string
		u    mfa.User
	}{
		{"/", carol}, {"/page", carol}, {"/privateer", carol}, {"/administrator", carol}, {"/Page/X", carol},
		{"/pages/a.b", carol}, {"/wiki/Caf%C3%A9", carol}, {"/a%20b", carol}, {"/q?x=/private", carol},
		{"/public", carol}, {"/PUBLIC/x", carol}, {"/Public", carol}, {"/wiki/What_is_it%3F", carol},
		{"/admin", admin}, {"/ADMIN;x", admin}, {"/admin/", admin},
	} {
		if !passes(rs, strings.SplitN(tc.path, "?", 2)[0], tc.u) {
			t.Errorf("%q: %s refused, want passed", tc.path, tc.u.Name)
		}
	}
}

// TestCaseOption: a case-sensitive rule (the default) catches other cases
// when it restricts, and does not let them pass when it allows; with case
// insensitive it lets them pass.
func TestCaseOption(t *testing.T) {
	for _, tc := range []struct {
		rules, path string
		want        bool
	}{
		{"path /public users *\nhost * groups admins", "/public", true},
		{"path /public users *\nhost * groups admins", "/PUBLIC", false},
		{"path /public users * case insensitive\nhost * groups admins", "/PUBLIC", true},
		{"path /public users * case sensitive\nhost * groups admins", "/PUBLIC", false},
		{"path /Admin groups admins\nhost * users *", "/admin", false},
		{"path /Admin groups admins\nhost * users *", "/ADMIN/x", false},
		{"path /Admin groups admins case insensitive\nhost * users *", "/aDmIn", false},
		{"path /Admin groups admins\nhost * users *", "/Adminx", true},
		{"path /kb/s groups admins\nhost * users *", "/\u212ab/\u017f", false}, // Kelvin sign, long s
		{"path /kb/s groups admins\nhost * users *", "/kb/\u017f;x", false},
	} {
		rs := mustParse(t, "host * "+tc.rules)
		if got := passes(rs, tc.path, carol); got != tc.want {
			t.Errorf("rules %q, %s: carol passes %v, want %v", tc.rules, tc.path, got, tc.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct{ in, exact, loose string }{
		{"/", "/", "/"},
		{"/lab/", "/lab/", "/lab"},
		{"/lab/tree/a.ipynb", "/lab/tree/a.ipynb", "/lab/tree/a.ipynb"},
		{"/Lab/Tree", "/Lab/Tree", "/lab/tree"},
		{"/a%20b", "/a b", "/a b"},
		{"/a;x=1/b;y", "/a;x=1/b;y", "/a/b"},
		{"/a./b. ", "/a./b. ", "/a/b"},
		{"//a//b/", "//a//b/", "/a/b"},
		{"/caf%C3%A9/%C3%89T%C3%89", "/café/ÉTÉ", "/café/été"},
		{"/ｌａｂ／Ｘ", "/ｌａｂ／Ｘ", "/lab/x"},
		{"/ſ", "/ſ", "/s"},
		{"/;x", "/;x", "/"},
	}
	for _, tc := range tests {
		got, err := ParsePath(tc.in)
		if err != nil || got.Exact != tc.exact || got.Loose != tc.loose {
			t.Errorf("ParsePath(%q) = %+v, %v, want {%q %q}", tc.in, got, err, tc.exact, tc.loose)
		}
	}
	for _, in := range []string{"", "relative", "/a/../b", "/a/./b", "/..", "/%2e", "/a%2fb", "/a%5Cb", `/a\b`, "/a%25", "/%",
		"/%c0%ae", "/a\x00", "/a%7f", "/a/..;/b", "/PROGRA~1", "/a/\uff0e\uff0e/b"} {
		if got, err := ParsePath(in); !errors.Is(err, ErrAmbiguousPath) {
			t.Errorf("ParsePath(%q) = %+v, %v, want ErrAmbiguousPath", in, got, err)
		}
	}
}

// backendReadings are the paths that common backends serve for an escaped
// request path, modelled independently of ParsePath: decoded once or
// twice, with '\' as '/', dot segments resolved, ;parameters cut, trailing
// dots and spaces dropped, the query split off after decoding, in any
// case.
func backendReadings(escaped string) []string {
	var out []string
	once, err := url.PathUnescape(escaped)
	if err != nil {
		return nil
	}
	twice, err := url.PathUnescape(once)
	if err != nil {
		twice = once
	}
	var decoded []string
	for _, p := range []string{once, twice} {
		q, _, _ := strings.Cut(p, "?") // a backend that splits the query after decoding
		q, _, _ = strings.Cut(q, "#")
		decoded = append(decoded, p, q)
	}
	for _, p := range decoded {
		p2 := strings.ReplaceAll(p, `\`, "/")
		decoded = append(decoded, p2)
	}
	for _, p := range decoded {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			s, _, _ = strings.Cut(s, ";")
			s, _, _ = strings.Cut(s, ":")
			segs[i] = strings.TrimRight(s, ". ")
		}
		servlet := strings.Join(segs, "/")
		for _, q := range []string{p, servlet} {
			q = path.Clean("/" + q)
			out = append(out, q, strings.ToLower(q))
		}
	}
	return out
}

// FuzzParsePath: a path that parses has readings that parse to themselves
// (a fixed point), and no request that any backend reading puts under
// /private, nor whose readings are under it, passes the deny rule.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/", "/private", "/PRIVATE", "/private;x=1", "/admin%3B/x", "/private.", "/private%20",
		"/priv%2561te", "/%252e%252e/private", "/%C0%AEadmin", "/ｐｒｉｖａｔｅ", "/x/..;/private", "//private", "/a/b/"} {
		f.Add(s)
	}
	rs := mustParse(f, "host * path /private deny\nhost * users *")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrAmbiguousPath) {
				t.Fatalf("ParsePath(%q) = %v, not ErrAmbiguousPath", s, err)
			}
			return
		}
		for _, r := range []string{p.Exact, p.Loose} {
			q, err := ParsePath(r)
			if err != nil || q.Exact != r {
				t.Fatalf("ParsePath(%q) = %+v; ParsePath(%q) = %+v, %v: not a fixed point", s, p, r, q, err)
			}
		}
		if q, _ := ParsePath(p.Loose); q.Loose != p.Loose {
			t.Fatalf("ParsePath(%q).Loose = %q; its own Loose is %q: not a fixed point", s, p.Loose, q.Loose)
		}
		under := func(x string) bool { return x == "/private" || strings.HasPrefix(x, "/private/") }
		private := under(p.Loose) || under(strings.ToLower(p.Exact))
		for _, b := range backendReadings(s) {
			private = private || under(b)
		}
		if private && rs.Check(Request{Host: "a.org", Path: p}, carol).Pass {
			t.Fatalf("ParsePath(%q) = %+v passes the deny rule on /private", s, p)
		}
	})
}

// BenchmarkCheck is the rules' part of a forward-auth check: a plain path
// (the common case, no allocation), and one that needs both readings.
func BenchmarkCheck(b *testing.B) {
	rs := mustParse(b, attackRules)
	for _, p := range []string{"/lab/tree/notes.ipynb", "/Wiki/Caf%C3%A9;v=2"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pp, err := ParsePath(p)
				if err != nil || !rs.Check(Request{Host: "wiki.example.org", Port: "443", Path: pp}, carol).Pass {
					b.Fatal("refused")
				}
			}
		})
	}
}
