package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

func TestFirstAdminSetup(t *testing.T) {
	e := newEnv(t, setup{})
	ctx := context.Background()
	token, ok, err := e.svc.SetupToken(ctx)
	if err != nil || !ok {
		t.Fatalf("SetupToken = %v, %v, want a token", ok, err)
	}
	c := e.client()
	if r := e.get(c, "/setup"); r.status != 404 {
		t.Errorf("GET /setup without token = %d, want 404", r.status)
	}
	if r := e.get(c, "/setup?token="+token); r.status != 200 || !strings.Contains(r.body, "Create the first administrator") {
		t.Errorf("GET /setup = %d, want the form", r.status)
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"passwords differ", url.Values{"token": {token}, "username": {"root"}, "password": {testPassword}, "confirm": {"other password"}}, 400, "The two passwords differ."},
		{"short password", url.Values{"token": {token}, "username": {"root"}, "password": {"short"}, "confirm": {"short"}}, 400, "Password shorter than 8 characters."},
		{"bad name", url.Values{"token": {token}, "username": {"ro ot"}, "password": {testPassword}, "confirm": {testPassword}}, 400, "User name may hold only"},
		{"wrong token", url.Values{"token": {"nope"}, "username": {"root"}, "password": {testPassword}, "confirm": {testPassword}}, 403, "Setup link not valid"},
		{"ok", url.Values{"token": {token}, "username": {"Root"}, "password": {testPassword}, "confirm": {testPassword}}, 303, ""},
		{"token used", url.Values{"token": {token}, "username": {"root2"}, "password": {testPassword}, "confirm": {testPassword}}, 403, "Setup link not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(c, "/setup", tc.form)
			if r.status != tc.wantStatus || !strings.Contains(r.body, tc.wantText) {
				t.Errorf("POST /setup = %d, want %d with %q\n%s", r.status, tc.wantStatus, tc.wantText, r.body)
			}
		})
	}
	// The admin is signed in and led to TOTP setup.
	r := e.get(c, "/settings/security?done=admin")
	if r.status != 200 || !strings.Contains(r.body, "Set up TOTP") || !strings.Contains(r.body, "administrator account is ready") {
		t.Errorf("security page after setup = %d\n%s", r.status, r.body)
	}
	u, err := e.store.UserByName(ctx, "root")
	if err != nil || !u.Admin {
		t.Errorf("UserByName(root) = %+v, %v, want an admin", u, err)
	}
	if _, ok, _ := e.svc.SetupToken(ctx); ok {
		t.Errorf("SetupToken with users = ok, want none")
	}
}

