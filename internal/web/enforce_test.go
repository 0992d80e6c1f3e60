package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
)

// Where a rule is set: the -enforce-file, or the admin pages.
const (
	fromFile = "file"
	fromPage = "admin page"
)

// enforceEnv is a server whose rules require a second factor of hpc and
// staff from 2027-01-15 (guests excluded), set in its file or on its
// admin page (from), whose forward-auth lets users without one through
// (so that only the deadline refuses them), with hana (hpc), noor
// (physics: no rule) and gus (hpc, guests: excluded); deadlines start at
// midnight UTC.
func enforceEnv(t *testing.T, from string) *env {
	t.Helper()
	var rules *mfa.Enforcement
	if from == fromFile {
		var err error
		if rules, err = mfa.ParseEnforcement("enforce.conf", strings.NewReader(
			"second factor required for groups hpc, staff from 2027-01-15 except groups guests\n"), time.UTC); err != nil {
			t.Fatal(err)
		}
	}
	fa, err := access.Parse("rules", strings.NewReader("host * users * second-factor optional"))
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := web.ParseTrustedProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{opts: web.Options{Rules: fa, BaseURL: "http://127.0.0.1", TrustedProxies: proxies},
		mopts: mfa.Options{Enforce: rules, Location: time.UTC, SessionIdle: 48 * time.Hour, SessionMax: 72 * time.Hour}})
	for name, groups := range map[string][]string{"hana": {"hpc"}, "noor": {"physics"}, "gus": {"hpc", "guests"}} {
		u := e.addUser(name)
		if _, err := e.svc.SetProfile(context.Background(), u.ID, mfa.Profile{Groups: &groups}); err != nil {
			t.Fatal(err)
		}
	}
	if from == fromPage {
		// staff has no members yet.
		e.addRule(e.signInAdmin(), url.Values{"rule_groups": {"hpc, staff"}, "rule_deadline": {"2027-01-15"}, "rule_except": {"guests"}, "allow_empty": {"1"}})
	}
	return e
}

// addRule adds a rule on the admin page with an administrator's client.
func (e *env) addRule(admin *http.Client, form url.Values) {
	e.t.Helper()
	if r := e.post(admin, "/admin/enforcement", form); r.status != http.StatusSeeOther || r.location != "/admin/enforcement?done=add" {
		e.t.Fatalf("POST /admin/enforcement %v = %d %q\n%s", form, r.status, r.location, r.body)
	}
}

// setClock sets the env's clock.
func (e *env) setClock(t time.Time) {
	e.clock.mu.Lock()
	e.clock.t = t
	e.clock.mu.Unlock()
}

// forward asks forward-auth about an app's page with c's session.
func (e *env) forward(c *http.Client, endpoint string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+endpoint, nil)
	req.Header.Set("X-Original-URL", "http://127.0.0.1/app/")
	return e.do(c, req)
}

// TestEnforcementPaths signs in a member, a non-member and an excluded
// member on every path (the pages, the JSON API, forward-auth) at a fixed
// clock two days before the deadline and after it, with the rule set in
// the file and on the admin page.
func TestEnforcementPaths(t *testing.T) {
	before := time.Date(2027, 1, 13, 9, 0, 0, 0, time.UTC)
	after := time.Date(2027, 1, 15, 8, 0, 0, 0, time.UTC)
	type want struct {
		page     string // where the sign-in page leads: "due", or the redirect
		api      string // the API's outcome
		apiDue   bool   // the API's message tells of the deadline
		nginx    int    // /auth/nginx with the session
		redirect string // /auth/redirect's Location prefix, "" for 200
	}
	tests := []struct {
		user         string
		before, afte want
	}{
		{"hana", want{"due", "ok", true, 200, ""}, want{"/settings/security", "setup_required", false, 401, "http://127.0.0.1/settings/security?next="}},
		{"noor", want{"/settings", "ok", false, 200, ""}, want{"/settings", "ok", false, 200, ""}},
		{"gus", want{"/settings", "ok", false, 200, ""}, want{"/settings", "ok", false, 200, ""}},
	}
	for _, from := range []string{fromFile, fromPage} {
		for _, tc := range tests {
			t.Run(from+"/"+tc.user, func(t *testing.T) {
				e := enforceEnv(t, from)
				check := func(when string, w want, at time.Time) *http.Client {
					e.setClock(at)
					c := e.client()
					r := e.post(c, "/login", map[string][]string{"username": {tc.user}, "password": {testPassword}})
					switch {
					case w.page == "due":
						if r.status != 200 || !strings.Contains(r.body, "from 2027-01-15: 2 days left") || !strings.Contains(r.body, `href="/settings/security?next=%2Fsettings"`) ||
							!strings.Contains(r.body, `id="skip" href="/settings"`) {
							t.Errorf("%s: sign-in page = %d, want the deadline told with a setup link and a skip link\n%s", when, r.status, r.body)
						}
					case r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, w.page):
						t.Errorf("%s: sign-in page = %d to %q, want 303 to %s", when, r.status, r.location, w.page)
					}
					status, v := e.verifyFrom("192.0.2.1", tc.user, testPassword, "")
					if v.Outcome != w.api {
						t.Errorf("%s: API = %d %+v, want %s", when, status, v, w.api)
					}
					if got := strings.Contains(v.Message, "days left"); got != w.apiDue {
						t.Errorf("%s: API message %q tells of the deadline: %v, want %v", when, v.Message, got, w.apiDue)
					}
					if w.api == "setup_required" && !strings.Contains(v.Message, "/settings/security") {
						t.Errorf("%s: API message %q does not point to the setup page", when, v.Message)
					}
					return c
				}
				forward := func(when string, c *http.Client, w want) {
					if r := e.forward(c, "/auth/nginx"); r.status != w.nginx {
						t.Errorf("%s: /auth/nginx = %d, want %d", when, r.status, w.nginx)
					}
					r := e.forward(c, "/auth/redirect")
					if w.redirect == "" && r.status != 200 || w.redirect != "" && (r.status != http.StatusFound || !strings.HasPrefix(r.location, w.redirect)) {
						t.Errorf("%s: /auth/redirect = %d %q, want %q", when, r.status, r.location, w.redirect)
					}
				}
				c := check("before", tc.before, before)
				forward("before", c, tc.before)
				// The session signed in before the deadline goes on after it.
				e.setClock(after)
				forward("after, the session of before", c, tc.afte)
				c = check("after", tc.afte, after)
				if tc.afte.page == "/settings/security" {
					// The setup page is open to the session, and nothing else.
					if r := e.get(c, "/settings/security"); r.status != 200 {
						t.Errorf("after: the setup page = %d, want 200", r.status)
					}
					if r := e.get(c, "/settings"); r.status != http.StatusSeeOther {
						t.Errorf("after: /settings = %d, want 303 (not signed in)", r.status)
					}
					if r := e.get(c, "/login"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/settings/security") {
						t.Errorf("after: /login = %d %q, want 303 to the setup page", r.status, r.location)
					}
					e.enroll(c)
					if r := e.get(c, "/settings"); r.status != 200 {
						t.Errorf("after setting up: /settings = %d, want 200", r.status)
					}
				}
			})
		}
	}
}

