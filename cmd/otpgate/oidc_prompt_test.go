package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/oidc"
)

// TestOIDCPromptLoginMaxAge: prompt=login and a max_age shorter than the
// session's age send a signed-in browser through the sign-in form again
// (the form shows over the session): the new ID token is of a new session
// (another sid), signed in no earlier; a max_age the session meets needs
// no form and keeps the session.
func TestOIDCPromptLoginMaxAge(t *testing.T) {
	_, r := aliceApp(t)
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	_, firstClaims := r.idToken(f, tok)
	sid, authTime := firstClaims["sid"], firstClaims["auth_time"].(float64)

	for _, tc := range []struct {
		name     string
		opts     []oauth2.AuthCodeOption
		wantForm bool
	}{
		{"max_age met", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "3600")}, false},
		{"prompt=login", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")}, true},
		{"max_age=0", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "0")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := r.start(tc.opts...)
			a := b.follow(f.url, "", nil)
			if tc.wantForm {
				if a.back() || !strings.Contains(a.page, `name="password"`) || a.at.Path != "/login" {
					t.Fatalf("signed-in browser not asked to sign in again: %d %v at %v", a.status, a.Values, a.at)
				}
				a = b.follow(f.url, "alice", nil)
			}
			if !a.back() || a.Get("code") == "" {
				t.Fatalf("no code: %d %v\n%s", a.status, a.Values, a.page)
			}
			tok, err := r.exchange(f, a.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			_, claims := r.idToken(f, tok)
			if fresh := claims["sid"] != sid; fresh != tc.wantForm {
				t.Errorf("sid %v, before %v: a new sign-in %v, want %v", claims["sid"], sid, fresh, tc.wantForm)
			}
			at, _ := claims["auth_time"].(float64)
			if at < authTime {
				t.Errorf("auth_time %v, before %v", claims["auth_time"], authTime)
			}
			sid, authTime = claims["sid"], at
		})
	}
}

// TestOIDCPromptNone: prompt=none never shows a page: without a session
// the client is told login_required at once, with one it gets a code.
func TestOIDCPromptNone(t *testing.T) {
	_, r := aliceApp(t)
	b := newOIDCBrowser(t)
	none := oauth2.SetAuthURLParam("prompt", "none")
	f := r.start(none)
	a := b.follow(f.url, "", nil)
	if !a.back() || a.Get("error") != "login_required" || a.Get("state") != f.state || a.Get("code") != "" {
		t.Fatalf("prompt=none without a session: %d %v\n%s", a.status, a.Values, a.page)
	}
	r.signIn(b, "alice")
	f = r.start(none)
	a = b.follow(f.url, "", nil)
	if !a.back() || a.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %d %v\n%s", a.status, a.Values, a.page)
	}
	if _, err := r.exchange(f, a.Get("code")); err != nil {
		t.Errorf("prompt=none's code: %v", err)
	}
	// prompt=none with max_age=0 cannot be met without a page.
	f = r.start(none, oauth2.SetAuthURLParam("max_age", "0"))
	if a = b.follow(f.url, "", nil); a.Get("error") != "login_required" {
		t.Errorf("prompt=none max_age=0: %v, want login_required", a.Values)
	}
}