func TestLoginPasswordOnly(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	if r := e.get(c, "/settings"); r.status != 303 || r.location != "/login?next=%2Fsettings" {
		t.Errorf("GET /settings signed out = %d %q, want 303 to login", r.status, r.location)
	}
	r := e.get(c, "/login")
	for _, want := range []string{`name="username"`, `name="password"`, "OTP (optional):"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	// Without TOTP the code field is ignored.
	e.login(c, "BOB", "123456", "/settings")
	r = e.get(c, "/settings")
	if r.status != 200 || !strings.Contains(r.body, "Signed in as <strong>bob</strong>") {
		t.Errorf("GET /settings = %d\n%s", r.status, r.body)
	}
	if !strings.Contains(r.body, `href="/settings/security"`) {
		t.Errorf("Personal settings lacks the Security link")
	}
	// Already signed in: the login page sends on.
	if r := e.get(c, "/login?next=/settings/security"); r.status != 303 || r.location != "/settings/security" {
		t.Errorf("GET /login signed in = %d %q", r.status, r.location)
	}
	if r := e.post(c, "/logout", nil); r.status != 303 || r.location != "/login" {
		t.Errorf("POST /logout = %d %q", r.status, r.location)
	}
	if r := e.get(c, "/settings"); r.status != 303 {
		t.Errorf("GET /settings after logout = %d, want 303", r.status)
	}
}

func TestTOTPEnrolmentAndLogins(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	r := e.get(c, "/settings/security")
	if !strings.Contains(r.body, "TOTP (Authenticator app)") || !strings.Contains(r.body, "Set up TOTP") {
		t.Fatalf("security page lacks TOTP setup:\n%s", r.body)
	}
	// The setup page: QR code, key in groups of 4, wrong code refused.
	r = e.post(c, "/settings/security/totp", nil)
	if !strings.Contains(r.body, "<svg") || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("setup page lacks inline SVG or no-store")
	}
	key, id := e.keyOf(r.body)
	if g := keyRe.FindStringSubmatch(r.body)[1]; len(g) != 39 || g[4] != ' ' {
		t.Errorf("key %q, want 32 characters in groups of 4", g)
	}
	wrong := otp.Key{Secret: []byte("some other secret!!!")}.TOTP(e.clock.Now())
	r = e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {wrong}})
	if r.status != 400 || !strings.Contains(r.body, "That code does not match") {
		t.Errorf("confirm with a wrong code = %d", r.status)
	}
	if k2, _ := e.keyOf(r.body); string(k2.Secret) != string(key.Secret) {
		t.Errorf("setup page after a wrong code shows another key")
	}
	// A code of the previous step is accepted with a clock warning.
	r = e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {key.TOTP(e.clock.Now().Add(-30 * time.Second))}})
	if r.status != 200 || !strings.Contains(r.body, "about 30 seconds behind the server") {
		t.Errorf("confirm with last step's code = %d, want a clock warning\n%s", r.status, r.body)
	}
	codes := recoveryRe.FindAllStringSubmatch(r.body, -1)
	if len(codes) != 10 {
		t.Fatalf("confirm page shows %d recovery codes, want 10", len(codes))
	}
	r = e.get(c, "/settings/security")
	if !strings.Contains(r.body, "You have 10 unused recovery codes left.") {
		t.Errorf("security page lacks the recovery count")
	}
	if r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {key.TOTP(e.clock.Now())}}); r.status != 400 {
		t.Errorf("confirming twice = %d, want 400", r.status)
	}

	// Two-step login: password, then the code on a second page.
	e.nextStep()
	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	if r := e.get(b, "/settings"); r.status != 303 {
		t.Errorf("GET /settings between the steps = %d, want 303 (not signed in yet)", r.status)
	}
	r = e.get(b, "/login/totp")
	if !strings.Contains(r.body, "Enter the verification code from your authenticator app") {
		t.Errorf("second step page:\n%s", r.body)
	}
	r = e.post(b, "/login/totp", url.Values{"code": {"000000"}, "next": {"/settings"}})
	if r.status != 401 || !strings.Contains(r.body, "That code is wrong.") {
		t.Errorf("second step with a wrong code = %d", r.status)
	}
	code := key.TOTP(e.clock.Now())
	// The wrong code came from this browser (the form counts it): no
	// warning. The same count from elsewhere gets one (TestCodeFailureWarning).
	if !strings.Contains(r.body, `name="tried" value="1"`) {
		t.Errorf("second step page after a wrong code does not count it:\n%s", r.body)
	}
	r = e.post(b, "/login/totp", url.Values{"code": {code}, "next": {"/settings/security"}, "tried": {"1"}})
	if r.status != 303 || r.location != "/settings/security" {
		t.Fatalf("second step = %d %q, want 303", r.status, r.location)
	}
	if r := e.get(b, "/settings"); r.status != 200 {
		t.Errorf("GET /settings after two steps = %d, want 200", r.status)
	}

	// One form: the same code again is a replay.
	o := e.client()
	r = e.post(o, "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {code}})
	if r.status != 401 || !strings.Contains(r.body, "This code was just used") {
		t.Errorf("one-form login with a used code = %d, want 401", r.status)
	}
	e.nextStep()
	e.login(o, "bob", key.TOTP(e.clock.Now()), "/settings")

	// A recovery code replaces a TOTP code, once.
	e.nextStep()
	rc := strings.ToUpper(codes[0][1])
	p := e.client()
	e.login(p, "bob", "", "/login/totp")
	if r := e.post(p, "/login/totp", url.Values{"code": {rc}}); r.status != 200 || !strings.Contains(r.body, "9 recovery codes are left") {
		t.Errorf("second step with a recovery code = %d, want 200 and how many are left", r.status)
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {codes[0][1]}}); r.status != 401 {
		t.Errorf("recovery code used twice = %d, want 401", r.status)
	}
	if r := e.get(p, "/settings/security"); !strings.Contains(r.body, "You have 9 unused recovery codes left.") {
		t.Errorf("recovery count after use: %s", r.body)
	}

	// New recovery codes replace the old ones.
	r = e.post(p, "/settings/security/recovery", nil)
	if n := len(recoveryRe.FindAllStringSubmatch(r.body, -1)); r.status != 200 || n != 10 {
		t.Errorf("regenerate = %d with %d codes, want 10", r.status, n)
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {codes[1][1]}}); r.status != 401 {
		t.Errorf("old recovery code after regenerate = %d, want 401", r.status)
	}

	// Disable TOTP, minutes after the sign-in: neither field, a wrong
	// password, the password without a code, then the password and a
	// current code.
	e.clock.Add(6 * time.Minute)
	if r := e.get(p, "/settings/security"); !strings.Contains(r.body, "confirm that it is you") {
		t.Errorf("security page minutes after sign-in asks for nothing:\n%s", r.body)
	}
	if r := e.post(p, "/settings/security/totp/disable", url.Values{}); r.status != 401 {
		t.Errorf("disable with nothing = %d, want 401", r.status)
	}
	if r := e.post(p, "/settings/security/totp/disable", url.Values{"password": {"wrong password"}}); r.status != 401 {
		t.Errorf("disable with a wrong password = %d, want 401", r.status)
	}
	if r := e.post(p, "/settings/security/totp/disable", url.Values{"password": {testPassword}}); r.status != 401 {
		t.Errorf("disable with the password alone = %d, want 401", r.status)
	}
	e.nextStep()
	r = e.post(p, "/settings/security/totp/disable", url.Values{"password": {testPassword}, "code": {key.TOTP(e.clock.Now())}})
	if r.status != 303 || r.location != "/settings/security?done=disabled" {
		t.Fatalf("disable with password and code = %d %q", r.status, r.location)
	}
	if r := e.get(p, r.location); !strings.Contains(r.body, "TOTP is disabled") || !strings.Contains(r.body, "Set up TOTP") {
		t.Errorf("security page after disable:\n%s", r.body)
	}
	e.login(e.client(), "bob", "", "/settings")
	if r := e.post(p, "/settings/security/recovery", nil); r.status != 400 {
		t.Errorf("regenerate without TOTP = %d, want 400", r.status)
	}
}