// TestEnforcementCoverage counts each enforced group's members with a
// second factor.
func TestEnforcementCoverage(t *testing.T) {
	e := enforceEnv(t, fromFile)
	c := e.client()
	e.post(c, "/login", map[string][]string{"username": {"gus"}, "password": {testPassword}})
	e.enroll(c)
	got, err := e.svc.Coverage(context.Background(), []string{"hpc", "physics", "staff"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `[{"Group":"hpc","Members":2,"Enrolled":1,"FromFile":0},{"Group":"physics","Members":1,"Enrolled":0,"FromFile":0},{"Group":"staff","Members":0,"Enrolled":0,"FromFile":0}]`
	if string(b) != want {
		t.Errorf("Coverage() = %s, want %s", b, want)
	}
}

// TestEnforcementPAM: over PAM, a member of an enforced group without a
// second factor passes (no second factor, so `optional` lets her in)
// before the deadline and is denied, told to set one up, after it; a
// non-member and an excluded member pass both times; with the rule set in
// the file and on the admin page.
func TestEnforcementPAM(t *testing.T) {
	for _, from := range []string{fromFile, fromPage} {
		t.Run(from, func(t *testing.T) { testEnforcementPAM(t, from) })
	}
}

func testEnforcementPAM(t *testing.T, from string) {
	e := enforceEnv(t, from)
	token := e.addHost("login1", false)
	for _, tc := range []struct {
		at   time.Time
		user string
		want string
	}{
		{time.Date(2027, 1, 13, 9, 0, 0, 0, time.UTC), "hana", "no_second_factor"},
		{time.Date(2027, 1, 13, 9, 0, 0, 0, time.UTC), "noor", "no_second_factor"},
		{time.Date(2027, 1, 16, 9, 0, 0, 0, time.UTC), "hana", "denied"},
		{time.Date(2027, 1, 16, 9, 0, 0, 0, time.UTC), "noor", "no_second_factor"},
		{time.Date(2027, 1, 16, 9, 0, 0, 0, time.UTC), "gus", "no_second_factor"},
	} {
		e.setClock(tc.at)
		r := e.pam(pamAuth, token, pamBody(tc.user, ""))
		var v struct{ Result, Message string }
		json.Unmarshal([]byte(r.body), &v)
		if v.Result != tc.want || (tc.want == "denied" && !strings.Contains(v.Message, "set up TOTP")) {
			t.Errorf("PAM for %s on %s = %d %s, want %s", tc.user, tc.at.Format(time.DateOnly), r.status, r.body, tc.want)
		}
	}
	// Each check is in the audit log, on the pam path, with the address
	// the module passed.
	l := e.auditLog(mfa.AuditFilter{User: "hana", Path: mfa.PathPAM})
	if len(l) != 2 || l[0].Result != "setup_required" || l[0].Addr != "203.0.113.5" {
		t.Errorf("audit log of hana's PAM checks = %+v, want 2, the last setup_required from 203.0.113.5", l)
	}
}
