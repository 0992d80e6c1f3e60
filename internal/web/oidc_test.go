package web_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// oidcEnv is a server with the OpenID provider and a client "app".
func oidcEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t, setup{oidc: true})
	secret, err := oidc.AddClient(context.Background(), e.store.(oidcstate.Store), oidc.ClientSpec{Name: "app",
		RedirectURIs: []string{"https://app.example.org/cb"}, PostLogoutRedirectURIs: []string{"https://app.example.org/bye"}}, rand.Reader, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e, secret
}

// authorize starts an authorization request in c and returns where the
// provider sent it: the bridge.
func (e *env) authorize(c *http.Client, extra ...oauth2.AuthCodeOption) string {
	e.t.Helper()
	conf := oauth2.Config{ClientID: "app", RedirectURL: "https://app.example.org/cb", Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oidc/authorize"}}
	u, _ := url.Parse(conf.AuthCodeURL("st", append(extra, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))...))
	r := e.get(c, u.RequestURI())
	loc, err := url.Parse(r.location)
	if r.status != http.StatusFound || err != nil || loc.Path != oidc.LoginPath {
		e.t.Fatalf("authorize = %d to %q\n%s", r.status, r.location, r.body)
	}
	return loc.RequestURI()
}

// TestOIDCBridge: the bridge sends a browser without a session to the
// sign-in form (fresh=1, coming back to it); once signed in, after the
// form, it answers with a page that goes to the application by itself
// (a redirect would be held to the form's CSP), and a direct visit with a
// redirect; the sign-in form shows over a session with fresh=1 only.
func TestOIDCBridge(t *testing.T) {
	e, _ := oidcEnv(t)
	e.addUser("alice")
	c := e.client()
	bridge := e.authorize(c)
	r := e.get(c, bridge)
	if r.status != http.StatusSeeOther || r.location != "/login?fresh=1&next="+url.QueryEscape(bridge) {
		t.Fatalf("bridge without a session = %d to %q", r.status, r.location)
	}
	r = e.post(c, "/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {bridge}})
	if r.status != http.StatusSeeOther || r.location != bridge {
		t.Fatalf("sign-in = %d to %q, want back to the bridge", r.status, r.location)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+bridge, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	r = e.do(c, req)
	if r.status != 200 || !strings.Contains(r.body, `<meta http-equiv="refresh" content="0;url=https://app.example.org/cb?code=`) ||
		!strings.Contains(r.body, "state=st") || !strings.Contains(r.header.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Errorf("bridge after the form = %d\n%s", r.status, r.body)
	}
	r = e.get(c, e.authorize(c))
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, "https://app.example.org/cb?code=") {
		t.Errorf("bridge with a session = %d to %q", r.status, r.location)
	}
	if r := e.get(c, "/login?next=%2Fsettings"); r.status != http.StatusSeeOther {
		t.Errorf("/login with a session = %d, want a redirect", r.status)
	}
	if r := e.get(c, "/login?fresh=1&next=%2Fsettings"); r.status != 200 || !strings.Contains(r.body, `name="password"`) {
		t.Errorf("/login?fresh=1 with a session = %d, want the form", r.status)
	}
}

// TestOIDCBridgeBadLinks: a bridge link of no request (made up, repeated,
// too long, used) and a sign-out link of no valid ticket get a page
// saying so, and send the browser nowhere; the sign-out form takes no
// post from another site.
func TestOIDCBridgeBadLinks(t *testing.T) {
	e, _ := oidcEnv(t)
	e.addUser("alice")
	c := e.client()
	for _, path := range []string{oidc.LoginPath, oidc.LoginPath + "?id=x", oidc.LoginPath + "?id=" + strings.Repeat("A", 43),
		oidc.LoginPath + "?id=a&id=b", oidc.LoginPath + "?id=" + strings.Repeat("A", 100)} {
		if r := e.get(c, path); r.status != http.StatusBadRequest || r.location != "" || !strings.Contains(r.body, "Sign-in request expired") {
			t.Errorf("GET %s = %d %q", path, r.status, r.location)
		}
	}
	for _, path := range []string{oidc.LogoutPath, oidc.LogoutPath + "?ticket=abc", oidc.LogoutPath + "?ticket=" + strings.Repeat("A", 2000)} {
		if r := e.get(c, path); r.status != http.StatusBadRequest || r.location != "" || !strings.Contains(r.body, "Sign-out link expired") {
			t.Errorf("GET %s = %d %q", path, r.status, r.location)
		}
	}
	e.login(c, "alice", "", "/settings")
	req, _ := http.NewRequest("POST", e.srv.URL+oidc.LogoutPath, strings.NewReader("ticket=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := e.do(c, req); r.status != http.StatusForbidden {
		t.Errorf("a cross-site post to the sign-out = %d, want 403", r.status)
	}
	if r := e.get(c, "/settings"); r.status != 200 {
		t.Errorf("signed out by a refused post: %d", r.status)
	}
}

// TestOIDCLogoutPage: an end_session request without proof lands on a
// page that asks (the session stays until the user confirms), and the
// confirmation ends the session and goes to the registered page with the
// state.
func TestOIDCLogoutPage(t *testing.T) {
	e, _ := oidcEnv(t)
	e.addUser("alice")
	c := e.client()
	e.login(c, "alice", "", "/settings")
	r := e.get(c, "/oidc/end_session?client_id=app&post_logout_redirect_uri="+url.QueryEscape("https://app.example.org/bye")+"&state=s9")
	loc, _ := url.Parse(r.location)
	if r.status != http.StatusFound || loc == nil || loc.Path != oidc.LogoutPath {
		t.Fatalf("end_session = %d to %q", r.status, r.location)
	}
	r = e.get(c, loc.RequestURI())
	if r.status != 200 || !strings.Contains(r.body, `name="ticket"`) {
		t.Fatalf("sign-out page = %d\n%s", r.status, r.body)
	}
	if r := e.get(c, "/settings"); r.status != 200 {
		t.Fatalf("the sign-out page alone ended the session: %d", r.status)
	}
	r = e.post(c, oidc.LogoutPath, url.Values{"ticket": {loc.Query().Get("ticket")}})
	if r.status != 200 || !strings.Contains(r.body, `content="0;url=https://app.example.org/bye?state=s9"`) {
		t.Errorf("confirmed sign-out = %d\n%s", r.status, r.body)
	}
	if r := e.get(c, "/settings"); r.status != http.StatusSeeOther {
		t.Errorf("still signed in after the sign-out: %d", r.status)
	}
}