func TestPasswordChangeAndSessions(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{SessionIdle: time.Hour, SessionMax: 3 * time.Hour}})
	e.addUser("bob")
	a, b := e.client(), e.client()
	e.login(a, "bob", "", "/settings")
	e.login(b, "bob", "", "/settings")
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"differ", url.Values{"current": {testPassword}, "new": {"new password 1"}, "confirm": {"new password 2"}}, 400, "The two new passwords differ."},
		{"short", url.Values{"current": {testPassword}, "new": {"short"}, "confirm": {"short"}}, 400, "Password shorter than 8 characters."},
		{"wrong current", url.Values{"current": {"wrong password"}, "new": {"new password 1"}, "confirm": {"new password 1"}}, 401, "Your current password is wrong."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(a, "/settings/security/password", tc.form)
			if r.status != tc.wantStatus || !strings.Contains(r.body, tc.wantText) {
				t.Errorf("change password = %d, want %d with %q", r.status, tc.wantStatus, tc.wantText)
			}
		})
	}
	r := e.post(a, "/settings/security/password", url.Values{"current": {testPassword}, "new": {"new password 1"}, "confirm": {"new password 1"}})
	if r.status != 303 {
		t.Fatalf("change password = %d", r.status)
	}
	if r := e.get(a, "/settings"); r.status != 200 {
		t.Errorf("own session after password change = %d, want 200 (rotated, kept)", r.status)
	}
	if r := e.get(b, "/settings"); r.status != 303 {
		t.Errorf("other session after password change = %d, want 303 (ended)", r.status)
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}}); r.status != 401 {
		t.Errorf("old password = %d, want 401", r.status)
	}
	// Sign out everywhere.
	b = e.client()
	r = e.post(b, "/login", url.Values{"username": {"bob"}, "password": {"new password 1"}})
	if r.status != 303 {
		t.Fatalf("login with new password = %d", r.status)
	}
	if r := e.post(a, "/logout/all", nil); r.status != 200 || !strings.Contains(r.body, "Signed out everywhere") {
		t.Errorf("POST /logout/all = %d", r.status)
	}
	for name, c := range map[string]*http.Client{"a": a, "b": b} {
		if r := e.get(c, "/settings"); r.status != 303 {
			t.Errorf("session %s after sign out everywhere = %d, want 303", name, r.status)
		}
	}
	// Idle and absolute expiry.
	r = e.post(a, "/login", url.Values{"username": {"bob"}, "password": {"new password 1"}})
	e.clock.Add(59 * time.Minute)
	if r := e.get(a, "/settings"); r.status != 200 {
		t.Errorf("after 59 idle minutes = %d, want 200", r.status)
	}
	e.clock.Add(59 * time.Minute)
	if r := e.get(a, "/settings"); r.status != 200 {
		t.Errorf("after 59 more minutes with a request between = %d, want 200", r.status)
	}
	e.clock.Add(61 * time.Minute)
	if r := e.get(a, "/settings"); r.status != 303 {
		t.Errorf("after 61 idle minutes = %d, want 303", r.status)
	}
	e.post(a, "/login", url.Values{"username": {"bob"}, "password": {"new password 1"}})
	for range 6 {
		e.clock.Add(30 * time.Minute)
		e.get(a, "/settings")
	}
	if r := e.get(a, "/settings"); r.status != 303 {
		t.Errorf("after 3 hours of activity = %d, want 303 (absolute expiry)", r.status)
	}
	// A disabled user's session ends.
	e.post(a, "/login", url.Values{"username": {"bob"}, "password": {"new password 1"}})
	u, _ := e.store.UserByName(context.Background(), "bob")
	if err := e.svc.SetDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := e.get(a, "/settings"); r.status != 303 {
		t.Errorf("disabled user's session = %d, want 303", r.status)
	}
}

