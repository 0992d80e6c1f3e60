package web_test

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// TestAuditRedTeam runs the security tests' attacks in a row (password
// guessing from many addresses, a password typed as a name, wrong, reused
// and malformed codes after the right password, a recovery code, a
// phone ahead by a step, bogus setup links, a forward-auth check without
// the second factor) and checks that the audit log records each with its
// path, result and reason, that every refusal has its failure line, and
// that nothing secret reached either: no password, code, recovery code,
// secret or session token used.
func TestAuditRedTeam(t *testing.T) {
	e, alice, key, recovery := enrolledAlice(t)
	secrets := []string{testPassword, key.Secret.Base32(), hex.EncodeToString(key.Secret)}
	secrets = append(secrets, recovery...)
	guess := func(s string) string { secrets = append(secrets, s); return s }
	code := func(k otp.Key, at time.Time) string { c := k.TOTP(at); secrets = append(secrets, c); return c }

	for i := range 3 {
		e.verifyFrom(from(1), "alice", guess(fmt.Sprintf("guess-%d", i)), "")
	}
	// A password typed into the name field: not kept as a name.
	e.loginFrom(e.client(), from(2), url.Values{"username": {guess("Tr0ub4dor&3")}, "password": {guess("a wrong password")}})
	e.nextStep()
	if status, _ := e.verifyFrom(from(3), "alice", testPassword, guess("000000")); status != http.StatusUnauthorized {
		t.Errorf("wrong code = %d, want 401", status)
	}
	used := code(key, e.clock.Now())
	e.verifyFrom(from(3), "alice", testPassword, used)
	e.verifyFrom(from(3), "alice", testPassword, used)
	e.verifyFrom(from(3), "alice", testPassword, guess("12ab"))
	e.verifyFrom(from(5), "alice", testPassword, recovery[0])
	e.nextStep()
	e.verifyFrom(from(6), "alice", testPassword, code(key, e.clock.Now().Add(30*time.Second)))
	for i := range 25 {
		e.verifyFrom(from(4), "mallory", guess(fmt.Sprintf("spray-%d", i)), "")
	}
	r := e.post(e.client(), "/setup", url.Values{"token": {guess("not-a-setup-token")}, "username": {"eve"},
		"password": {guess("eve password 1")}, "confirm": {"eve password 1"}})
	if r.status != http.StatusForbidden {
		t.Errorf("POST /setup with a bogus token = %d, want 403", r.status)
	}
	// bob signs in without a second factor; the default rule wants one.
	e.addUser("bob")
	b := e.client()
	e.login(b, "bob", "", "/settings")
	req, _ := http.NewRequest("GET", e.srv.URL+"/auth/nginx", nil)
	req.Header.Set("X-Original-URL", "https://notebook.example.org/")
	if r := e.do(b, req); r.status != http.StatusForbidden {
		t.Errorf("forward-auth for bob without a second factor = %d, want 403", r.status)
	}

	log := e.auditLog(mfa.AuditFilter{})
	want := []struct {
		user, addr string
		path       mfa.Path
		action     string
		result     string
		reason     string
	}{
		{"alice", "127.0.0.1", mfa.PathPage, mfa.ActionEnrol, "ok", ""},
		{"alice", "127.0.0.1", mfa.PathPage, "second factor added", "ok", ""},
		{"alice", from(1), mfa.PathAPI, mfa.ActionSignIn, "credentials_wrong", "wrong password"},
		{"", from(2), mfa.PathPage, mfa.ActionSignIn, "credentials_wrong", "unknown user"},
		{"alice", from(3), mfa.PathAPI, mfa.ActionSignIn, "code_wrong", "wrong code"},
		{"alice", from(3), mfa.PathAPI, mfa.ActionSignIn, "ok", ""},
		{"alice", from(3), mfa.PathAPI, mfa.ActionSignIn, "code_wrong", "code already used"},
		{"alice", from(3), mfa.PathAPI, mfa.ActionSignIn, "code_wrong", "malformed code"},
		{"alice", from(5), mfa.PathAPI, mfa.ActionSignIn, "ok", "recovery code"},
		{"alice", from(5), mfa.PathAPI, "recovery code used", "ok", ""},
		{"alice", from(6), mfa.PathAPI, mfa.ActionSignIn, "ok", "clock off by +1 steps"},
		{"", from(4), mfa.PathAPI, mfa.ActionSignIn, "credentials_wrong", "unknown user"},
		{"", from(4), mfa.PathAPI, mfa.ActionSignIn, "throttled", "throttled"},
		{"", "127.0.0.1", mfa.PathPage, mfa.ActionSetup, "credentials_wrong", "setup link invalid"},
		{"bob", "127.0.0.1", mfa.PathForwardAuth, mfa.ActionAccess, "denied", "requires a second factor"},
	}
	for _, w := range want {
		found := false
		for _, got := range log {
			if got.User == w.user && got.Addr == w.addr && got.Path == w.path && got.Action == w.action &&
				got.Result == w.result && strings.Contains(got.Reason, w.reason) && !got.Time.IsZero() {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("audit log lacks %+v", w)
		}
	}
	for _, got := range log {
		if got.Reason == "clock off by +1 steps" && got.Drift != 1 {
			t.Errorf("entry %+v: Drift = %d, want 1", got, got.Drift)
		}
	}

	// Every refusal has its failure line, and nothing else has one.
	lines := strings.Split(strings.TrimSuffix(e.failures.String(), "\n"), "\n")
	var failed int
	for _, got := range log {
		if got.Failed() {
			failed++
		}
	}
	if len(lines) != failed {
		t.Errorf("%d failure lines, want %d (one per refused entry)", len(lines), failed)
	}
	lineRe := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ otpgate-failure addr=[0-9a-f.:]+ path=[a-z-]+ action="[^"]*" result=[a-z_]+ reason="[^"]*" user="[^"]*"$`)
	for _, l := range lines {
		if !lineRe.MatchString(l) {
			t.Errorf("failure line %q is not in the documented format", l)
		}
	}

	// Nothing secret: not in the entries, not in the failure lines, not
	// in the server's log.
	var all strings.Builder
	for _, got := range log {
		fmt.Fprintf(&all, "%s|%s|%s|%s|%s|%s|%s|%s|%d\n", got.Time.Format(time.RFC3339), got.User, got.Actor, got.Addr, got.Path, got.Action, got.Result, got.Reason, got.Drift)
	}
	for _, ck := range append(alice.Jar.Cookies(mustURL(e.srv.URL)), b.Jar.Cookies(mustURL(e.srv.URL))...) {
		secrets = append(secrets, ck.Value)
	}
	for _, where := range []struct{ name, text string }{{"audit log", all.String()}, {"failure lines", e.failures.String()}, {"server log", e.logs.String()}} {
		for _, s := range secrets {
			if s != "" && strings.Contains(where.text, s) {
				t.Errorf("the %s holds the secret %q", where.name, s)
			}
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
