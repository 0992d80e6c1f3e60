package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
	"github.com/otpgate/otpgate/otp"
)

// ldapServe starts `otpgate serve` with examples/otpgate/ldap.conf against
// srv: the flags replace only the server's URL, the CA file, the bind
// password file and the timeouts (2s), and add forward-auth settings with
// a rule on the posixGroup hpc.
func ldapServe(t testing.TB, srv *ldaptest.Server, dir string, extra ...string) *server {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules")
	os.WriteFile(rules, []byte("host app.example.org path /hpc groups hpc\nhost app.example.org deny\n"), 0o600)
	pw := filepath.Join(t.TempDir(), "ldap-bind.password")
	if err := os.WriteFile(pw, []byte(ldaptest.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-config", "../../examples/otpgate/ldap.conf",
		"-ldap-url", srv.URL, "-ldap-ca-file", srv.CAFile, "-ldap-bind-password-file", pw,
		"-ldap-connect-timeout", "2s", "-ldap-bind-timeout", "2s", "-ldap-search-timeout", "2s",
		"-trusted-proxies", "127.0.0.1/32", "-access-rules", rules, "-session-cache-ttl", "0",
		"-totp-skew", "3", "-throttle-address-free", "1000"}
	return startServer(t, dir, append(args, extra...)...)
}

// verifyAPI posts to /api/v1/verify and returns the status and the body.
func verifyAPI(t testing.TB, base, user, password, code string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password, "otp": code})
	req, _ := http.NewRequest("POST", base+"/api/v1/verify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// enrolTOTP sets up TOTP for the signed-in browser b and returns the key;
// the confirmation uses the code of step.
func enrolTOTP(t *testing.T, b *browser, step time.Time) otp.Key {
	t.Helper()
	_, body := b.post("/settings/security/totp", nil)
	km, im := keyRe.FindStringSubmatch(body), idRe.FindStringSubmatch(body)
	if km == nil || im == nil {
		t.Fatalf("no key on the setup page:\n%s", body)
	}
	secret, err := otp.DecodeSecret(km[1])
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	if code, body := b.post("/settings/security/totp/confirm", url.Values{"id": {im[1]}, "code": {key.TOTP(step)}}); code != 200 || !strings.Contains(body, "TOTP is enabled") {
		t.Fatalf("confirm = %d\n%s", code, body)
	}
	return key
}

// forwardAuth asks /auth/nginx about original with b's session.
func forwardAuth(t *testing.T, b *browser, original string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", b.base+"/auth/nginx", nil)
	req.Header.Set("X-Original-URL", original)
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode, r.Header
}

// TestServeLDAP runs `otpgate serve` with the LDAP first factor against a
// real slapd: a directory user's first sign-in makes their record, they
// set up TOTP and sign in through the pages (two steps), the one-form
// login and the JSON API; groups from the directory reach forward-auth's
// rules; a renamed account keeps its authenticator; a local
// administrator signs in too (ldap,local).
func TestServeLDAP(t *testing.T) {
	srv := ldaptest.Start(t, directoryLDIF())
	dir := filepath.Join(t.TempDir(), "data")
	s := ldapServe(t, srv, dir)
	defer s.stop()
	// Steps around now, each used once (replay), all within -totp-skew 3
	// even if the step changes during the test.
	now := time.Now()
	step := func(n int) time.Time { return now.Add(time.Duration(n) * 30 * time.Second) }

	// First sign-in: the directory's password makes the record.
	alice := newBrowser(t, s.url)
	if code, body := alice.post("/login", url.Values{"username": {"alice"}, "password": {"alice-dir-pw"}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("alice's first sign-in = %d\n%s", code, body)
	}
	key := enrolTOTP(t, alice, step(-2))
	alice.post("/logout", nil)

	// Pages, two steps.
	alice = newBrowser(t, s.url)
	if _, body := alice.post("/login", url.Values{"username": {"alice"}, "password": {"alice-dir-pw"}}); !strings.Contains(body, "Verification code") {
		t.Fatalf("login with TOTP did not ask for the code:\n%s", body)
	}
	if code, body := alice.post("/login/totp", url.Values{"code": {key.TOTP(step(-1))}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("second step = %d\n%s", code, body)
	}
	// One form.
	one := newBrowser(t, s.url)
	if _, body := one.post("/login", url.Values{"username": {"alice"}, "password": {"alice-dir-pw"}, "otp": {key.TOTP(step(0))}}); !strings.Contains(body, "Signed in as") {
		t.Errorf("one-form login failed:\n%s", body)
	}
	// JSON API.
	if code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", key.TOTP(step(1))); code != 200 || !strings.Contains(body, `"user":"alice"`) {
		t.Errorf("API verify = %d %s, want 200 for alice", code, body)
	}
	if code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", ""); code != 401 || !strings.Contains(body, `"code_required"`) {
		t.Errorf("API verify without a code = %d %s, want 401 code_required", code, body)
	}

	// Groups from the directory (posixGroup memberUid) reach the rules.
	if code, h := forwardAuth(t, alice, "https://app.example.org/hpc/job"); code != 200 || h.Get("Remote-User") != "alice" ||
		h.Get("Remote-Groups") != "hpc,staff" || h.Get("Remote-Name") != "Alice Example" {
		t.Errorf("forward-auth for alice on /hpc = %d %q, want 200 with groups hpc,staff", code, h)
	}
	bob := newBrowser(t, s.url)
	if code, body := bob.post("/login", url.Values{"username": {"bob"}, "password": {"bob-dir-pw"}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("bob's first sign-in = %d\n%s", code, body)
	}
	bobKey := enrolTOTP(t, bob, step(-2))
	if code, _ := forwardAuth(t, bob, "https://app.example.org/hpc/job"); code != 403 {
		t.Errorf("forward-auth for bob (not in hpc) on /hpc = %d, want 403", code)
	}

	// A local administrator, whom the directory does not know.
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "root"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("root local password\n"), &out, &errb); err != nil {
		t.Fatalf("user add root = %v\n%s", err, errb.String())
	}
	if code, body := verifyAPI(t, s.url, "root", "root local password", ""); code != 200 {
		t.Errorf("API verify for the local root = %d %s, want 200", code, body)
	}

	// The directory renames bob to robert (modrdn): robert signs in with
	// bob's authenticator, and bob's session ends.
	req := goldap.NewModifyDNRequest("uid=bob,ou=people,"+ldaptest.BaseDN, "uid=robert", true, "")
	if err := srv.Admin().ModifyDN(req); err != nil {
		t.Fatal(err)
	}
	if code, _ := forwardAuth(t, bob, "https://app.example.org/other"); code != 401 {
		t.Errorf("forward-auth with bob's session after the rename = %d, want 401 (the directory has no bob)", code)
	}
	if code, body := verifyAPI(t, s.url, "robert", "bob-dir-pw", ""); code != 401 || !strings.Contains(body, `"code_required"`) {
		t.Errorf("API verify for robert without a code = %d %s, want 401 code_required (bob's TOTP)", code, body)
	}
	if code, body := verifyAPI(t, s.url, "robert", "bob-dir-pw", bobKey.TOTP(step(-1))); code != 200 || !strings.Contains(body, `"user":"robert"`) {
		t.Errorf("API verify for robert with bob's code = %d %s, want 200", code, body)
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "list", "-data-dir", dir}, func(string) string { return "" }, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`alice\s+ldap\s+no\s+no\s+yes`, `robert\s+ldap\s+no\s+no\s+yes`, `root\s+local\s+no\s+no\s+no`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("user list lacks %s:\n%s", re, out.String())
		}
	}
	if regexp.MustCompile(`(?m)^bob\s`).MatchString(out.String()) {
		t.Errorf("user list still has bob after the rename:\n%s", out.String())
	}

	// The directory locks alice: her session ends at its next check.
	lock := goldap.NewModifyRequest("uid=alice,ou=people,"+ldaptest.BaseDN, nil)
	lock.Add("pwdAccountLockedTime", []string{"000001010000Z"})
	if err := srv.Admin().Modify(lock); err != nil {
		t.Fatal(err)
	}
	if code, _ := forwardAuth(t, alice, "https://app.example.org/hpc/job"); code != 401 {
		t.Errorf("forward-auth with alice's session after the directory locked her = %d, want 401", code)
	}

	logs := s.log()
	for _, secret := range []string{"alice-dir-pw", "bob-dir-pw", "root local password", ldaptest.ServicePassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the password %q", secret)
		}
	}
}