func TestSessionRotation(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.get(c, "/login")
	first := e.login(c, "bob", "", "/settings")
	tok1 := cookieOf(first)
	_, _ = e.enroll(c)
	u, _ := url.Parse(e.srv.URL)
	var tok2 string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "otpgate_session" {
			tok2 = ck.Value
		}
	}
	if tok1 == "" || tok2 == "" || tok1 == tok2 {
		t.Errorf("session token after TOTP setup unchanged or missing (%d, %d bytes)", len(tok1), len(tok2))
	}
	// The old token no longer works.
	old := e.client()
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "otpgate_session", Value: tok1}})
	if r := e.get(old, "/settings"); r.status != 303 {
		t.Errorf("old token after rotation = %d, want 303", r.status)
	}
	if !strings.Contains(first.header.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(first.header.Get("Set-Cookie"), "SameSite=Lax") {
		t.Errorf("cookie = %q, want HttpOnly and SameSite", first.header.Get("Set-Cookie"))
	}
}

func cookieOf(r resp) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "otpgate_session" {
			return c.Value
		}
	}
	return ""
}

func TestSecureCookie(t *testing.T) {
	e := newEnv(t, setup{opts: web.Options{BaseURL: "https://mfa.example.org"}})
	e.addUser("bob")
	r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}})
	if !strings.Contains(r.header.Get("Set-Cookie"), "; Secure") {
		t.Errorf("cookie over https = %q, want Secure", r.header.Get("Set-Cookie"))
	}
}

func TestRequireTOTP(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{RequireSecondFactor: true}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings/security")
	if r := e.get(c, "/settings"); r.status != 303 {
		t.Errorf("GET /settings before forced setup = %d, want 303", r.status)
	}
	r := e.get(c, "/settings/security")
	if r.status != 200 || !strings.Contains(r.body, "Your organisation requires it") || strings.Contains(r.body, "Change password") {
		t.Errorf("forced setup page = %d\n%s", r.status, r.body)
	}
	if r := e.postJSON(e.client(), "/api/v1/verify", `{"username":"bob","password":"`+testPassword+`"}`); r.status != 401 || !strings.Contains(r.body, "setup_required") {
		t.Errorf("API for a user without required TOTP = %d %s", r.status, r.body)
	}
	e.enroll(c)
	if r := e.get(c, "/settings"); r.status != 200 {
		t.Errorf("GET /settings after forced setup = %d, want 200", r.status)
	}
	// Once TOTP exists, a password-only session cannot add another.
	d := e.client()
	e.login(d, "bob", "", "/login/totp")
	if r := e.post(d, "/settings/security/totp", nil); r.status != 303 {
		t.Errorf("setup from a half-signed-in session with TOTP = %d, want 303", r.status)
	}
}

