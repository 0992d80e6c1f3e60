package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

var trustIDRe = regexp.MustCompile(`action="/settings/security/browsers/forget"><input type="hidden" name="id" value="([0-9a-f]+)">`)

const trustLabel = "Don't ask for a code on this browser for 30 days"

// trustedEnv is a site that trusts browsers for 30 days, with bob and
// carol enrolled.
func trustedEnv(t *testing.T) (*env, otp.Key, otp.Key) {
	t.Helper()
	e := newEnv(t, setup{mopts: mfa.Options{TrustFor: 30 * 24 * time.Hour, SessionMax: 90 * 24 * time.Hour, SessionIdle: 90 * 24 * time.Hour}})
	var keys []otp.Key
	for _, n := range []string{"bob", "carol"} {
		e.addUser(n)
		c := e.client()
		e.login(c, n, "", "/settings")
		k, _ := e.enroll(c)
		keys = append(keys, k)
	}
	return e, keys[0], keys[1]
}

// trust signs b in as name with the box ticked, on the second step.
func (e *env) trust(b *http.Client, name string, key otp.Key) {
	e.t.Helper()
	e.nextStep()
	e.login(b, name, "", "/login/totp")
	r := e.get(b, "/login/totp")
	if !strings.Contains(htmlText(r.body), trustLabel) {
		e.t.Fatalf("second step lacks %q:\n%s", trustLabel, r.body)
	}
	r = e.post(b, "/login/totp", url.Values{"code": {key.TOTP(e.clock.Now())}, "trust": {"on"}})
	if r.status != 303 {
		e.t.Fatalf("second step with trust = %d\n%s", r.status, r.body)
	}
}

// skips reports whether b signs in as name with the password alone.
func (e *env) skips(b *http.Client, name string) bool {
	e.t.Helper()
	r := e.post(b, "/login", url.Values{"username": {name}, "password": {testPassword}})
	return r.status == 303 && r.location == "/settings"
}

func htmlText(s string) string { return strings.ReplaceAll(s, "&#39;", "'") }

// TestTrustedBrowser: at a fixed clock, a trusted browser skips the code
// (the password is still asked) until it expires; it is listed and can be
// forgotten one by one or all at once.
func TestTrustedBrowser(t *testing.T) {
	e, bobKey, _ := trustedEnv(t)
	b := e.client()
	e.trust(b, "bob", bobKey)
	if !e.skips(b, "bob") {
		t.Fatalf("trusted browser asked for a code")
	}
	if r := e.post(b, "/login", url.Values{"username": {"bob"}, "password": {"wrong password"}}); r.status != 401 {
		t.Errorf("trusted browser with a wrong password = %d, want 401", r.status)
	}
	if e.skips(e.client(), "bob") {
		t.Errorf("another browser skipped the code")
	}
	r := e.get(b, "/settings/security")
	if !strings.Contains(r.body, "Trusted browsers") || !strings.Contains(r.body, "Forget all browsers") || !strings.Contains(r.body, "from 127.0.0.1") {
		t.Errorf("security page does not list the browser:\n%s", r.body)
	}
	// 29 days on it still skips; at 30 it does not.
	e.clock.Add(29 * 24 * time.Hour)
	if !e.skips(b, "bob") {
		t.Errorf("trusted browser after 29 days asked for a code")
	}
	e.clock.Add(24 * time.Hour)
	if e.skips(b, "bob") {
		t.Errorf("trusted browser after 30 days skipped the code")
	}
	// Forget one, then all.
	c, d := e.client(), e.client()
	e.trust(c, "bob", bobKey)
	e.trust(d, "bob", bobKey)
	r = e.get(c, "/settings/security")
	m := trustIDRe.FindAllStringSubmatch(r.body, -1)
	if len(m) != 2 {
		t.Fatalf("%d trusted browsers listed, want 2 (the expired one is not)", len(m))
	}
	if r := e.post(c, "/settings/security/browsers/forget", url.Values{"id": {"00"}}); r.status != 404 {
		t.Errorf("forget a forged id = %d, want 404", r.status)
	}
	if r := e.post(c, "/settings/security/browsers/forget", url.Values{"id": {m[0][1]}}); r.status != 303 {
		t.Errorf("forget one = %d", r.status)
	}
	if e.skips(c, "bob") == e.skips(d, "bob") {
		t.Errorf("forgetting one browser did not forget exactly one")
	}
	if r := e.post(c, "/settings/security/browsers/forget-all", nil); r.status != 303 {
		t.Errorf("forget all = %d", r.status)
	}
	if e.skips(c, "bob") || e.skips(d, "bob") {
		t.Errorf("a browser skipped the code after forget all")
	}
}

