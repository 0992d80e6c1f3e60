package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

var authIDRe = regexp.MustCompile(`action="/settings/security/authenticator/remove">\s*<input type="hidden" name="id" value="([0-9a-f]+)">`)

// TestSeveralAuthenticators: a second authenticator is added while the
// first stays, each one's codes sign in, each is renamed and removed on
// its own (removal asks for proof), the site's cap holds, and bad names
// are refused with nothing stored.
func TestSeveralAuthenticators(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{MaxAuthenticators: 2}})
	u := e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	phone, _ := e.enroll(c)
	r := e.get(c, "/settings/security")
	if !strings.Contains(r.body, "Add another authenticator") || !strings.Contains(r.body, "Authenticator app") {
		t.Fatalf("security page with one authenticator:\n%s", r.body)
	}
	r = e.post(c, "/settings/security/totp", nil)
	tablet, id := e.keyOf(r.body)
	if !strings.Contains(r.body, `value="Authenticator app 2"`) {
		t.Errorf("second setup's default name:\n%s", r.body)
	}
	for _, tc := range []struct{ name, value string }{
		{"empty", ""}, {"spaces", "   "}, {"overlong", strings.Repeat("x", 65)}, {"not UTF-8", "Tab\xfflet"}, {"control", "Tab\nlet"},
	} {
		r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {tablet.TOTP(e.clock.Now())}, "name": {tc.value}})
		if r.status != 400 {
			t.Errorf("confirm with a %s name = %d, want 400", tc.name, r.status)
		}
	}
	if auths, _ := e.svc.ConfirmedAuthenticators(context.Background(), u.ID); len(auths) != 1 {
		t.Fatalf("after refused names: %d confirmed, want 1", len(auths))
	}
	r = e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {tablet.TOTP(e.clock.Now())}, "name": {"Tablet"}})
	if r.status != 200 || !strings.Contains(r.body, "Your new authenticator is added") || recoveryRe.MatchString(r.body) {
		t.Fatalf("confirm the second = %d\n%s", r.status, r.body)
	}
	r = e.get(c, "/settings/security")
	if !strings.Contains(r.body, "Remove Tablet") || !strings.Contains(r.body, "Remove Authenticator app") || !strings.Contains(r.body, "the most this site allows") {
		t.Errorf("security page with two authenticators:\n%s", r.body)
	}
	if r := e.post(c, "/settings/security/totp", nil); r.status != 409 || !strings.Contains(r.body, "the most this site allows") {
		t.Errorf("a third past the cap of 2 = %d, want 409", r.status)
	}
	// Each one's codes sign in.
	for _, k := range []struct {
		name string
		code func() string
	}{{"phone", func() string { return phone.TOTP(e.clock.Now()) }}, {"tablet", func() string { return tablet.TOTP(e.clock.Now()) }}} {
		e.nextStep()
		e.login(e.client(), "bob", k.code(), "/settings")
	}
	if ids := authIDRe.FindAllStringSubmatch(r.body, -1); len(ids) != 2 {
		t.Fatalf("%d remove forms, want 2", len(ids))
	}
	auths, err := e.svc.ConfirmedAuthenticators(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	phoneID := ""
	for _, a := range auths {
		if a.Name == "Authenticator app" {
			phoneID = a.ID
		}
	}
	// Rename: bad names refused, a good one stored.
	if r := e.post(c, "/settings/security/authenticator/rename", url.Values{"id": {phoneID}, "name": {strings.Repeat("é", 40)}}); r.status != 400 {
		t.Errorf("rename to 80 bytes = %d, want 400", r.status)
	}
	if r := e.post(c, "/settings/security/authenticator/rename", url.Values{"id": {"ffff"}, "name": {"x"}}); r.status != 404 {
		t.Errorf("rename of no such authenticator = %d, want 404", r.status)
	}
	if r := e.post(c, "/settings/security/authenticator/rename", url.Values{"id": {phoneID}, "name": {"Old phone"}}); r.status != 303 {
		t.Errorf("rename = %d, want 303", r.status)
	}
	// Remove the old phone, minutes later: proof is asked.
	e.clock.Add(6 * time.Minute)
	if r := e.post(c, "/settings/security/authenticator/remove", url.Values{"id": {phoneID}}); r.status != 401 {
		t.Errorf("remove without proof = %d, want 401", r.status)
	}
	e.nextStep()
	r = e.post(c, "/settings/security/authenticator/remove", url.Values{"id": {phoneID}, "password": {testPassword}, "code": {tablet.TOTP(e.clock.Now())}})
	if r.status != 303 || r.location != "/settings/security?done=removed" {
		t.Fatalf("remove with proof = %d %q\n%s", r.status, r.location, r.body)
	}
	if r := e.get(c, r.location); !strings.Contains(r.body, "Remove Tablet") || strings.Contains(r.body, "Old phone") {
		t.Errorf("security page after removing the old phone:\n%s", r.body)
	}
	e.nextStep()
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {phone.TOTP(e.clock.Now())}}); r.status != 401 {
		t.Errorf("removed phone's code = %d, want 401", r.status)
	}
	// (Told of the wrong code just given from another browser.)
	if r := e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {tablet.TOTP(e.clock.Now())}}); r.status != 200 || !strings.Contains(r.body, "Someone may know your password") {
		t.Errorf("tablet's code after removing the phone = %d, want 200 signed in", r.status)
	}
	if !e.events.has(mfa.EventFactorRemoved, "bob") {
		t.Errorf("no factor-removed event")
	}
}