func TestNoUserEnumeration(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	disabled := e.addUser("carol")
	e.svc.SetDisabled(context.Background(), disabled.ID, true)
	page := func(name, password string) resp {
		return e.post(e.client(), "/login", url.Values{"username": {name}, "password": {password}})
	}
	ref := page("bob", "wrong password")
	for _, tc := range []struct{ name, user, password string }{
		{"unknown user", "nobody", "wrong password"},
		{"disabled user, right password", "carol", testPassword},
	} {
		r := page(tc.user, tc.password)
		if r.status != ref.status || strings.ReplaceAll(r.body, tc.user, "bob") != ref.body {
			t.Errorf("%s: page differs from a wrong password's: %d vs %d", tc.name, r.status, ref.status)
		}
		api := e.postJSON(e.client(), "/api/v1/verify", fmt.Sprintf(`{"username":%q,"password":%q}`, tc.user, tc.password))
		apiRef := e.postJSON(e.client(), "/api/v1/verify", `{"username":"bob","password":"wrong password"}`)
		if api.status != apiRef.status || api.body != apiRef.body {
			t.Errorf("%s: API answer %d %s differs from %d %s", tc.name, api.status, api.body, apiRef.status, apiRef.body)
		}
	}
	if !strings.Contains(ref.body, "Wrong username or password.") {
		t.Errorf("wrong password page lacks the message")
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"other origin", map[string]string{"Origin": "http://evil.example"}, 403},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"username": {"bob"}, "password": {testPassword}}
			req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			r := e.do(e.client(), req)
			if r.status != tc.want {
				t.Errorf("POST /login with %v = %d, want %d", tc.header, r.status, tc.want)
			}
			if tc.want == 403 && cookieOf(r) != "" {
				t.Errorf("refused request set a session cookie")
			}
		})
	}
}

func TestRedirectTargets(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	tests := []struct{ next, want string }{
		{"/settings/security", "/settings/security"},
		{"/settings?x=1", "/settings?x=1"},
		{"", "/settings"},
		{"https://evil.example/", "/settings"},
		{"//evil.example/", "/settings"},
		{"/\\evil.example", "/settings"},
		{"\\\\evil.example", "/settings"},
		{"javascript:alert(1)", "/settings"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/\tevil", "/settings"},
		{"evil.example", "/settings"},
	}
	for _, tc := range tests {
		r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "next": {tc.next}})
		if r.location != tc.want {
			t.Errorf("login with next=%q redirects to %q, want %q", tc.next, r.location, tc.want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, setup{})
	r := e.get(e.client(), "/login")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r := e.get(e.client(), "/static/style.css"); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/style.css = %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := e.get(e.client(), "/no/such/page"); r.status != 404 {
		t.Errorf("GET unknown page = %d, want 404", r.status)
	}
	if r := e.get(e.client(), "/healthz"); r.status != 200 || !strings.Contains(r.body, `"ok"`) {
		t.Errorf("GET /healthz = %d %s", r.status, r.body)
	}
	if r := e.get(e.client(), "/"); r.status != 303 || r.location != "/login" {
		t.Errorf("GET / = %d %q", r.status, r.location)
	}
	if r := e.get(e.client(), "/login/totp"); r.status != 303 || r.location != "/login" {
		t.Errorf("GET /login/totp without a session = %d %q", r.status, r.location)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Account: mfa.ThrottlePolicy{Free: 2, Base: time.Hour, Max: time.Hour, Forget: time.Hour}}}})
	e.addUser("bob")
	long := strings.Repeat("a", 65)
	tests := []struct {
		name, path, ctype, body string
		want                    int
	}{
		{"form wrong type", "/login", "text/plain", "username=bob&password=x", 415},
		{"form multipart", "/login", "multipart/form-data; boundary=x", "--x--", 415},
		{"form too large", "/login", "application/x-www-form-urlencoded", "username=bob&password=" + strings.Repeat("x", 20000), 413},
		{"form malformed", "/login", "application/x-www-form-urlencoded", "username=%zz&password=x", 400},
		{"form invalid utf-8", "/login", "application/x-www-form-urlencoded", "username=bob&password=%ff%fe", 400},
		{"form overlong username", "/login", "application/x-www-form-urlencoded", "username=" + long + "&password=x", 400},
		{"form field twice", "/login", "application/x-www-form-urlencoded", "username=bob&username=eve&password=x", 400},
		{"form second step", "/login/totp", "text/plain", "code=1", 415},
		{"json wrong type", "/api/v1/verify", "text/plain", `{"username":"bob","password":"x"}`, 415},
		{"json malformed", "/api/v1/verify", "application/json", `{"username":"bob",`, 400},
		{"json unknown field", "/api/v1/verify", "application/json", `{"username":"bob","password":"x","admin":true}`, 400},
		{"json trailing data", "/api/v1/verify", "application/json", `{"username":"bob","password":"x"} {}`, 400},
		{"json wrong type of field", "/api/v1/verify", "application/json", `{"username":1,"password":"x"}`, 400},
		{"json too large", "/api/v1/verify", "application/json", `{"username":"bob","password":"` + strings.Repeat("x", 5000) + `"}`, 413},
		{"json invalid utf-8", "/api/v1/verify", "application/json", "{\"username\":\"bob\",\"password\":\"\xff\"}", 400},
		{"json overlong username", "/api/v1/verify", "application/json", `{"username":"` + long + `","password":"x"}`, 400},
		{"json missing password", "/api/v1/verify", "application/json", `{"username":"bob"}`, 400},
		{"json array", "/api/v1/verify", "application/json", `[]`, 400},
		{"api GET", "/api/v1/verify", "", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.ctype == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			r := e.do(e.client(), req)
			if r.status != tc.want {
				t.Errorf("%s %s = %d, want %d\n%s", method, tc.path, r.status, tc.want, r.body)
			}
			if strings.Contains(r.body, strings.Repeat("x", 100)) || strings.Contains(r.body, "\xff") {
				t.Errorf("answer echoes the input")
			}
		})
	}
	// Nothing was counted: the throttle (2 free failures, then an hour)
	// still lets bob in, and no session was stored.
	e.login(e.client(), "bob", "", "/settings")
	if strings.Contains(e.logs.String(), "%ff") || strings.Contains(e.logs.String(), "xxxxxxxx") {
		t.Errorf("the log holds what was typed")
	}
}

