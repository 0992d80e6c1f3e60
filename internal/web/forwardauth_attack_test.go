package web_test

import (
	"context"
	"errors"
	"log/slog"
	url0 "net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
)

// faSetupRules is faSetup with the rules given.
func faSetupRules(t *testing.T, rules string) *env {
	t.Helper()
	rs, err := access.Parse("rules.conf", strings.NewReader(rules))
	if err != nil {
		t.Fatal(err)
	}
	proxies, _ := web.ParseTrustedProxies("127.0.0.1/32,::1")
	cn := &clockNow{}
	e := newEnv(t, setup{opts: web.Options{BaseURL: "https://mfa.example.org", CookieDomain: "example.org",
		TrustedProxies: proxies, Rules: rs, SessionCacheTTL: time.Second, Now: cn.Now}, logLevel: slog.LevelInfo})
	cn.c = e.clock
	return e
}

// TestForwardAuthPortFromProxy: a rule with a port decides on the port the
// proxy says it received the request on, never on the one the client
// typed in Host. In the attack run carol, not allowed on port 18443, got
// 200 there by leaving the port out of Host.
func TestForwardAuthPortFromProxy(t *testing.T) {
	e := faSetupRules(t, "host wiki.example.org:18443 users alice,bob\nhost *.example.org users *\n")
	alice, _, carol, _ := faUsers(t, e)
	hosts := []string{"wiki.example.org", "wiki.example.org:18443", "WIKI.Example.ORG", "wiki.example.org.",
		"wiki.example.org.:18443", "wiki.example.org:018443", "wiki.example.org:443", "wiki.example.org:", "Wiki.Example.Org.:0"}
	for _, host := range hosts {
		for _, tc := range []struct {
			name, token, port string
			want              int
		}{
			{"carol", carol, "18443", 403},
			{"alice", alice, "18443", 200},
			{"carol on another port", carol, "443", 200},
			// The proxy did not say: the port rule refuses, whoever asks.
			{"carol, no port from the proxy", carol, "", 403},
			{"alice, no port from the proxy", alice, "", 403},
		} {
			for _, hs := range [][]string{
				{"X-Original-URL", "https://" + host + "/page"},
				{"X-Forwarded-Proto", "https", "X-Forwarded-Host", host, "X-Forwarded-Uri", "/page"},
			} {
				for _, ep := range []string{"/auth/nginx", "/auth/redirect"} {
					r := e.auth(ep, tc.token, "", append(hs, "X-Forwarded-Port", tc.port)...)
					if r.status != tc.want {
						t.Errorf("%s: %s with %q, X-Forwarded-Port %q = %d, want %d", tc.name, ep, hs, tc.port, r.status, tc.want)
					}
				}
			}
		}
	}
	if !strings.Contains(e.logs.String(), "the proxy did not send it") {
		t.Errorf("no log line for a port rule without the port:\n%s", e.logs.String())
	}
	// rd is the URL as the browser asked for it (behind a port mapping,
	// the proxy's port is not the browser's).
	r := e.auth("/auth/redirect", "", "", "X-Forwarded-Host", "Wiki.Example.Org.:18443", "X-Forwarded-Uri", "/p?q=1", "X-Forwarded-Port", "8443")
	if want := "https://mfa.example.org/login?rd=https%3A%2F%2Fwiki.example.org%3A18443%2Fp%3Fq%3D1"; r.status != 302 || r.location != want {
		t.Errorf("/auth/redirect without a session = %d %q, want 302 %q", r.status, r.location, want)
	}
}