// TestTrustedBrowserForgotten: every event that must forget a user's
// trusted browsers does.
func TestTrustedBrowserForgotten(t *testing.T) {
	tests := []struct {
		name  string
		event func(e *env, b *http.Client, u mfa.User, key otp.Key)
	}{
		{"password change", func(e *env, b *http.Client, u mfa.User, key otp.Key) {
			if err := e.svc.SetPassword(context.Background(), u.ID, "another password"); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.SetPassword(context.Background(), u.ID, testPassword); err != nil {
				t.Fatal(err)
			}
		}},
		{"second factor removed", func(e *env, b *http.Client, u mfa.User, key otp.Key) {
			c := e.client()
			e.nextStep()
			e.login(c, u.Name, key.TOTP(e.clock.Now()), "/settings")
			if r := e.post(c, "/settings/security/totp/disable", nil); r.status != 303 {
				t.Fatalf("disable = %d", r.status)
			}
		}},
		{"one authenticator removed", func(e *env, b *http.Client, u mfa.User, key otp.Key) {
			auths, _ := e.svc.ConfirmedAuthenticators(context.Background(), u.ID)
			if res, err := e.svc.RemoveAuthenticator(context.Background(), u, auths[0].ID, mfa.Proof{Session: mfa.Session{Created: e.clock.Now()}}); err != nil || res.Outcome != mfa.OK {
				t.Fatalf("RemoveAuthenticator = %v, %v", res.Outcome, err)
			}
		}},
		{"administrator reset", func(e *env, b *http.Client, u mfa.User, key otp.Key) {
			if err := e.svc.ResetTOTP(context.Background(), u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"disabled", func(e *env, b *http.Client, u mfa.User, key otp.Key) {
			ctx := context.Background()
			if err := e.svc.SetDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.SetDisabled(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, bobKey, _ := trustedEnv(t)
			u, _ := e.svc.UserByName(context.Background(), "bob")
			b := e.client()
			e.trust(b, "bob", bobKey)
			tc.event(e, b, u, bobKey)
			if list, _ := e.svc.TrustedBrowsers(context.Background(), u.ID); len(list) != 0 {
				t.Errorf("after %s: %d trusted browsers, want 0", tc.name, len(list))
			}
			// With a second factor left, the browser is asked for it again.
			if has, _ := e.svc.HasTOTP(context.Background(), u.ID); has && e.skips(b, "bob") {
				t.Errorf("after %s the browser skipped the code", tc.name)
			}
		})
	}
}

// TestTrustedBrowserRefused: another user's cookie, a forged one, a site
// that does not offer it, and the JSON API all ask for the code.
func TestTrustedBrowserRefused(t *testing.T) {
	e, bobKey, _ := trustedEnv(t)
	b := e.client()
	e.trust(b, "bob", bobKey)
	// Carol signs in on bob's browser: his cookie does not let her skip.
	if e.skips(b, "carol") {
		t.Errorf("bob's trusted cookie let carol skip the code")
	}
	// Bob's cookie stolen into another browser works for bob only, so the
	// cookie is bound to him; a forged cookie works for nobody.
	u, _ := url.Parse(e.srv.URL + "/login")
	cookie := ""
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "otpgate_trust" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no trust cookie")
	}
	for _, tc := range []struct{ name, value, user string }{{"stolen, other user", cookie, "carol"}, {"forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bob"}, {"overlong", strings.Repeat("A", 300), "bob"}} {
		f := e.client()
		f.Jar.SetCookies(u, []*http.Cookie{{Name: "otpgate_trust", Value: tc.value}})
		if e.skips(f, tc.user) {
			t.Errorf("%s cookie skipped the code", tc.name)
		}
	}
	// The JSON API never looks at the cookie.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/verify", strings.NewReader(`{"username":"bob","password":"`+testPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "otpgate_trust", Value: cookie})
	if r := e.do(e.client(), req); r.status != 401 || !strings.Contains(r.body, "code_required") {
		t.Errorf("JSON API with a trusted cookie = %d %s, want 401 code_required", r.status, r.body)
	}
	// Off unless the site enables it: no box, and a ticked one is ignored.
	o := newEnv(t, setup{})
	o.addUser("bob")
	c := o.client()
	o.login(c, "bob", "", "/settings")
	key, _ := o.enroll(c)
	ob := o.client()
	o.nextStep()
	o.login(ob, "bob", "", "/login/totp")
	if r := o.get(ob, "/login/totp"); strings.Contains(r.body, `name="trust"`) {
		t.Errorf("the box is offered on a site that does not enable it")
	}
	o.post(ob, "/login/totp", url.Values{"code": {key.TOTP(o.clock.Now())}, "trust": {"on"}})
	if o.skips(ob, "bob") {
		t.Errorf("a site without trusted browsers skipped the code")
	}
}

// TestRecentActivity: the Security page lists what the store keeps,
// newest first: authenticators added and last used, trusted browsers.
func TestRecentActivity(t *testing.T) {
	e, bobKey, _ := trustedEnv(t)
	b := e.client()
	e.trust(b, "bob", bobKey)
	e.clock.Add(time.Hour)
	if !e.skips(b, "bob") {
		t.Fatal("trusted browser asked for a code")
	}
	r := e.get(b, "/settings/security")
	body := htmlText(r.body)
	i := strings.Index(body, "Signed in without a code on a trusted browser")
	j := strings.Index(body, "Signed in with a code from Authenticator app")
	k := strings.Index(body, "Authenticator app added")
	if i < 0 || j < 0 || k < 0 || !(i < j && j < k) || !strings.Contains(body, "from 127.0.0.1") {
		t.Errorf("recent activity (%d %d %d):\n%s", i, j, k, r.body)
	}
}

// TestRecentActivityFailures: someone else's wrong password and wrong
// code for alice, from another address, through the JSON API, are on her
// Security page with where they came from.
func TestRecentActivityFailures(t *testing.T) {
	e, c, key, _ := enrolledAlice(t)
	e.verifyFrom("203.0.113.99", "alice", "guess", "")
	e.verifyFrom("203.0.113.99", "alice", testPassword, "000000")
	e.audit.Flush()
	e.nextStep()
	e.post(c, "/login/totp", url.Values{"code": {key.TOTP(e.clock.Now())}})
	body := htmlText(e.get(c, "/settings/security").body)
	for _, want := range []string{"Sign-in (api) from 203.0.113.99: credentials_wrong, wrong password",
		"Sign-in (api) from 203.0.113.99: code_wrong, wrong code"} {
		if !strings.Contains(body, want) {
			t.Errorf("recent activity lacks %q:\n%s", want, body)
		}
	}
}