// apiVerify is the decoded answer of the JSON API.
// apiVerify is the answer of /api/v1/verify.
type apiVerify = api.VerifyResponse

func (e *env) verify(username, password, code string) (int, apiVerify) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": username, "password": password, "otp": code})
	r := e.postJSON(e.client(), "/api/v1/verify", string(b))
	var v apiVerify
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		e.t.Fatalf("API answer %q: %v", r.body, err)
	}
	return r.status, v
}

func TestAPIVerify(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	e.addUser("carol")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key, codes := e.enroll(c)
	e.nextStep()
	now := e.clock.Now()
	tests := []struct {
		name, user, password, code string
		wantStatus                 int
		wantOutcome                string
	}{
		{"no totp, password", "carol", testPassword, "", 200, "ok"},
		{"no totp, code ignored", "carol", testPassword, "123456", 200, "ok"},
		{"wrong password", "bob", "wrong password", key.TOTP(now), 401, "credentials_wrong"},
		{"unknown user", "nobody", testPassword, "", 401, "credentials_wrong"},
		{"code required", "bob", testPassword, "", 401, "code_required"},
		{"wrong code", "bob", testPassword, "000000", 401, "code_wrong"},
		{"malformed code", "bob", testPassword, "12ab", 401, "code_wrong"},
		{"code", "bob", testPassword, key.TOTP(now), 200, "ok"},
		{"replay", "bob", testPassword, key.TOTP(now), 401, "code_wrong"},
		{"older step after newer", "bob", testPassword, key.TOTP(now.Add(-30 * time.Second)), 401, "code_wrong"},
		{"recovery code", "bob", testPassword, codes[3], 200, "ok"},
		{"recovery code reused", "bob", testPassword, codes[3], 401, "code_wrong"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, v := e.verify(tc.user, tc.password, tc.code)
			if status != tc.wantStatus || v.Outcome != tc.wantOutcome || v.Message == "" {
				t.Errorf("verify(%s) = %d %+v, want %d %s", tc.name, status, v, tc.wantStatus, tc.wantOutcome)
			}
		})
	}
}

