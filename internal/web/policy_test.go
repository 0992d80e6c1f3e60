package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// TestEnrolPolicy: an SHA-256, 8-digit, 60-second policy is in the key
// URI and the manual entry, the pages ask for the 8-digit code, and warn
// that Google Authenticator may ignore it; the key's codes sign in.
func TestEnrolPolicy(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{Enrol: mfa.EnrolPolicy{Algorithm: otp.SHA256, Digits: 8, Period: 60 * time.Second}}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	r := e.post(c, "/settings/security/totp", nil)
	m := regexp.MustCompile(`href="(otpauth://[^"]+)" id="open-app"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no key URI:\n%s", r.body)
	}
	u, err := otp.ParseURI(html.UnescapeString(m[1]))
	if err != nil || u.Key.Algorithm != otp.SHA256 || u.Key.Digits != 8 || u.Key.Period != 60*time.Second {
		t.Fatalf("key URI %q = %+v, %v, want SHA256, 8 digits, 60 s", m[1], u.Key, err)
	}
	for _, want := range []string{"SHA-256, 8 digits, every 60 seconds", "Enter the 8-digit verification code", `id="google-warning"`, "Google Authenticator ignore these settings"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("setup page lacks %q", want)
		}
	}
	_, id := e.keyOf(r.body)
	key := u.Key
	if r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {key.TOTP(e.clock.Now())}}); r.status != 200 {
		t.Fatalf("confirm = %d", r.status)
	}
	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	if r := e.get(b, "/login/totp"); !strings.Contains(r.body, "Enter the 8-digit code from your authenticator app") {
		t.Errorf("second step does not ask for 8 digits:\n%s", r.body)
	}
	if r := e.post(b, "/login/totp", url.Values{"code": {"123456"}}); !strings.Contains(r.body, "Enter the 8 digits your app shows") {
		t.Errorf("6 digits for an 8-digit key:\n%s", r.body)
	}
	e.clock.Add(time.Minute)
	if r := e.post(b, "/login/totp", url.Values{"code": {key.TOTP(e.clock.Now())}}); r.status != 303 {
		t.Errorf("8-digit code = %d, want 303", r.status)
	}
	if r := e.get(b, "/settings/security"); !strings.Contains(r.body, "SHA-256, 8 digits, 60 s") {
		t.Errorf("security page does not list the authenticator's parameters")
	}
	// The default policy shows no warning.
	d := newEnv(t, setup{})
	d.addUser("carol")
	dc := d.client()
	d.login(dc, "carol", "", "/settings")
	if r := d.post(dc, "/settings/security/totp", nil); strings.Contains(r.body, `id="google-warning"`) {
		t.Errorf("default policy warns about Google Authenticator")
	}
}
