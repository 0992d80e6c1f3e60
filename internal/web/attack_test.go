package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// attackEnv is a server behind a trusted proxy on loopback, so that each
// request can come from an address of its own (X-Forwarded-For), at the
// default throttles but for a roomy code budget.
func attackEnv(t *testing.T, mopts mfa.Options) *env {
	t.Helper()
	proxies, err := web.ParseTrustedProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, setup{opts: web.Options{TrustedProxies: proxies}, mopts: mopts})
}

// from is an address of the attack: 203.0.113.x, 198.51.100.x, 2001:db8::x.
func from(i int) string {
	switch i % 3 {
	case 0:
		return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String()
	case 1:
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
	}
	return fmt.Sprintf("2001:db8:%x::1", i)
}

// enrolledAlice is an attackEnv where alice, signed in on c, has set up
// TOTP with key and got her recovery codes.
func enrolledAlice(t *testing.T) (*env, *http.Client, otp.Key, []string) {
	t.Helper()
	e := attackEnv(t, mfa.Options{})
	e.addUser("alice")
	c := e.client()
	e.login(c, "alice", "", "/settings")
	key, codes := e.enroll(c)
	return e, c, key, codes
}

// verifyFrom calls /api/v1/verify as forwarded for addr.
func (e *env) verifyFrom(addr, username, password, code string) (int, apiVerify) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": username, "password": password, "otp": code})
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/verify", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	r := e.do(e.client(), req)
	var v apiVerify
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		e.t.Fatalf("API answer %d %q: %v", r.status, r.body, err)
	}
	return r.status, v
}

// loginFrom posts the one-form login as forwarded for addr.
func (e *env) loginFrom(c *http.Client, addr string, form url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", addr)
	return e.do(c, req)
}

// TestOutsiderCannotLockOut reproduces the attack run's lockout: wrong
// passwords for alice from one address, then from a hundred more, over
// hours, polling whenever told to wait. Alice, from two other addresses
// and from the attacker's own (a shared NAT), still signs in at once with
// her password and a current code, on the page and through the API, and
// with a recovery code; what the attacker learns while throttled is never
// more than "throttled", even when guessing her real password.
func TestOutsiderCannotLockOut(t *testing.T) {
	e, _, key, codes := enrolledAlice(t)
	for i := range 10 {
		e.verifyFrom(from(0), "alice", fmt.Sprintf("guess %d", i), "")
	}
	for round := range 30 {
		for i := range 100 {
			e.verifyFrom(from(i+1), "alice", fmt.Sprintf("guess %d.%d", round, i), "")
		}
		e.clock.Add(7 * time.Minute)
	}
	// Held: without a code the password alone is refused, right or not,
	// and a wrong password with a code gets the same answer as a right one.
	if status, v := e.verifyFrom(from(7), "alice", testPassword, ""); status != 429 || v.Outcome != "throttled" {
		t.Errorf("right password alone while throttled = %d %s, want 429 throttled", status, v.Outcome)
	}
	e.nextStep()
	if status, v := e.verifyFrom(from(7), "alice", "another guess", key.TOTP(e.clock.Now())); status != 429 || v.Outcome != "throttled" {
		t.Errorf("wrong password with a right code while throttled = %d %s, want 429 throttled", status, v.Outcome)
	}
	if status, v := e.verifyFrom(from(7), "alice", testPassword, "000000"); status != 429 || v.Outcome != "throttled" {
		t.Errorf("right password with a wrong code while throttled = %d %s, want 429 throttled (no oracle)", status, v.Outcome)
	}
	for i, addr := range []string{"192.0.2.10", "192.0.2.77", from(0)} {
		e.nextStep()
		if status, v := e.verifyFrom(addr, "alice", testPassword, key.TOTP(e.clock.Now())); status != 200 || v.Outcome != "ok" {
			t.Errorf("alice from %s with password and code = %d %+v, want 200 ok", addr, status, v)
		}
		e.nextStep()
		b := e.client()
		r := e.loginFrom(b, addr, url.Values{"username": {"alice"}, "password": {testPassword}, "otp": {key.TOTP(e.clock.Now())}})
		if r.status != 303 {
			t.Errorf("alice's one-form login from %s = %d, want 303\n%s", addr, r.status, r.body)
		}
		if r := e.get(b, "/settings"); r.status != 200 {
			t.Errorf("alice's session from %s = %d, want 200", addr, r.status)
		}
		if status, v := e.verifyFrom(addr, "alice", testPassword, codes[i]); status != 200 || v.Outcome != "ok" {
			t.Errorf("alice from %s with a recovery code = %d %+v, want 200 ok", addr, status, v)
		}
	}
	// The login page tells her what to do.
	r := e.loginFrom(e.client(), "192.0.2.10", url.Values{"username": {"alice"}, "password": {testPassword}})
	if r.status != 429 || !strings.Contains(r.body, "Enter your password and your verification code together") {
		t.Errorf("login page with the password alone while throttled = %d\n%s", r.status, r.body)
	}
}