// TestServeLDAPRefusals: an unknown user, a wrong directory password, a
// locked and an expired account get the same answer; wrong directory
// passwords are throttled as local ones are.
func TestServeLDAPRefusals(t *testing.T) {
	srv := ldaptest.Start(t, directoryLDIF())
	dir := filepath.Join(t.TempDir(), "data")
	s := ldapServe(t, srv, dir, "-throttle-account-free", "2", "-throttle-account-base", "1m")
	defer s.stop()

	var first string
	for _, r := range []struct{ name, user, password string }{
		{"unknown user", "zoe", "zoe-dir-pw"},
		{"wrong password", "alice", "bob-dir-pw"},
		{"locked", "lena", "lena-dir-pw"},
		{"expired", "ed", "ed-dir-pw"},
		{"hostile name", "*)(uid=*", "alice-dir-pw"},
	} {
		code, body := verifyAPI(t, s.url, r.user, r.password, "")
		if code != 401 || !strings.Contains(body, `"credentials_wrong"`) {
			t.Errorf("%s: API verify = %d %s, want 401 credentials_wrong", r.name, code, body)
		}
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: API verify = %s, want the same answer as an unknown user: %s", r.name, body, first)
		}
		b := newBrowser(t, s.url)
		if code, page := b.post("/login", url.Values{"username": {r.user}, "password": {r.password}}); code != 401 || !strings.Contains(page, "Wrong username or password.") {
			t.Errorf("%s: login page = %d, want 401 with the one message\n%s", r.name, code, page)
		}
	}

	// The log says why, naming no DN; the password never reaches it.
	logs := s.log()
	for _, cause := range []string{`reason="unknown user"`, "Invalid Credentials", "account locked (pwdAccountLockedTime)", "account expired (shadowExpire)"} {
		if !strings.Contains(logs, cause) {
			t.Errorf("the log lacks the cause %q", cause)
		}
	}
	for _, leak := range []string{"ou=people", "alice-dir-pw", "bob-dir-pw", "lena-dir-pw", "ed-dir-pw"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log holds %q", leak)
		}
	}

	// Throttling: a directory account and a local one, the same counts.
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "root"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("root local password\n"), &out, &errb); err != nil {
		t.Fatalf("user add root = %v\n%s", err, errb.String())
	}
	for _, u := range []struct{ name, password string }{{"tom", "tom-dir-pw"}, {"root", "root local password"}} {
		var codes []int
		for range 4 {
			code, _ := verifyAPI(t, s.url, u.name, "wrong password", "")
			codes = append(codes, code)
		}
		code, body := verifyAPI(t, s.url, u.name, u.password, "")
		codes = append(codes, code)
		if want := []int{401, 401, 429, 429, 429}; !slices.Equal(codes, want) || !strings.Contains(body, `"throttled"`) {
			t.Errorf("%s: 4 wrong passwords then the right one = %v (%s), want %v: throttled after 2", u.name, codes, body, want)
		}
	}
}