// TestThrottling runs the code budget: wrong codes after the right
// password wait, doubling, and the owner's success takes back only its own
// attempt: the budget is not wiped, and the owner is told how many wrong
// codes came before.
func TestThrottling(t *testing.T) {
	policy := mfa.ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Minute, Forget: time.Hour}
	free := mfa.ThrottlePolicy{Free: 1000, Base: time.Second, Max: time.Minute, Forget: time.Hour}
	e := newEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Code: policy, Address: free}}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key, _ := e.enroll(c)
	e.nextStep()
	// Wrong codes count, with the right password.
	for i := range 5 {
		if status, v := e.verify("bob", testPassword, "000000"); status != 401 || v.Outcome != "code_wrong" {
			t.Fatalf("wrong code %d = %d %s, want code_wrong", i+1, status, v.Outcome)
		}
	}
	// The right code is refused now: 1s to wait.
	status, v := e.verify("bob", testPassword, key.TOTP(e.clock.Now()))
	if status != 429 || v.Outcome != "throttled" || v.RetryAfter != 1 {
		t.Fatalf("6th attempt = %d %+v, want 429 throttled retry_after 1", status, v)
	}
	// Delays double: 1s, 2s, 4s ... up to the maximum.
	wantDelays := []int{1, 2, 4, 8, 16, 32, 60, 60}
	for i, want := range wantDelays {
		e.clock.Add(time.Duration(want) * time.Second)
		if status, v := e.verify("bob", testPassword, "000000"); status != 401 {
			t.Fatalf("after waiting %ds: %d %+v, want 401", want, status, v)
		}
		_, v := e.verify("bob", testPassword, "000000")
		next := wantDelays[min(i+1, len(wantDelays)-1)]
		if v.Outcome != "throttled" || v.RetryAfter != next {
			t.Fatalf("after failure %d: %+v, want throttled for %ds", 6+i, v, next)
		}
	}
	// The page says the same, with Retry-After.
	r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {"000000"}})
	if r.status != 429 || r.header.Get("Retry-After") != "60" || !strings.Contains(r.body, "Try again in 60 seconds") {
		t.Errorf("login page when throttled = %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// Another user is not affected.
	e.addUser("carol")
	if status, _ := e.verify("carol", testPassword, ""); status != 200 {
		t.Errorf("other user while bob is throttled = %d, want 200", status)
	}
	// Bob gets in after the delay and is told of the 13 wrong codes.
	e.clock.Add(time.Minute)
	e.nextStep()
	if status, v := e.verify("bob", testPassword, key.TOTP(e.clock.Now())); status != 200 || v.CodeFailures != 13 {
		t.Fatalf("right code after the delay = %d %+v, want 200 with code_failures 13", status, v)
	}
	// His success did not wipe the budget: the next wrong code waits.
	if status, v := e.verify("bob", testPassword, "000000"); status != 429 {
		t.Errorf("wrong code right after the owner's success = %d %+v, want 429 (budget not reset)", status, v)
	}
	// Told once: the next sign-in reports none.
	e.clock.Add(time.Minute)
	e.nextStep()
	if status, v := e.verify("bob", testPassword, key.TOTP(e.clock.Now())); status != 200 || v.CodeFailures != 0 {
		t.Errorf("the sign-in after = %d %+v, want 200 with code_failures 0", status, v)
	}
}

func TestThrottlingPerAddress(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Address: mfa.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}}}})
	e.addUser("bob")
	for _, name := range []string{"a1", "a2", "a3"} {
		if _, v := e.verify(name, "guess", ""); v.Outcome != "credentials_wrong" {
			t.Fatalf("guess on %s = %s", name, v.Outcome)
		}
	}
	// Guessing at different accounts from one address is throttled too.
	if status, v := e.verify("a4", "guess", ""); status != 429 || v.RetryAfter != 60 {
		t.Errorf("4th account from one address = %d %+v, want 429 for 60s", status, v)
	}
}

