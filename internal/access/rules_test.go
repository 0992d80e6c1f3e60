package access

import (
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
)

const example = `# forward-auth rules
host notebook.example.org  path /          groups hpc,staff  second-factor required
host wiki.example.org      path /private   deny
host wiki.example.org      path /admin/    users alice,bob
host Wiki.example.org:8443                 users carol
host wiki.example.org                      users *           second-factor optional
host *.lab.example.org     path /api       groups lab
host [::1]:8080                            users dave
host *                                     users root
`

func mustParse(t testing.TB, s string) *Rules {
	t.Helper()
	rs, err := Parse("rules.conf", strings.NewReader(s))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	return rs
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key", "host a.org grops x", `rules.conf:1: unknown key "grops"`},
		{"no host", "users alice", "rules.conf:1: no host"},
		{"no who", "host a.org path /x", "rules.conf:1: say who may pass"},
		{"key twice", "host a.org host b.org users x", `rules.conf:1: "host" given twice`},
		{"missing value", "users x host", `rules.conf:1: "host" needs a value`},
		{"bad host", "host a_b.org users x", `rules.conf:1: host "a_b.org"`},
		{"upper-case host", "\n\nhost A.org users x", `rules.conf:3: host "A.org"`},
		{"trailing dot", "host a.org. users x", `host "a.org."`},
		{"bad port", "host a.org:99999 users x", "port must be 1 to 65535"},
		{"empty port", "host a.org: users x", "port must be 1 to 65535"},
		{"wildcard inside", "host a.*.org users x", `host "a.*.org"`},
		{"unicode host", "host bücher.example users x", "only printable ASCII"},
		{"control", "host a.org users x\x01", "only printable ASCII"},
		{"relative path", "host a.org path lab users x", "must start with /"},
		{"dot segment", "host a.org path /a/../b users x", "no . or .. segments"},
		{"escaped path", "host a.org path /a%2f users x", "a plain path prefix"},
		{"path parameter", "host a.org path /a;b users x", "a plain path prefix"},
		{"empty segment", "host a.org path /a//b users x", "no empty segments"},
		{"segment ending in a dot", "host a.org path /a./b users x", "no segment ending in ."},
		{"case", "host a.org path /a case upper users x", `case "upper"`},
		{"stream name", "host a.org path /a:b users x", "some servers read it otherwise"},
		{"short name", "host a.org path /PROGRA~1 users x", "some servers read it otherwise"},
		{"bad user", "host a.org users Alice", `user "Alice"`},
		{"empty group", "host a.org groups a,,b", `group ""`},
		{"second factor", "host a.org users x second-factor maybe", `second-factor "maybe"`},
		{"deny with users", "host a.org deny users x", "deny takes no users"},
		{"star with groups", "host a.org users * groups g", "users * lets everyone pass"},
		{"long line", "host a.org users " + strings.Repeat("x", maxLine), "line longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse("rules.conf", strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %v, %v, want error containing %q", tc.in, rs, err, tc.want)
			}
		})
	}
}

// line is the line of the rule that decides for u, 0 for none.
func line(rs *Rules, host, port, path string, u mfa.User) int {
	p, err := ParsePath(path)
	if err != nil {
		return -1
	}
	if v := rs.Check(Request{Host: host, Port: port, Path: p}, u); v.Rule != nil {
		return v.Rule.Line
	}
	return 0
}

