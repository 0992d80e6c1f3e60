package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// benchEnv is a server whose throttling never triggers, so that every
// request does the whole check: the figures are the cost of a check, not of
// a refusal.
func benchEnv(b *testing.B) (*env, *http.Client, string) {
	free := mfa.ThrottlePolicy{Free: 1 << 30, Base: time.Second, Max: time.Second, Forget: time.Hour}
	e := newEnv(b, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Account: free, Address: free, Code: free}}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key, _ := e.enroll(c)
	return e, c, key.TOTP(e.clock.Now())
}

// BenchmarkSecondStep is the second login page: session lookup,
// throttling, the code checked against the store (already used: refused
// by the conditional UPDATE), the page rendered.
func BenchmarkSecondStep(b *testing.B) {
	e, _, code := benchEnv(b)
	c := e.client()
	e.login(c, "bob", "", "/login/totp")
	body := url.Values{"code": {code}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/login/totp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := c.Do(req)
		if err != nil || r.StatusCode != 401 {
			b.Fatalf("POST /login/totp = %v, %v, want 401 (used code)", r, err)
		}
		r.Body.Close()
	}
}

// BenchmarkAPIVerify is POST /api/v1/verify with password and code; the
// password hash uses the tests' small argon2id parameters (1 MiB, 1 pass).
func BenchmarkAPIVerify(b *testing.B) {
	e, _, code := benchEnv(b)
	body := `{"username":"bob","password":"` + testPassword + `","otp":"` + code + `"}`
	c := e.client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/verify", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r, err := c.Do(req)
		if err != nil || r.StatusCode != 401 {
			b.Fatalf("POST /api/v1/verify = %v, %v, want 401 (used code)", r, err)
		}
		r.Body.Close()
	}
}