func TestReplayConcurrent(t *testing.T) {
	free := mfa.ThrottlePolicy{Free: 1000, Base: time.Second, Max: time.Second, Forget: time.Hour}
	e := newEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Account: free, Address: free, Code: free}}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key, _ := e.enroll(c)
	for _, via := range []string{"api", "second step"} {
		t.Run(via, func(t *testing.T) {
			e.nextStep()
			code := key.TOTP(e.clock.Now())
			const n = 100
			clients := make([]*http.Client, n)
			for i := range clients {
				clients[i] = e.client()
				if via == "second step" {
					e.login(clients[i], "bob", "", "/login/totp")
				}
			}
			var ok, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					var status int
					if via == "api" {
						status, _ = e.verify("bob", testPassword, code)
					} else {
						status = e.post(clients[i], "/login/totp", url.Values{"code": {code}}).status
						if status == 303 {
							status = 200
						}
					}
					switch status {
					case 200:
						ok.Add(1)
					case 401:
						refused.Add(1)
					default:
						t.Errorf("status %d", status)
					}
				})
			}
			close(start)
			wg.Wait()
			if ok.Load() != 1 || refused.Load() != n-1 {
				t.Errorf("%d concurrent submissions of one code: %d accepted, %d refused, want 1 and %d", n, ok.Load(), refused.Load(), n-1)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {"secret-typed-password"}, "otp": {"987654"}})
	// A password typed into the name field is an unknown user.
	e.post(e.client(), "/login", url.Values{"username": {"my-password-typed-here"}, "password": {"x"}})
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	var access []string
	for _, l := range lines {
		if strings.Contains(l, "path=/login") {
			access = append(access, l)
		}
	}
	if len(access) != 2 {
		t.Fatalf("log has %d lines for POST /login, want 2:\n%s", len(access), e.logs.String())
	}
	for _, want := range []string{"path=/login", "status=401", "user=bob", `reason="wrong password"`} {
		if !strings.Contains(access[0], want) {
			t.Errorf("first sign-in's log line lacks %q:\n%s", want, access[0])
		}
	}
	if !strings.Contains(access[1], "status=401") {
		t.Errorf("second sign-in's log line lacks status=401:\n%s", access[1])
	}
	for _, secret := range []string{"secret-typed-password", "987654", testPassword, "my-password-typed-here"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("log holds a secret %q:\n%s", secret, e.logs.String())
		}
	}
}

// TestPendingSetupsBounded: starting a setup again shows the one in
// progress (TestPendingSetupKept), so clicks cannot fill the store; an
// abandoned one expires after -enrolment-ttl and the clean-up removes it.
func TestPendingSetupsBounded(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{EnrolmentTTL: 15 * time.Minute}})
	u := e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	var ids []string
	for range 5 {
		_, id := e.keyOf(e.post(c, "/settings/security/totp", nil).body)
		ids = append(ids, id)
		e.clock.Add(time.Second)
	}
	auths, err := e.store.Authenticators(context.Background(), u.ID)
	if err != nil || len(auths) != 1 || auths[0].ID != ids[0] || ids[4] != ids[0] {
		t.Errorf("after 5 setups started, pending = %v, want one, the first %v", auths, ids)
	}
	e.clock.Add(e.svc.Options().EnrolmentTTL + time.Minute)
	r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {ids[4]}, "code": {"123456"}})
	if r.status != 400 || !strings.Contains(r.body, "Setup expired") {
		t.Errorf("confirm after the enrolment TTL = %d, want 400 Setup expired", r.status)
	}
	if err := e.svc.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if auths, _ := e.store.Authenticators(context.Background(), u.ID); len(auths) != 0 {
		t.Errorf("after Cleanup: %d pending, want 0", len(auths))
	}
}

// TestTwoSetupPages: two tabs show the same setup; the first confirmation
// brings the recovery codes, the second finds it confirmed already.
func TestTwoSetupPages(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key1, id1 := e.keyOf(e.post(c, "/settings/security/totp", nil).body)
	key2, id2 := e.keyOf(e.post(c, "/settings/security/totp", nil).body)
	if id1 != id2 || !bytes.Equal(key1.Secret, key2.Secret) {
		t.Fatalf("two tabs show two setups")
	}
	r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id2}, "code": {key2.TOTP(e.clock.Now())}})
	codes := recoveryRe.FindAllStringSubmatch(r.body, -1)
	if r.status != 200 || len(codes) != 10 {
		t.Fatalf("first confirmation = %d with %d recovery codes, want 200 and 10", r.status, len(codes))
	}
	r = e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id1}, "code": {key1.TOTP(e.clock.Now())}})
	if r.status != 400 || !strings.Contains(r.body, "already confirmed") {
		t.Fatalf("second confirmation = %d, want 400 already confirmed\n%s", r.status, r.body)
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {codes[0][1]}}); r.status != 200 || !strings.Contains(r.body, "recovery codes are left") {
		t.Errorf("sign-in with a code of the first confirmation = %d, want 200 and how many are left", r.status)
	}
}