func TestCheckRules(t *testing.T) {
	rs := mustParse(t, strings.Replace(example, "Wiki", "wiki", 1))
	if rs.Len() != 8 {
		t.Fatalf("Len() = %d, want 8", rs.Len())
	}
	root := mfa.User{Name: "root"}
	tests := []struct {
		host, port, path string
		line             int // 0: no rule
	}{
		{"notebook.example.org", "", "/", 2},
		{"notebook.example.org", "", "/lab/tree", 2},
		{"notebook.example.org", "443", "/lab", 2},
		{"wiki.example.org", "", "/private", 3},
		{"wiki.example.org", "", "/private/x", 3},
		{"wiki.example.org", "443", "/privateer", 6},
		{"wiki.example.org", "", "/admin", 4},
		{"wiki.example.org", "", "/admin/users", 4},
		{"wiki.example.org", "443", "/administrator", 6},
		{"wiki.example.org", "8443", "/", 5},
		{"wiki.example.org", "8444", "/", 6},
		{"wiki.example.org", "443", "/", 6},
		// The proxy did not say the port: the port rule refuses rather
		// than let a later rule decide.
		{"wiki.example.org", "", "/", 5},
		{"x.lab.example.org", "", "/api/v1", 7},
		{"a.b.lab.example.org", "", "/api", 7},
		{"lab.example.org", "", "/api", 9},
		{"evillab.example.org", "", "/api", 9},
		{"x.lab.example.org", "", "/apix", 9},
		{"[::1]", "8080", "/", 8},
		{"[::1]", "8081", "/", 9},
		{"other.org", "", "/", 9},
	}
	for _, tc := range tests {
		if got := line(rs, tc.host, tc.port, tc.path, root); got != tc.line {
			t.Errorf("Check(%q, port %q, %q) decided by line %d, want %d", tc.host, tc.port, tc.path, got, tc.line)
		}
	}
	v := rs.Check(Request{Host: "wiki.example.org", Path: Path{"/", "/"}}, mfa.User{Name: "carol"})
	if v.Pass || !strings.Contains(v.Reason, "X-Forwarded-Port") {
		t.Errorf("port rule without the port = %+v, want refused, naming X-Forwarded-Port", v)
	}
	none := mustParse(t, "host a.org users x")
	if v := none.Check(Request{Host: "b.org", Path: Path{"/", "/"}}, root); v.Pass || v.Rule != nil {
		t.Errorf("Check without a default rule = %+v, want deny", v)
	}
}

func TestCheckUsers(t *testing.T) {
	rs := mustParse(t, strings.Replace(example, "Wiki", "wiki", 1))
	alice := mfa.User{Name: "alice"}
	staff := mfa.User{Name: "sam", Groups: []string{"staff"}}
	carol := mfa.User{Name: "carol"}
	tests := []struct {
		host, port, path string
		u                mfa.User
		want             bool
		sf               SecondFactor
	}{
		{"notebook.example.org", "", "/", staff, true, Required},
		{"notebook.example.org", "", "/", alice, false, Required},
		{"wiki.example.org", "", "/admin", alice, true, Required},
		{"wiki.example.org", "", "/admin", staff, false, Required},
		{"wiki.example.org", "", "/private", alice, false, Required},
		{"wiki.example.org", "443", "/", staff, true, Optional},
		{"wiki.example.org", "8443", "/", staff, false, Required},
		{"wiki.example.org", "8443", "/", carol, true, Required},
		{"wiki.example.org", "", "/", carol, false, Required},
	}
	for _, tc := range tests {
		p, _ := ParsePath(tc.path)
		v := rs.Check(Request{Host: tc.host, Port: tc.port, Path: p}, tc.u)
		if v.Pass != tc.want || v.Pass && v.SecondFactor != tc.sf {
			t.Errorf("Check(%q, port %q, %q) for %s = %+v, want pass %v, second factor %v", tc.host, tc.port, tc.path, tc.u.Name, v, tc.want, tc.sf)
		}
	}
}

// FuzzParse checks that any input parses or fails with an error that names
// the file and a line, without a panic, and that every parsed rule matches
// its own host.
func FuzzParse(f *testing.F) {
	f.Add(example)
	f.Add("host a.org:1 deny\nhost * users *")
	f.Add("host [::1] users a second-factor optional")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := Parse("f", strings.NewReader(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, r := range rs.rules {
			if r.Host == "" || r.Path == "" || r.Path[0] != '/' {
				t.Fatalf("rule %+v lacks host or path", r)
			}
			host := strings.TrimPrefix(r.Host, "*.")
			if r.Host != "*" && r.Host != host {
				host = "x." + host
			}
			if line(rs, host, r.Port, r.Path, mfa.User{}) == 0 {
				t.Fatalf("Check(%q, %q, %q) found no rule (rule %+v)", host, r.Port, r.Path, r)
			}
		}
	})
}
