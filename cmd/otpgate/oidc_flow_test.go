package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/oidc"
)

// TestOIDCCodeFlow: a confidential client's whole code flow through
// otpgate's sign-in (password, then the code): the ID token verifies with
// go-oidc (signature by the published RS256 key, issuer, audience, expiry,
// nonce) and carries the claims of the scopes, a second factor's amr and
// acr, auth_time and sid; userinfo answers the same claims; a verifier
// for another audience refuses the token; a second sign-in of the same
// browser is single sign-on (no form) with the same sub and sid.
func TestOIDCCodeFlow(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice", "--display-name", "Alice Liddell", "--groups", "hpc,staff", "--mail", "alice@example.org")
	o.enrol("alice")
	secret := o.addClient("nextcloud", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "nextcloud", secret)
	b := newOIDCBrowser(t)

	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatalf("exchange = %v", err)
	}
	idt, claims := r.idToken(f, tok)
	if len(idt.Subject) != 32 || strings.Contains(idt.Subject, "alice") {
		t.Errorf("sub = %q, want 32 hex digits that do not name the user", idt.Subject)
	}
	want := map[string]any{"preferred_username": "alice", "name": "Alice Liddell", "email": "alice@example.org",
		"email_verified": false, "acr": oidc.ACRSecondFactor, "azp": "nextcloud"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("ID token claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if g, _ := claims["groups"].([]any); len(g) != 2 || g[0] != "hpc" || g[1] != "staff" {
		t.Errorf("groups = %v, want [hpc staff]", claims["groups"])
	}
	if amr, _ := claims["amr"].([]any); len(amr) != 2 || amr[0] != "pwd" || amr[1] != "otp" {
		t.Errorf("amr = %v, want [pwd otp]", claims["amr"])
	}
	sid, _ := claims["sid"].(string)
	if sid == "" || claims["auth_time"] == nil {
		t.Errorf("sid %q, auth_time %v: want both", sid, claims["auth_time"])
	}
	if _, ok := claims["nonce"]; !ok {
		t.Errorf("no nonce in the ID token")
	}
	raw := tok.Extra("id_token").(string)
	if _, err := r.provider.Verifier(&gooidc.Config{ClientID: "other-app"}).Verify(context.Background(), raw); err == nil {
		t.Errorf("an ID token for nextcloud verified for another audience")
	}
	// The header names one of the published keys, RS256 by default.
	if !regexp.MustCompile(`^eyJ`).MatchString(raw) {
		t.Fatalf("ID token is not a JWS: %q", raw)
	}

	status, info := r.userinfo(tok.AccessToken)
	if status != 200 || info["sub"] != idt.Subject || info["preferred_username"] != "alice" || info["email"] != "alice@example.org" {
		t.Errorf("userinfo = %d %v", status, info)
	}
	if g, _ := info["groups"].([]any); len(g) != 2 {
		t.Errorf("userinfo groups = %v", info["groups"])
	}
	if tok.RefreshToken != "" {
		t.Errorf("a refresh token without offline_access")
	}
	if s, _ := tok.Extra("scope").(string); !slices.Contains(strings.Fields(s), "groups") {
		t.Errorf("token response scope = %q", s)
	}

	// Single sign-on: the same browser gets a code without a form.
	f2 := r.start()
	a := b.follow(f2.url, "", nil)
	if !a.back() || a.Get("code") == "" {
		t.Fatalf("second sign-in of a signed-in browser: %d %v\n%s", a.status, a.Values, a.page)
	}
	tok2, err := r.exchange(f2, a.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idt2, claims2 := r.idToken(f2, tok2)
	if idt2.Subject != idt.Subject || claims2["sid"] != sid {
		t.Errorf("single sign-on: sub %q sid %v, want %q %q", idt2.Subject, claims2["sid"], idt.Subject, sid)
	}
	// The tokens and codes never reach the log.
	logs := o.log()
	for _, s := range []string{code, tok.AccessToken, raw, a.Get("code")} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a code or token")
		}
	}
}

