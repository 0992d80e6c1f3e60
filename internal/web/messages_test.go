package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// TestCodeMessages: each refused code says what happened, on the second
// step and on the one form; the one form with the right password and a
// refused code goes on to the code prompt instead of asking for the
// password again.
func TestCodeMessages(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	key, codes := e.enroll(c)
	e.nextStep()
	used := key.TOTP(e.clock.Now())
	e.login(e.client(), "bob", used, "/settings")
	tests := []struct {
		name string
		code func() string
		want string
	}{
		{"malformed", fixed("12345"), "Enter the 6 digits your app shows"},
		{"letters", fixed("abcdef"), "Enter the 6 digits your app shows"},
		{"wrong", func() string { return otp.Key{Secret: []byte("some other secret!!!")}.TOTP(e.clock.Now()) }, "That code is wrong."},
		{"recovery wrong", fixed("aaaa-bbbb-cccc-dddd"), "That recovery code is wrong or was already used"},
		{"recovery used", fixed(codes[0]), "That recovery code is wrong or was already used"},
		{"clock behind", func() string { return key.TOTP(e.clock.Now().Add(-5 * time.Minute)) }, "your phone's clock seems to be about 5 minutes behind"},
		{"clock ahead", func() string { return key.TOTP(e.clock.Now().Add(90 * time.Second)) }, "about 90 seconds ahead"},
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {codes[0]}}); r.status != http.StatusOK || !strings.Contains(r.body, "You used a recovery code") {
		t.Fatalf("recovery code = %d, want 200 and how many are left", r.status)
	}
	// The used code on the second step and on the one form.
	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	if r := e.post(b, "/login/totp", url.Values{"code": {used}}); r.status != 401 || !strings.Contains(r.body, msgReused) {
		t.Errorf("second step with a used code = %d, want 401 with %q\n%s", r.status, msgReused, r.body)
	}
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {used}}); r.status != 401 || !strings.Contains(r.body, msgReused) {
		t.Errorf("one form with a used code = %d, want 401 with %q\n%s", r.status, msgReused, r.body)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.client()
			e.login(b, "bob", "", "/login/totp")
			r := e.post(b, "/login/totp", url.Values{"code": {tc.code()}})
			if body := html.UnescapeString(r.body); r.status != 401 || !strings.Contains(body, tc.want) {
				t.Errorf("second step with %s = %d, want 401 with %q\n%s", tc.name, r.status, tc.want, r.body)
			}
			o := e.client()
			r = e.post(o, "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {tc.code()}})
			body := html.UnescapeString(r.body)
			if r.status != 401 || !strings.Contains(body, tc.want) {
				t.Errorf("one form with %s = %d, want 401 with %q\n%s", tc.name, r.status, tc.want, r.body)
			}
			if !strings.Contains(body, "<h1>Verification code</h1>") || strings.Contains(body, `name="password"`) {
				t.Errorf("one form with the right password and %s does not go on to the code prompt:\n%s", tc.name, r.body)
			}
			// The prompt it went on to takes the next code (and warns of
			// the wrong codes the other browser gave).
			e.nextStep()
			r = e.post(o, "/login/totp", url.Values{"code": {key.TOTP(e.clock.Now())}, "tried": {"1"}})
			if r.status != http.StatusSeeOther && !strings.Contains(r.body, "Someone may know your password") {
				t.Errorf("code prompt after the one form = %d, want 303\n%s", r.status, r.body)
			}
			if r := e.get(o, "/settings"); r.status != 200 {
				t.Errorf("GET /settings after the code prompt = %d, want 200", r.status)
			}
		})
	}
	// A wrong password with a code still clears the password, and says
	// nothing of the code.
	r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {"wrong password"}, "otp": {"12345"}})
	if r.status != 401 || !strings.Contains(r.body, "Wrong username or password.") {
		t.Errorf("wrong password = %d\n%s", r.status, r.body)
	}
}

const msgReused = "This code was just used. Wait for the next one"

func fixed(s string) func() string { return func() string { return s } }

// TestThrottledCodeMessage: the code budget says how long to wait.
func TestThrottledCodeMessage(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Code: mfa.ThrottlePolicy{Free: 1, Base: 5 * time.Minute, Max: time.Hour, Forget: 24 * time.Hour}}}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	e.enroll(c)
	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	e.post(b, "/login/totp", url.Values{"code": {"000000"}})
	r := e.post(b, "/login/totp", url.Values{"code": {"000000"}})
	if r.status != 429 || !strings.Contains(r.body, "Too many wrong codes. Try again in 5 minutes.") {
		t.Errorf("second wrong code = %d, want 429 with the wait\n%s", r.status, r.body)
	}
}

// rateLimitedFile is a user file whose RATE_LIMIT refuses every attempt
// and tells how long to wait.
type rateLimitedFile struct{}

func (rateLimitedFile) HasFile(context.Context, string) bool            { return true }
func (rateLimitedFile) CheckFile(context.Context, string) mfa.FileState { return mfa.FileUsable }
func (rateLimitedFile) VerifyCode(context.Context, string, string, time.Time) mfa.FileVerdict {
	return mfa.FileRateLimited
}
func (rateLimitedFile) RateLimitWait(context.Context, string, time.Time) time.Duration {
	return 42 * time.Second
}

// TestFileRateLimitMessage: a code the user's file would not look at is
// not called wrong: the page says the file's rate limit, and its wait.
func TestFileRateLimitMessage(t *testing.T) {
	e := newEnv(t, setup{files: rateLimitedFile{}})
	e.addUser("bob")
	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	r := e.post(b, "/login/totp", url.Values{"code": {"123456"}})
	if r.status != 429 || !strings.Contains(r.body, "(its RATE_LIMIT line), so this code was not checked. Try again in 42 seconds.") || r.header.Get("Retry-After") != "42" {
		t.Errorf("rate-limited file = %d, Retry-After %q\n%s", r.status, r.header.Get("Retry-After"), r.body)
	}
}
