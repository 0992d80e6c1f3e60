package web_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

// TestPendingSetupKept: coming back to "Set up TOTP" shows the same key
// until the setup is confirmed or cancelled, and says so.
func TestPendingSetupKept(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	r := e.post(c, "/settings/security/totp", nil)
	first, id := e.keyOf(r.body)
	if strings.Contains(r.body, `id="resumed"`) {
		t.Errorf("a new setup says it was started earlier")
	}
	e.clock.Add(2 * 60 * 1e9)
	if r := e.get(c, "/settings/security"); !strings.Contains(r.body, "Continue setup") || !strings.Contains(r.body, "You started a setup earlier") {
		t.Errorf("security page with a setup in progress:\n%s", r.body)
	}
	r = e.post(c, "/settings/security/totp", nil)
	again, id2 := e.keyOf(r.body)
	if !bytes.Equal(again.Secret, first.Secret) || id2 != id {
		t.Errorf("coming back to the setup shows another key")
	}
	if !strings.Contains(r.body, "This is the setup you started earlier, with the same key") {
		t.Errorf("the resumed setup does not say so:\n%s", r.body)
	}
	r = e.post(c, "/settings/security/totp/cancel", url.Values{"id": {id}})
	if r.status != 303 || !strings.HasPrefix(r.location, "/settings/security?done=cancelled") {
		t.Fatalf("cancel = %d %q", r.status, r.location)
	}
	if r := e.get(c, r.location); !strings.Contains(r.body, "The TOTP setup was cancelled.") || !strings.Contains(r.body, "Set up TOTP") {
		t.Errorf("security page after cancel:\n%s", r.body)
	}
	r = e.post(c, "/settings/security/totp", nil)
	if fresh, _ := e.keyOf(r.body); bytes.Equal(fresh.Secret, first.Secret) {
		t.Errorf("a setup after cancelling shows the cancelled key")
	}
	// The cancelled setup cannot be confirmed.
	if r := e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {first.TOTP(e.clock.Now())}}); r.status != 400 {
		t.Errorf("confirming a cancelled setup = %d, want 400", r.status)
	}
}