// TestOIDCRequireSecondFactor: a client registered with
// --require-second-factor, or acr_values asking for the second-factor
// profile, gets no code for a user with the password alone: the user is
// sent to set up TOTP (prompt=none: interaction_required), and comes back
// with amr [pwd otp] and the second-factor acr. A client without the
// requirement serves the password-only sign-in with the password acr.
func TestOIDCRequireSecondFactor(t *testing.T) {
	o := startOIDC(t)
	o.addUser("bob")
	o.addUser("carol")
	secret := o.addClient("strict", "--require-second-factor", "--redirect-uri", rpRedirect)
	lax := o.addClient("lax", "--redirect-uri", rpRedirect)

	plain := newRP(t, o, "lax", lax)
	b := newOIDCBrowser(t)
	f, code := plain.signIn(b, "bob")
	tok, err := plain.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, claims := plain.idToken(f, tok); claims["acr"] != oidc.ACRPassword {
		t.Errorf("password-only acr = %v, want %s", claims["acr"], oidc.ACRPassword)
	}

	for _, tc := range []struct {
		name, client, secret, user string
		opts                       []oauth2.AuthCodeOption
	}{
		{"client requires it", "strict", secret, "bob", nil},
		{"acr_values", "lax", lax, "carol", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", oidc.ACRSecondFactor)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRP(t, o, tc.client, tc.secret)
			b := newOIDCBrowser(t)
			f := r.start(append(tc.opts, oauth2.SetAuthURLParam("prompt", "none"))...)
			if a := b.follow(f.url, "", nil); a.Get("error") != "login_required" {
				t.Errorf("prompt=none without a session: %v", a.Values)
			}
			f = r.start(tc.opts...)
			a := b.follow(f.url, tc.user, nil)
			if a.back() || a.at.Path != "/settings/security" || !strings.Contains(a.page, "Set up TOTP") {
				t.Fatalf("password-only user not sent to the TOTP setup: %d %v at %v\n%s", a.status, a.Values, a.at, a.page)
			}
			// Signed in with the password: prompt=none tells the client.
			fn := r.start(append(tc.opts, oauth2.SetAuthURLParam("prompt", "none"))...)
			if a := b.follow(fn.url, "", nil); a.Get("error") != "interaction_required" {
				t.Errorf("prompt=none, password-only session: %v, want interaction_required", a.Values)
			}
			next := continueLink(t, o.confirmTOTP(b.c, tc.user, a.page))
			a = b.follow(o.url+next, "", nil)
			if !a.back() || a.Get("code") == "" {
				t.Fatalf("after the setup: %d %v\n%s", a.status, a.Values, a.page)
			}
			tok, err := r.exchange(f, a.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			_, claims := r.idToken(f, tok)
			if amr, _ := claims["amr"].([]any); len(amr) != 2 || claims["acr"] != oidc.ACRSecondFactor {
				t.Errorf("after the setup: amr %v acr %v, want [pwd otp] and %s", claims["amr"], claims["acr"], oidc.ACRSecondFactor)
			}
		})
	}
}

// continueLink is the Continue link of the TOTP setup's last page.
func continueLink(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `<p><a href="`)
	if i < 0 {
		t.Fatalf("no Continue link:\n%s", page)
	}
	rest := page[i+len(`<p><a href="`):]
	link := strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], "&amp;", "&")
	if u, err := url.Parse(link); err != nil || u.Path != oidc.LoginPath {
		t.Fatalf("Continue goes to %q, want the bridge", link)
	}
	return link
}

// TestOIDCEnforcedSetup: a user whose group's deadline has passed is sent
// to set up TOTP at the application's sign-in, then back to it, as on
// every path (issue 14).
func TestOIDCEnforcedSetup(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "enforce")
	if err := os.WriteFile(rules, []byte("second factor required for groups hpc from 2020-01-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOIDC(t, "-enforce-file", rules)
	o.addUser("dave", "--groups", "hpc")
	secret := o.addClient("app", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "app", secret)
	b := newOIDCBrowser(t)
	f := r.start()
	a := b.follow(f.url, "dave", nil)
	if a.back() || a.at.Path != "/settings/security" {
		t.Fatalf("user past the deadline not sent to the setup: %d %v at %v", a.status, a.Values, a.at)
	}
	next := continueLink(t, o.confirmTOTP(b.c, "dave", a.page))
	a = b.follow(o.url+next, "", nil)
	if !a.back() || a.Get("code") == "" {
		t.Fatalf("after the setup: %d %v\n%s", a.status, a.Values, a.page)
	}
	tok, err := r.exchange(f, a.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, claims := r.idToken(f, tok); claims["acr"] != oidc.ACRSecondFactor {
		t.Errorf("acr = %v", claims["acr"])
	}
}
