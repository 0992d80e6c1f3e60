package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// logoutReceiver is a relying party's back-channel logout endpoint: it
// takes every logout token posted.
type logoutReceiver struct {
	*httptest.Server
	tokens chan string
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	r := &logoutReceiver{tokens: make(chan string, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != "POST" || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		req.ParseForm()
		r.tokens <- req.PostForm.Get("logout_token")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for a logout token.
func (r *logoutReceiver) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-r.tokens:
		return tok
	case <-time.After(10 * time.Second):
		t.Fatal("no logout token delivered")
	}
	return ""
}

// checkLogoutToken verifies a logout token as Back-Channel Logout 1.0 §2.6
// asks of a relying party: signed by a published key, typed logout+jwt,
// the issuer, the audience, iat, exp, jti, the event, sid and sub, and no
// nonce.
func checkLogoutToken(t *testing.T, r *rp, tok, sub, sid string) {
	t.Helper()
	ks := gooidc.NewRemoteKeySet(context.Background(), r.o.url+"/oidc/keys")
	payload, err := ks.VerifySignature(context.Background(), tok)
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var header map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	json.Unmarshal(h, &header)
	if header["typ"] != "logout+jwt" || header["alg"] != "RS256" || header["kid"] == nil {
		t.Errorf("logout token header = %v", header)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	events, _ := c["events"].(map[string]any)
	if c["iss"] != r.o.url || c["aud"] != r.conf.ClientID || c["sub"] != sub || c["sid"] != sid || c["jti"] == nil ||
		iat > now+5 || exp < now || events == nil || events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Errorf("logout token claims = %v (want sub %s, sid %s)", c, sub, sid)
	}
	if _, ok := c["nonce"]; ok {
		t.Errorf("a logout token with a nonce")
	}
}

// signedIn reports whether b's session still serves the relying party
// without a form.
func signedIn(r *rp, b *oidcBrowser) bool {
	a := b.follow(r.start().url, "", nil)
	return a.back() && a.Get("code") != ""
}

// TestOIDCEndSession: RP-initiated logout. A tampered id_token_hint and a
// post_logout_redirect_uri not registered exactly are refused and end
// nothing; without a hint, the user is asked (a GET never signs out), and
// signing out there returns to the application; with the hint of the
// browser's session, the session ends at once, for every application, its
// tokens are revoked, and the applications with a back-channel logout URI
// are sent a logout token.
func TestOIDCEndSession(t *testing.T) {
	bcl := newLogoutReceiver(t)
	o := startOIDC(t)
	o.addUser("alice")
	const bye = "http://127.0.0.1:9/bye"
	secret := o.addClient("app", "--redirect-uri", rpRedirect, "--post-logout-redirect-uri", bye, "--backchannel-logout-uri", bcl.URL+"/bcl")
	other := o.addClient("wiki", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "app", secret)
	wiki := newRP(t, o, "wiki", other)
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	idt, claims := r.idToken(f, tok)
	hint := tok.Extra("id_token").(string)
	endSession := func(q url.Values) answer { return b.follow(o.url+"/oidc/end_session?"+q.Encode(), "", nil) }

	parts := strings.Split(hint, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"tampered signature", url.Values{"id_token_hint": {parts[0] + "." + parts[1] + "." + string(sig)}, "post_logout_redirect_uri": {bye}}},
		{"tampered claims", url.Values{"id_token_hint": {parts[0] + "." + strings.TrimRight(base64.RawURLEncoding.EncodeToString([]byte(
			strings.Replace(string(mustDecode(t, parts[1])), "\"sub\"", "\"sub2\"", 1))), "=") + "." + parts[2]}}},
		{"alg none", url.Values{"id_token_hint": {unsignedJWT(`{"alg":"none"}`, string(mustDecode(t, parts[1])), nil)}}},
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:9/evil"}}},
		{"unknown client", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {bye}}},
	} {
		if a := endSession(tc.q); a.back() || a.status != 400 {
			t.Errorf("%s: %d %v, want 400 and no redirect\n%s", tc.name, a.status, a.Values, a.page)
		}
	}
	if !signedIn(r, b) {
		t.Fatalf("a refused end_session ended the session")
	}

	// No hint: a page asks, and a GET alone signs no one out.
	a := endSession(url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {bye}, "state": {"s1"}})
	form, ok := findForm(a.page, a.at, "ticket")
	if a.status != 200 || !ok {
		t.Fatalf("end_session without a hint: %d, want the confirmation page\n%s", a.status, a.page)
	}
	if !signedIn(r, b) {
		t.Fatalf("end_session without a hint signed out without asking")
	}
	resp, _ := fetch(t, b.c, "POST", form.action, form.values, nil)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Path != "/bye" || loc.Query().Get("state") != "s1" {
		t.Errorf("confirmed sign-out: %d to %v, want the post-logout URI with the state", resp.StatusCode, loc)
	}
	if signedIn(r, b) || signedIn(wiki, b) {
		t.Errorf("still signed in after the confirmed sign-out")
	}
	checkLogoutToken(t, r, bcl.next(t), idt.Subject, claims["sid"].(string))

	// With the session's hint: no page, and every application's session ends.
	f, code = r.signIn(b, "alice")
	if tok, err = r.exchange(f, code); err != nil {
		t.Fatal(err)
	}
	_, claims = r.idToken(f, tok)
	wiki.signIn(b, "alice")
	a = endSession(url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {bye}, "state": {"s2"}})
	if !a.back() || a.at.Path != "/bye" || a.Get("state") != "s2" {
		t.Fatalf("end_session with the session's hint: %d %v\n%s", a.status, a.Values, a.page)
	}
	if signedIn(wiki, b) {
		t.Errorf("another application's session survived the sign-out")
	}
	if status, _ := r.userinfo(tok.AccessToken); status == 200 {
		t.Errorf("the session's access token still works after the sign-out")
	}
	checkLogoutToken(t, r, bcl.next(t), idt.Subject, claims["sid"].(string))

	// The hint of another session (signed out already) asks first.
	b2 := newOIDCBrowser(t)
	r.signIn(b2, "alice")
	a = b2.follow(o.url+"/oidc/end_session?"+url.Values{"id_token_hint": {hint}}.Encode(), "", nil)
	if _, ok := findForm(a.page, a.at, "ticket"); a.status != 200 || !ok || !signedIn(r, b2) {
		t.Errorf("the hint of another session: %d, want the confirmation and the session kept", a.status)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOIDCBackChannelLogout: the other ways a session ends tell the
// applications too: the sign-out page, signing out everywhere, and the
// operator disabling the user (a command of its own process, with the
// server's -base-url).
func TestOIDCBackChannelLogout(t *testing.T) {
	bcl := newLogoutReceiver(t)
	addr := freeAddr(t)
	dir := t.TempDir() + "/data"
	o := startOIDCOn(t, []string{"-data-dir", dir, "-base-url", "http://" + addr}, "-addr", addr)
	o.addUser("alice")
	secret := o.addClient("app", "--redirect-uri", rpRedirect, "--backchannel-logout-uri", bcl.URL+"/bcl")
	r := newRP(t, o, "app", secret)
	sidOf := func(b *oidcBrowser) (string, string) {
		f, code := r.signIn(b, "alice")
		tok, err := r.exchange(f, code)
		if err != nil {
			t.Fatal(err)
		}
		idt, claims := r.idToken(f, tok)
		return idt.Subject, claims["sid"].(string)
	}
	for _, tc := range []struct {
		name string
		end  func(b *oidcBrowser)
	}{
		{"sign-out page", func(b *oidcBrowser) { fetch(t, b.c, "POST", o.url+"/logout", url.Values{}, nil) }},
		{"sign out everywhere", func(b *oidcBrowser) { fetch(t, b.c, "POST", o.url+"/logout/all", url.Values{}, nil) }},
		{"user disabled", func(*oidcBrowser) {
			o.cmd("", "user", "disable", "alice")
			o.cmd("", "user", "enable", "alice")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newOIDCBrowser(t)
			sub, sid := sidOf(b)
			tc.end(b)
			checkLogoutToken(t, r, bcl.next(t), sub, sid)
			if signedIn(r, b) {
				t.Errorf("still signed in")
			}
		})
	}
}