// TestConcurrentRightSignIns: right sign-ins in flight never count as
// failures. 16 concurrent sign-ins of one user and 40 of 40 users, all from
// one address, at the default throttles, all succeed.
func TestConcurrentRightSignIns(t *testing.T) {
	e := attackEnv(t, mfa.Options{})
	for i := range 40 {
		e.addUser(fmt.Sprintf("user%d", i))
	}
	for _, tc := range []struct {
		name string
		user func(i int) string
		n    int
	}{
		{"one user", func(int) string { return "user0" }, 16},
		{"40 users", func(i int) string { return fmt.Sprintf("user%d", i) }, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			statuses := make([]int, tc.n)
			for i := range tc.n {
				wg.Go(func() { statuses[i], _ = e.verifyFrom("192.0.2.1", tc.user(i), testPassword, "") })
			}
			wg.Wait()
			for i, s := range statuses {
				if s != 200 {
					t.Errorf("sign-in %d of %d concurrent right ones from one address = %d, want 200", i, tc.n, s)
				}
			}
		})
	}
}

// TestSetupFlood: with the administrator created, a flood of concurrent
// setups with a bogus token hashes nothing (no 503 from a full hash
// queue), is throttled per address, and a real sign-in meanwhile succeeds.
func TestSetupFlood(t *testing.T) {
	e := attackEnv(t, mfa.Options{})
	e.addUser("alice")
	var wg sync.WaitGroup
	statuses := make([]int, 300)
	for i := range statuses {
		wg.Go(func() {
			form := url.Values{"token": {"bogus"}, "username": {fmt.Sprintf("eve%d", i)}, "password": {"eve password"}, "confirm": {"eve password"}}
			req, _ := http.NewRequest("POST", e.srv.URL+"/setup", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("X-Forwarded-For", "203.0.113.66")
			statuses[i] = e.do(e.client(), req).status
		})
	}
	status, v := e.verifyFrom("192.0.2.1", "alice", testPassword, "")
	wg.Wait()
	if status != 200 {
		t.Errorf("real sign-in during the flood = %d %+v, want 200", status, v)
	}
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[403]+counts[429] != len(statuses) || counts[429] == 0 {
		t.Errorf("bogus setups answered %v, want only 403 and 429, some 429", counts)
	}
}

// TestEnrolConfirmNoEnumeration: the API's setup confirmation answers an
// unknown user, a disabled one and a real user with an unknown setup alike.
func TestEnrolConfirmNoEnumeration(t *testing.T) {
	e := attackEnv(t, mfa.Options{})
	e.addUser("alice")
	bob := e.addUser("bob")
	if err := e.svc.SetDisabled(context.Background(), bob.ID, true); err != nil {
		t.Fatal(err)
	}
	var first resp
	for i, name := range []string{"nosuchuser", "bob", "alice"} {
		r := e.postJSON(e.client(), "/api/v1/enrol/confirm", `{"username":"`+name+`","id":"00112233445566778899aabbccddeeff","code":"123456"}`)
		if i == 0 {
			first = r
			if r.status != 404 || !strings.Contains(r.body, `"expired"`) {
				t.Errorf("confirm for an unknown user = %d %s, want 404 expired", r.status, r.body)
			}
			continue
		}
		if r.status != first.status || r.body != first.body {
			t.Errorf("confirm for %s = %d %s, want what an unknown user gets: %d %s", name, r.status, r.body, first.status, first.body)
		}
	}
}

// TestTypedNamesNotKept: a password typed into the name field is not in
// the store, and the counters it made are deleted once stale.
func TestTypedNamesNotKept(t *testing.T) {
	e := attackEnv(t, mfa.Options{})
	typed := "summer2026!secret"
	for range 3 {
		e.verifyFrom("192.0.2.5", typed, "wrong", "")
	}
	if found := grepDir(t, filepath.Dir(e.dbPath), typed); found != "" {
		t.Errorf("the typed name is in %s", found)
	}
	if n := e.countThrottles(); n == 0 {
		t.Fatal("no throttle counter after 3 failures")
	}
	e.clock.Add(31 * 24 * time.Hour)
	if err := e.svc.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.countThrottles(); n != 0 {
		t.Errorf("throttle counters after a month = %d, want 0", n)
	}
}

// countThrottles counts the store's throttle rows.
func (e *env) countThrottles() int {
	e.t.Helper()
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM throttle`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// grepDir returns a file under dir that holds s, or "".
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err == nil && strings.Contains(string(b), s) {
			return de.Name()
		}
	}
	return ""
}

// TestLastingChangesNeedProof: minutes after sign-in, a session alone can
// no longer renew recovery codes, add an authenticator or remove TOTP; a
// recovery code alone does not either; the password and a current code do.
func TestLastingChangesNeedProof(t *testing.T) {
	e, c, key, codes := enrolledAlice(t)
	e.clock.Add(10 * time.Minute)
	for _, path := range []string{"/settings/security/recovery", "/settings/security/totp", "/settings/security/totp/disable"} {
		if r := e.post(c, path, url.Values{}); r.status != 401 {
			t.Errorf("POST %s with the session alone = %d, want 401", path, r.status)
		}
		if r := e.post(c, path, url.Values{"code": {codes[0]}}); r.status != 401 {
			t.Errorf("POST %s with a recovery code alone = %d, want 401", path, r.status)
		}
	}
	e.nextStep()
	r := e.post(c, "/settings/security/recovery", url.Values{"password": {testPassword}, "code": {key.TOTP(e.clock.Now())}})
	if n := len(recoveryRe.FindAllStringSubmatch(r.body, -1)); r.status != 200 || n != 10 {
		t.Errorf("renew with password and code = %d with %d codes, want 10", r.status, n)
	}
	if !e.events.has(mfa.EventRecoveryCodesRenewed, "alice") {
		t.Errorf("the renewal is not reported: %+v", e.events.list)
	}
}

// TestCodeFailureWarning: wrong codes given after alice's password by
// someone else (the API, another browser) are told to her at her next
// sign-in, with a link on to where she was going, once; her own typos on
// the way are not.
func TestCodeFailureWarning(t *testing.T) {
	e, _, key, _ := enrolledAlice(t)
	for range 2 {
		e.verifyFrom("203.0.113.5", "alice", testPassword, "000000")
	}
	e.nextStep()
	b := e.client()
	r := e.post(b, "/login", url.Values{"username": {"alice"}, "password": {testPassword}, "otp": {"000000"}})
	if r.status != 401 || !strings.Contains(r.body, `name="tried" value="1"`) {
		t.Fatalf("one-form login with a wrong code = %d, want 401 counting it", r.status)
	}
	r = e.post(b, "/login", url.Values{"username": {"alice"}, "password": {testPassword}, "otp": {key.TOTP(e.clock.Now())}, "tried": {"1"}, "next": {"/settings/security"}})
	if r.status != 200 || !strings.Contains(r.body, "2 wrong verification codes were entered after your password") || !strings.Contains(r.body, `href="/settings/security"`) {
		t.Errorf("sign-in after 2 wrong codes from elsewhere and 1 typo = %d\n%s", r.status, r.body)
	}
	e.nextStep()
	if status, v := e.verifyFrom("192.0.2.1", "alice", testPassword, key.TOTP(e.clock.Now())); status != 200 || v.CodeFailures != 0 {
		t.Errorf("the next sign-in = %d %+v, want ok with no code failures (told once)", status, v)
	}
}

// TestThrottleIPv6Prefix: addresses of one /64 share the address counter,
// so a client cannot get fresh free guesses by changing its interface ID;
// another /64 has its own.
func TestThrottleIPv6Prefix(t *testing.T) {
	e := attackEnv(t, mfa.Options{Throttles: mfa.Throttles{Address: mfa.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}}})
	for i := range 3 {
		if _, v := e.verifyFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("guess%d", i), "wrong", ""); v.Outcome != "credentials_wrong" {
			t.Fatalf("guess %d = %s", i, v.Outcome)
		}
	}
	if status, v := e.verifyFrom("2001:db8:1:2:ffff::9", "guess9", "wrong", ""); status != 429 {
		t.Errorf("a 4th guess from another address of the same /64 = %d %s, want 429", status, v.Outcome)
	}
	if _, v := e.verifyFrom("2001:db8:1:3::1", "guess10", "wrong", ""); v.Outcome != "credentials_wrong" {
		t.Errorf("a guess from the next /64 = %s, want credentials_wrong (its own counter)", v.Outcome)
	}
}
