package web_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/userfile"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// fileSecret is the secret of the state files these tests write.
const fileSecret = "2SH3V3GDW7ZNMGYE"

var fileKey = func() otp.Key {
	s, _ := otp.DecodeSecret(fileSecret)
	return otp.Key{Secret: s}
}()

// fileEnv is a server whose users may have a state file in dir (owner
// check off, so that it runs as any account), and the source's log.
func fileEnv(t *testing.T, st setup) (*env, string, *strings.Builder) {
	t.Helper()
	dir := t.TempDir()
	logs := &strings.Builder{}
	src, err := userfile.New(slog.New(slog.NewTextHandler(logs, nil)), userfile.Options{Template: dir + "/${USER}", NoStrictOwner: true})
	if err != nil {
		t.Fatal(err)
	}
	st.files = src
	return newEnv(t, st), dir, logs
}

// writeStateFile writes a user's state file with mode perm.
func writeStateFile(t testing.TB, dir, name, content string, perm os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.Remove(p)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

const stateFile = fileSecret + "\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n11111111\n22222222\n"

// TestUserFileLogins: a user with a file is asked for its code on every
// path (one form, second step, JSON API), with the file's reuse and
// scratch-code rules; a user without one passes with the password alone.
func TestUserFileLogins(t *testing.T) {
	e, dir, logs := fileEnv(t, setup{})
	e.addUser("filer")
	e.addUser("plain")
	writeStateFile(t, dir, "filer", stateFile, 0o600)

	e.login(e.client(), "plain", "", "/settings")
	c := e.client()
	e.login(c, "filer", "", "/login/totp")
	if r := e.post(c, "/login/totp", url.Values{"code": {"000000"}}); r.status != 401 {
		t.Errorf("second step, wrong code = %d, want 401", r.status)
	}
	now := e.clock.Now()
	if r := e.post(c, "/login/totp", url.Values{"code": {fileKey.TOTP(now)}, "tried": {"1"}}); r.status != 303 || r.location != "/settings" {
		t.Errorf("second step, file code = %d %q, want 303 /settings", r.status, r.location)
	}
	// The one form with "OTP (optional)": the same code is now reused.
	if r := e.post(e.client(), "/login", url.Values{"username": {"filer"}, "password": {testPassword}, "otp": {fileKey.TOTP(now)}}); r.status != 401 {
		t.Errorf("one form, reused code = %d, want 401", r.status)
	}
	e.nextStep()
	e.login(e.client(), "filer", fileKey.TOTP(e.clock.Now()), "/settings")
	tests := []struct {
		name, code, want string
	}{
		{"no code", "", "code_required"},
		{"reused", fileKey.TOTP(e.clock.Now()), "code_wrong"},
		{"scratch code", "11111111", "ok"},
		{"scratch code again", "11111111", "code_wrong"},
	}
	for _, tc := range tests {
		if _, v := e.verify("filer", testPassword, tc.code); v.Outcome != tc.want {
			t.Errorf("API %s = %s, want %s", tc.name, v.Outcome, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "filer")); strings.Contains(string(b), "11111111") || !strings.Contains(string(b), "22222222") {
		t.Errorf("the used scratch code is still in the file, or the other is gone:\n%s", b)
	}
	for _, want := range []string{"result=accepted", `result="code already used"`, `result="wrong code"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("file log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(e.logs.String()+logs.String(), fileKey.TOTP(now)) || strings.Contains(logs.String(), fileSecret) {
		t.Errorf("a code or the secret was logged")
	}
	if !strings.Contains(e.logs.String(), `reason="file: code already used"`) {
		t.Errorf("access log lacks the file reason:\n%s", e.logs)
	}
}

// TestUserFilePrecedence: a TOTP in the store wins over the file; the file
// wins over nothing; only a missing file means nothing.
func TestUserFilePrecedence(t *testing.T) {
	e, dir, logs := fileEnv(t, setup{})
	e.addUser("both")
	e.addUser("broken")
	writeStateFile(t, dir, "both", stateFile, 0o600)
	writeStateFile(t, dir, "broken", stateFile, 0o644)

	c := e.client()
	e.login(c, "both", fileKey.TOTP(e.clock.Now()), "/settings")
	key, _ := e.enroll(c)
	e.nextStep()
	now := e.clock.Now()
	if _, v := e.verify("both", testPassword, fileKey.TOTP(now)); v.Outcome != "code_wrong" {
		t.Errorf("file code of a user with store TOTP = %s, want code_wrong", v.Outcome)
	}
	if _, v := e.verify("both", testPassword, key.TOTP(now)); v.Outcome != "ok" {
		t.Errorf("store code = %s, want ok", v.Outcome)
	}
	// An unusable file fails closed: a code is asked for and refused.
	if _, v := e.verify("broken", testPassword, ""); v.Outcome != "code_required" {
		t.Errorf("unusable file, no code = %s, want code_required", v.Outcome)
	}
	if _, v := e.verify("broken", testPassword, fileKey.TOTP(now)); v.Outcome != "code_wrong" {
		t.Errorf("unusable file, right code = %s, want code_wrong", v.Outcome)
	}
	if !strings.Contains(logs.String(), "more permissive than 0600") || !strings.Contains(e.logs.String(), `reason="file: file unusable"`) {
		t.Errorf("no clear log line for the unusable file:\n%s\n%s", logs, e.logs)
	}
}

// TestUserFileRequired: with a second factor required, a user without a
// file is sent to set up TOTP, a user with one is asked for its code and
// cannot reach the setup page with the password alone.
func TestUserFileRequired(t *testing.T) {
	e, dir, _ := fileEnv(t, setup{mopts: mfa.Options{RequireSecondFactor: true}})
	e.addUser("filer")
	e.addUser("plain")
	writeStateFile(t, dir, "filer", stateFile, 0o600)
	e.login(e.client(), "plain", "", "/settings/security")
	if _, v := e.verify("plain", testPassword, ""); v.Outcome != "setup_required" {
		t.Errorf("API, required and no file = %s, want setup_required", v.Outcome)
	}
	c := e.client()
	e.login(c, "filer", "", "/login/totp")
	if r := e.post(c, "/settings/security/totp", nil); r.status != 303 {
		t.Errorf("setup with the password alone for a user with a file = %d, want 303", r.status)
	}
	if r := e.post(c, "/login/totp", url.Values{"code": {fileKey.TOTP(e.clock.Now())}}); r.status != 303 || r.location != "/settings" {
		t.Errorf("second step with the file code = %d %q, want 303 /settings", r.status, r.location)
	}
	if r := e.get(c, "/settings/security"); r.status != 200 || strings.Contains(r.body, "Your organisation requires it") {
		t.Errorf("security page of a user with a file = %d, says setup required", r.status)
	}
}

// enrolJSON posts to an enrol endpoint and decodes the answer.
func (e *env) enrolJSON(path string, body any) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	r := e.postJSON(e.client(), path, string(b))
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		e.t.Fatalf("%s: %d %q: %v", path, r.status, r.body, err)
	}
	return r.status, m
}

// enrolAPI sets up TOTP for name through the JSON endpoints, as otpgate
// enrol does, and returns the key.
func (e *env) enrolAPI(name string) otp.Key {
	e.t.Helper()
	st, m := e.enrolJSON("/api/v1/enrol", map[string]string{"username": name, "password": testPassword})
	if st != http.StatusOK {
		e.t.Fatalf("enrol = %d %v", st, m)
	}
	secret, err := otp.DecodeSecret(strings.ReplaceAll(m["key"].(string), " ", ""))
	if err != nil {
		e.t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	if st, m := e.enrolJSON("/api/v1/enrol/confirm", map[string]string{"username": name, "id": m["id"].(string), "code": key.TOTP(e.clock.Now())}); st != http.StatusOK {
		e.t.Fatalf("enrol confirm = %d %v", st, m)
	}
	return key
}

// TestAPIEnrol: a terminal's enrolment through the JSON endpoints.
func TestAPIEnrol(t *testing.T) {
	e, dir, _ := fileEnv(t, setup{})
	e.addUser("bob")
	e.addUser("filer")
	writeStateFile(t, dir, "filer", stateFile, 0o600)

	if st, m := e.enrolJSON("/api/v1/enrol", map[string]string{"username": "bob", "password": "wrong password"}); st != 401 || m["outcome"] != "credentials_wrong" {
		t.Errorf("wrong password = %d %v", st, m)
	}
	r := e.post(e.client(), "/api/v1/enrol", url.Values{"username": {"bob"}, "password": {testPassword}})
	if r.status != 415 {
		t.Errorf("form post = %d, want 415", r.status)
	}
	st, m := e.enrolJSON("/api/v1/enrol", map[string]string{"username": "bob", "password": testPassword})
	if st != 200 || m["id"] == nil || !strings.HasPrefix(m["uri"].(string), "otpauth://totp/") {
		t.Fatalf("start = %d %v", st, m)
	}
	secret, err := otp.DecodeSecret(strings.ReplaceAll(m["key"].(string), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	id := m["id"].(string)
	if st, m := e.enrolJSON("/api/v1/enrol/confirm", map[string]string{"username": "bob", "id": id, "code": "000000"}); st != 401 || m["outcome"] != "code_wrong" {
		t.Errorf("confirm, wrong code = %d %v", st, m)
	}
	// A code of the next step: confirmed, with the clock reported.
	st, m = e.enrolJSON("/api/v1/enrol/confirm", map[string]string{"username": "bob", "id": id, "code": key.TOTP(e.clock.Now().Add(30 * time.Second))})
	if st != 200 || m["drift_steps"] != 1.0 || m["clock"] == nil || len(m["recovery_codes"].([]any)) != mfa.RecoveryCodeCount {
		t.Errorf("confirm = %d %v", st, m)
	}
	if st, m := e.enrolJSON("/api/v1/enrol/confirm", map[string]string{"username": "bob", "id": id, "code": key.TOTP(e.clock.Now())}); st != 404 || m["outcome"] != "expired" {
		t.Errorf("confirm again = %d %v", st, m)
	}
	if st, m := e.enrolJSON("/api/v1/enrol", map[string]string{"username": "bob", "password": testPassword}); st != 409 || m["outcome"] != "conflict" {
		t.Errorf("start with TOTP set up = %d %v", st, m)
	}
	e.nextStep()
	e.nextStep()
	if _, v := e.verify("bob", testPassword, key.TOTP(e.clock.Now())); v.Outcome != "ok" {
		t.Errorf("sign-in with the enrolled key = %s", v.Outcome)
	}

	// A user whose second factor is a file must give a code from it.
	if st, m := e.enrolJSON("/api/v1/enrol", map[string]string{"username": "filer", "password": testPassword}); st != 401 || m["outcome"] != "code_required" {
		t.Errorf("file user without a code = %d %v", st, m)
	}
	st, m = e.enrolJSON("/api/v1/enrol", map[string]string{"username": "filer", "password": testPassword, "otp": fileKey.TOTP(e.clock.Now())})
	if st != 200 {
		t.Fatalf("file user with a code = %d %v", st, m)
	}
	secret, _ = otp.DecodeSecret(strings.ReplaceAll(m["key"].(string), " ", ""))
	key = otp.Key{Secret: secret}
	st, m = e.enrolJSON("/api/v1/enrol/confirm", map[string]string{"username": "filer", "id": m["id"].(string), "code": key.TOTP(e.clock.Now())})
	if st != 200 || m["had_file"] != true || m["drift_steps"] != nil {
		t.Errorf("file user confirm = %d %v", st, m)
	}
	e.nextStep()
	if _, v := e.verify("filer", testPassword, fileKey.TOTP(e.clock.Now())); v.Outcome != "code_wrong" {
		t.Errorf("file code after enrolment = %s, want code_wrong (the store wins)", v.Outcome)
	}
	if strings.Contains(e.logs.String(), fileSecret) || strings.Contains(e.logs.String(), secret.Base32()) {
		t.Errorf("a secret was logged")
	}
}

// TestUserFileConcurrentAndCounter: of concurrent sign-ins with one file
// code exactly one passes (the file is locked and rewritten per attempt),
// and a counter-based file advances as the stock module's does.
func TestUserFileConcurrentAndCounter(t *testing.T) {
	e, dir, _ := fileEnv(t, setup{})
	e.addUser("filer")
	e.addUser("counter")
	writeStateFile(t, dir, "filer", stateFile, 0o600)
	writeStateFile(t, dir, "counter", fileSecret+"\n\" HOTP_COUNTER 1\n", 0o600)
	code := fileKey.TOTP(e.clock.Now())
	results := make(chan string, 8)
	for range 8 {
		go func() {
			_, v := e.verify("filer", testPassword, code)
			results <- v.Outcome
		}()
	}
	ok := 0
	for range 8 {
		if <-results == "ok" {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of 8 concurrent sign-ins with one code passed, want 1", ok)
	}
	if _, v := e.verify("counter", testPassword, fileKey.HOTP(2)); v.Outcome != "ok" {
		t.Errorf("counter-based code 2 = %s, want ok", v.Outcome)
	}
	if _, v := e.verify("counter", testPassword, fileKey.HOTP(2)); v.Outcome != "code_wrong" {
		t.Errorf("counter-based code 2 again = %s, want code_wrong", v.Outcome)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "counter")); !strings.Contains(string(b), "HOTP_COUNTER 4") {
		t.Errorf("counter after code 2 (to 3) and a wrong attempt (to 4):\n%s", b)
	}
}

// TestFactorSetUpAfterSignIn: a session signed in with the password alone
// does not gain a second factor that its user sets up later outside the
// settings page (TOTP from a terminal, a google-authenticator file):
// forward-auth and the pages take it as waiting for the code, for optional
// rules too, and the code lets it through.
func TestFactorSetUpAfterSignIn(t *testing.T) {
	rules, err := access.Parse("rules.conf", strings.NewReader(testRules))
	if err != nil {
		t.Fatal(err)
	}
	proxies, _ := web.ParseTrustedProxies("127.0.0.1/32")
	e, dir, _ := fileEnv(t, setup{opts: web.Options{BaseURL: "http://mfa.example.org", CookieDomain: "example.org", TrustedProxies: proxies, Rules: rules}})
	e.addUser("bob")
	e.addUser("filer")
	const optional, required = "https://wiki.example.org/", "https://open.example.org/"
	tokens := map[string]string{"bob": e.session("bob", false, nil), "filer": e.session("filer", false, nil)}
	for name, token := range tokens {
		if r := e.auth("/auth/nginx", token, optional); r.status != http.StatusOK || r.header.Get("Remote-User") != name {
			t.Fatalf("%s without a second factor, optional rule = %d %q, want 200", name, r.status, r.header.Get("Remote-User"))
		}
		if r := e.auth("/auth/nginx", token, required); r.status != http.StatusForbidden {
			t.Fatalf("%s without a second factor, required rule = %d, want 403", name, r.status)
		}
	}

	// bob enrols from a terminal (otpgate enrol uses the JSON API); a
	// file appears for filer.
	bobKey := e.enrolAPI("bob")
	writeStateFile(t, dir, "filer", stateFile, 0o600)
	e.nextStep()
	codes := map[string]string{"bob": bobKey.TOTP(e.clock.Now()), "filer": fileKey.TOTP(e.clock.Now())}

	for name, token := range tokens {
		for _, original := range []string{optional, required} {
			if r := e.auth("/auth/nginx", token, original); r.status != http.StatusUnauthorized {
				t.Errorf("%s's password-only session after setting up a second factor, %s = %d, want 401", name, original, r.status)
			}
		}
		if r := e.auth("/auth/redirect", token, optional); r.status != http.StatusFound || !strings.HasPrefix(r.location, "http://mfa.example.org/login?rd=") {
			t.Errorf("%s: /auth/redirect = %d %q, want 302 to the login page", name, r.status, r.location)
		}
		if r := e.withCookie("GET", "/settings", token, nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Errorf("%s: /settings = %d %q, want a redirect to sign in", name, r.status, r.location)
		}
		// The second step takes the session's code and makes it full.
		r := e.withCookie("POST", "/login/totp", token, url.Values{"code": {codes[name]}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: second step = %d\n%s", name, r.status, r.body)
		}
		full := cookieValue(t, r.header)
		for _, original := range []string{optional, required} {
			if r := e.auth("/auth/nginx", full, original); r.status != http.StatusOK || r.header.Get("Remote-User") != name {
				t.Errorf("%s after the code, %s = %d %q, want 200", name, original, r.status, r.header.Get("Remote-User"))
			}
		}
	}
}

// withCookie makes a request with the session cookie token and, when form
// is set, that form as its body.
func (e *env) withCookie(method, path, token string, form url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Cookie", "otpgate_session="+token)
	return e.do(e.client(), req)
}