// TestForwardAuthPathSpellings: the spellings of a restricted path that
// passed in the attack run, and more, are refused to a user outside the
// rule, through both endpoints and both ways of sending the URL; the
// ambiguous ones with 403 (nginx passes a 403 on; a 400 would become 500).
func TestForwardAuthPathSpellings(t *testing.T) {
	e := faSetupRules(t, "host wiki.example.org path /private deny\nhost wiki.example.org path /admin groups admins\nhost *.example.org users *\n")
	alice, _, carol, _ := faUsers(t, e)
	for _, p := range []string{
		"/private", "/admin/x",
		"/PRIVATE", "/Private/x", "/private;x=1", "/admin;jsessionid=1", "/admin%3B/x", "/private.", "/private%20",
		"/priv%2561te", "/%252e%252e/private", "/%C0%AEadmin",
		"/private;x", "/ADMIN", "/pr%69vate", "/private%2f", "/%2Fprivate", "/%5cprivate", "/x/%2e%2e/private",
		"/x/../private", "/x/..;/private", "/./private", "//private", "/private//x", "/%EF%BD%90rivate",
		"/private::$DATA", "/PRIVAT~1", "/private%00", "/admin.%20.", "/admin%u002e", "/x\\..\\private",
		"/private%3Fx", "/admin%23",
	} {
		for _, token := range []string{alice, carol} {
			for _, hs := range [][]string{
				{"X-Original-URL", "https://wiki.example.org" + p + "?a=1"},
				{"X-Forwarded-Host", "wiki.example.org", "X-Forwarded-Uri", p + "?a=1"},
			} {
				for _, ep := range []string{"/auth/nginx", "/auth/redirect"} {
					r := e.auth(ep, token, "", append(hs, "X-Forwarded-Port", "443")...)
					if r.status != 403 || r.header.Get("Remote-User") != "" {
						t.Errorf("%s with %q = %d %q, want 403 without identity", ep, hs, r.status, r.header.Get("Remote-User"))
					}
				}
			}
		}
	}
	// Ambiguous paths are refused before the session is looked at.
	if r := e.auth("/auth/nginx", "", "https://wiki.example.org/priv%2561te"); r.status != 403 {
		t.Errorf("ambiguous path without a session = %d, want 403", r.status)
	}
	if !strings.Contains(e.logs.String(), "ambiguous path") {
		t.Errorf("no log line names the ambiguous path:\n%s", e.logs.String())
	}
	// So that the test can fail: the same users pass elsewhere.
	for _, p := range []string{"/", "/privateer", "/Page", "/a;b", "/caf%C3%A9", "/administrator"} {
		if r := e.auth("/auth/nginx", carol, "https://wiki.example.org"+p); r.status != 200 || r.header.Get("Remote-User") != "carol" {
			t.Errorf("carol on %s = %d, want 200", p, r.status)
		}
	}
}

// TestLoginRefusesDowngrade: under an https base URL, rd never leads to an
// http page after sign-in or sign-out.
func TestLoginRefusesDowngrade(t *testing.T) {
	e := faSetupRules(t, "host * users *\n")
	faUsers(t, e)
	for _, tc := range []struct{ rd, want string }{
		{"https://notebook.example.org/lab", "https://notebook.example.org/lab"},
		{"http://notebook.example.org/lab", "/settings"},
		{"HTTP://notebook.example.org/lab", "/settings"},
		{"http://mfa.example.org/settings/security", "/settings"},
	} {
		r := e.post(e.client(), "/login", url0.Values{"username": {"bob"}, "password": {testPassword}, "rd": {tc.rd}})
		if r.status != 303 || r.location != tc.want {
			t.Errorf("login with rd=%q = %d %q, want 303 to %q", tc.rd, r.status, r.location, tc.want)
		}
	}
	// Signing out: the same.
	c := anyHostClient()
	e.login(c, "bob", "", "/settings")
	if r := e.post(c, "/logout", url0.Values{"rd": {"http://notebook.example.org/"}}); r.status != 303 || r.location != "/login" {
		t.Errorf("POST /logout with rd=http://... = %d %q, want 303 to /login", r.status, r.location)
	}
	if !strings.Contains(e.logs.String(), "redirect target refused") {
		t.Errorf("no log line for the refused downgrade:\n%s", e.logs.String())
	}
}

// TestForwardAuthLegacyDisplayName: a display name stored before
// ValidateDisplayName refused bidi controls and markup (written here
// through the store, as an older version could) reaches apps with those
// characters replaced by U+FFFD; the service refuses to set such a name.
func TestForwardAuthLegacyDisplayName(t *testing.T) {
	e := faSetupRules(t, "host * users *\n")
	_, _, carol, _ := faUsers(t, e)
	ctx := context.Background()
	u, err := e.store.UserByName(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Carol\u202egnp.exe", "<img src=x onerror=alert(1)>"} {
		if _, err := e.svc.SetProfile(ctx, u.ID, mfa.Profile{DisplayName: &name}); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("SetProfile(display name %q) = %v, want ErrInvalid", name, err)
		}
	}
	u.DisplayName = "Carol\u202egnp.exe <b>"
	if err := e.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Second) // past the session cache's TTL
	r := e.auth("/auth/nginx", carol, "https://open.example.org/")
	if got, want := r.header.Values("Remote-Name"), "Carol\ufffdgnp.exe \ufffdb\ufffd"; r.status != 200 || len(got) != 1 || got[0] != want {
		t.Errorf("Remote-Name = %d %q, want 200 %q", r.status, got, want)
	}
}