// TestOIDCContinuePage: after one of the sign-in forms (a browser says
// Sec-Fetch-Site: same-origin), the way back to the application is a page
// that goes on by itself (meta refresh) and links there, not a redirect:
// browsers hold the redirects after a form to its CSP form-action.
func TestOIDCContinuePage(t *testing.T) {
	_, r := aliceApp(t)
	b := newOIDCBrowser(t)
	f := r.start()
	resp, body := fetch(t, b.c, "GET", f.url, nil, nil)
	form, ok := findForm(body, resp.Request.URL, "password")
	if !ok {
		t.Fatalf("no sign-in form:\n%s", body)
	}
	form.values.Set("username", "alice")
	form.values.Set("password", "alice password")
	resp, body = fetch(t, b.c, "POST", form.action, form.values, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("after the form: %d, want a page that goes on by itself\n%s", resp.StatusCode, body)
	}
	to, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil || to.Host != rpHost || to.Query().Get("state") != f.state || to.Query().Get("code") == "" {
		t.Fatalf("the page goes to %q", m[1])
	}
	if !strings.Contains(body, `id="continue"`) || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the page lacks its link, no-store or no-referrer: %v", resp.Header)
	}
	if _, err := r.exchange(f, to.Query().Get("code")); err != nil {
		t.Errorf("the page's code = %v", err)
	}
}

// TestOIDCPKCE: a public client must send PKCE S256 (none or plain is
// refused at the authorization endpoint, told to the client), and its code
// is redeemed only with the right code_verifier; a confidential client may
// skip PKCE, but a verifier it did not announce is refused.
func TestOIDCPKCE(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice")
	o.addClient("spa", "--public", "--redirect-uri", rpRedirect)
	secret := o.addClient("web", "--redirect-uri", rpRedirect)
	pub := newRP(t, o, "spa", "")
	b := newOIDCBrowser(t)

	for _, tc := range []struct {
		name   string
		params url.Values
	}{
		{"no PKCE", url.Values{}},
		{"plain", url.Values{"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"plain"}}},
		{"no method", url.Values{"code_challenge": {s256(oauth2.GenerateVerifier())}}},
		{"short challenge", url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}}},
	} {
		q := url.Values{"client_id": {"spa"}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
		for k, v := range tc.params {
			q[k] = v
		}
		a := b.follow(o.url+"/oidc/authorize?"+q.Encode(), "", nil)
		if !a.back() || a.Get("error") != "invalid_request" || a.Get("state") != "s1" || a.Get("code") != "" {
			t.Errorf("%s: %d %v, want invalid_request told to the client", tc.name, a.status, a.Values)
		}
	}

	f, code := pub.signIn(b, "alice")
	for _, tc := range []struct{ name, verifier string }{
		{"missing", ""},
		{"wrong", oauth2.GenerateVerifier()},
	} {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "client_id": {"spa"}}
		if tc.verifier != "" {
			form.Set("code_verifier", tc.verifier)
		}
		status, v := tokenRequest(t, pub.conf.Endpoint.TokenURL, form, "", "")
		if status != 400 || v["access_token"] != nil || v["error"] == nil {
			t.Errorf("%s code_verifier: %d %v, want a refusal", tc.name, status, v)
		}
		// A refused redemption spends the code: sign in again.
		f, code = pub.signIn(b, "alice")
	}
	if _, err := pub.exchange(f, code); err != nil {
		t.Errorf("right code_verifier: %v", err)
	}

	conf := newRP(t, o, "web", secret)
	f = conf.start()
	q, _ := url.Parse(f.url)
	qs := q.Query()
	qs.Del("code_challenge")
	qs.Del("code_challenge_method")
	a := b.follow(o.url+"/oidc/authorize?"+qs.Encode(), "", nil)
	if !a.back() || a.Get("code") == "" {
		t.Fatalf("confidential client without PKCE: %v\n%s", a.Values, a.page)
	}
	if _, err := conf.conf.Exchange(context.Background(), a.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Errorf("a code_verifier without a challenge was taken")
	}
	a = b.follow(o.url+"/oidc/authorize?"+qs.Encode(), "", nil)
	if _, err := conf.conf.Exchange(context.Background(), a.Get("code")); err != nil {
		t.Errorf("confidential client without PKCE: exchange = %v", err)
	}
}