// TestServeLDAPDown: a directory that stops answering (paused, then
// stopped) makes its users' sign-ins 503 with a clear message within the
// timeout, and /healthz names it; a local administrator still signs in;
// sign-ins work again when it is back, without a restart.
func TestServeLDAPDown(t *testing.T) {
	srv := ldaptest.Start(t, directoryLDIF())
	dir := filepath.Join(t.TempDir(), "data")
	s := ldapServe(t, srv, dir)
	defer s.stop()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "root"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("root local password\n"), &out, &errb); err != nil {
		t.Fatalf("user add root = %v\n%s", err, errb.String())
	}
	if code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", ""); code != 200 {
		t.Fatalf("API verify before the outage = %d %s", code, body)
	}
	health := func() (int, string) {
		r, err := http.Get(s.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	down := func(what string, limit time.Duration) {
		t.Helper()
		start := time.Now()
		code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", "")
		if took := time.Since(start); code != 503 || !strings.Contains(body, "Login service unavailable") || took > limit {
			t.Errorf("%s: API verify = %d %s after %v, want 503 saying the login service is unavailable within %v", what, code, body, took, limit)
		}
		b := newBrowser(t, s.url)
		start = time.Now()
		code, page := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-dir-pw"}})
		if took := time.Since(start); code != 503 || !strings.Contains(page, "Login service unavailable") || took > limit {
			t.Errorf("%s: login page = %d after %v, want 503 saying the login service is unavailable within %v", what, code, took, limit)
		}
		if code, body := verifyAPI(t, s.url, "root", "root local password", ""); code != 200 {
			t.Errorf("%s: the local root = %d %s, want 200 (the local passwords need no directory)", what, code, body)
		}
	}

	// Hung: the 2s search timeout bounds the wait (a connect and a search
	// at most).
	srv.Pause()
	down("paused", 2*2*time.Second+time.Second)
	srv.Resume()
	if code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", ""); code != 200 {
		t.Errorf("API verify after the directory resumed = %d %s, want 200", code, body)
	}

	// Stopped: refused at once.
	srv.Stop()
	down("stopped", 2*time.Second)
	if code, body := health(); code != 503 || !strings.Contains(body, `"reason":"ldap unavailable"`) {
		t.Errorf("/healthz with the directory stopped = %d %s, want 503 naming ldap", code, body)
	}
	srv.Restart()
	if code, body := verifyAPI(t, s.url, "alice", "alice-dir-pw", ""); code != 200 {
		t.Errorf("API verify after the directory restarted = %d %s, want 200", code, body)
	}
	if code, body := health(); code != 200 {
		t.Errorf("/healthz after the directory restarted = %d %s, want 200", code, body)
	}
}
