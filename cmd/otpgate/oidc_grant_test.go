package main

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestOIDCCodeReuse: a code is redeemed once; presented again it is
// refused, the access token its first redemption gave stops working
// (RFC 6749 §4.1.2), and the audit log says so.
func TestOIDCCodeReuse(t *testing.T) {
	o, r := aliceApp(t)
	secret := r.conf.ClientSecret
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := r.userinfo(tok.AccessToken); status != 200 {
		t.Fatalf("userinfo = %d", status)
	}
	if _, err := r.exchange(f, code); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("second redemption = %v, want invalid_grant", err)
	}
	if status, _ := r.userinfo(tok.AccessToken); status == 200 {
		t.Errorf("the first redemption's access token still works after the code was reused")
	}
	out := o.audit("code redeemed", "code reused")
	for _, want := range []string{"code redeemed", "code reused"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, code) || strings.Contains(out, secret) {
		t.Errorf("audit log holds a code or the secret")
	}
}

// TestOIDCRefreshRotation: with offline_access, each refresh gives a new
// refresh token and the used one stops working; a reused one is refused
// and revokes its family: the newest refresh token and the access tokens
// too. Without offline_access there is no refresh token.
func TestOIDCRefreshRotation(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice")
	secret := o.addClient("hub", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "hub", secret, "openid", "profile", "offline_access")
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	rt1 := tok.RefreshToken
	if len(rt1) != 43 {
		t.Fatalf("refresh token %d characters, want 43 (32 random bytes)", len(rt1))
	}
	refresh := func(rt string) (int, map[string]any) {
		return tokenRequest(t, r.conf.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "hub", secret)
	}
	status, v := refresh(rt1)
	rt2, _ := v["refresh_token"].(string)
	if status != 200 || rt2 == "" || rt2 == rt1 || v["id_token"] == nil {
		t.Fatalf("refresh = %d %v", status, v)
	}
	access2, _ := v["access_token"].(string)
	if _, err := r.verifier.Verify(context.Background(), v["id_token"].(string)); err != nil {
		t.Errorf("refreshed ID token: %v", err)
	}
	status, v = refresh(rt2)
	rt3, _ := v["refresh_token"].(string)
	if status != 200 || rt3 == "" {
		t.Fatalf("second refresh = %d %v", status, v)
	}
	// rt1 again: someone has a copy.
	if status, v = refresh(rt1); status != 400 || v["error"] != "invalid_grant" {
		t.Errorf("reused refresh token = %d %v, want 400 invalid_grant", status, v)
	}
	if status, v = refresh(rt3); status != 400 || v["error"] != "invalid_grant" {
		t.Errorf("the family's newest token after a reuse = %d %v, want invalid_grant", status, v)
	}
	if status, _ := r.userinfo(access2); status == 200 {
		t.Errorf("an access token of the revoked family still works")
	}
	if out := o.audit("refresh token reused", "refresh token rotated"); !strings.Contains(out, "refresh token reused") || !strings.Contains(out, "refresh token rotated") {
		t.Errorf("audit log lacks the rotation or the reuse:\n%s", out)
	}

	// Without offline_access: no refresh token.
	plain := newRP(t, o, "hub", secret, "openid")
	f, code = plain.signIn(b, "alice")
	if tok, err := plain.exchange(f, code); err != nil || tok.RefreshToken != "" {
		t.Errorf("without offline_access: %v, refresh token %q", err, tok.RefreshToken)
	}
}

// TestOIDCClientSecret: a confidential client's secret is checked with
// client_secret_basic and client_secret_post; a wrong one, or none, gets
// invalid_client and nothing, and is in the audit log.
func TestOIDCClientSecret(t *testing.T) {
	o, r := aliceApp(t)
	secret := r.conf.ClientSecret
	b := newOIDCBrowser(t)
	for _, tc := range []struct {
		name         string
		basic        bool
		secret       string
		wantStatuses []int
	}{
		{"basic, wrong", true, secret + "x", []int{401}},
		{"post, wrong", false, "wrong", []int{400, 401}},
		{"post, none", false, "", []int{400, 401}},
		{"basic, right", true, secret, []int{200}},
		{"post, right", false, secret, []int{200}},
	} {
		f, code := r.signIn(b, "alice")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}}
		user := ""
		if tc.basic {
			user = "app"
		} else {
			form.Set("client_id", "app")
			if tc.secret != "" {
				form.Set("client_secret", tc.secret)
			}
		}
		status, v := tokenRequest(t, r.conf.Endpoint.TokenURL, form, user, tc.secret)
		ok := false
		for _, s := range tc.wantStatuses {
			ok = ok || s == status
		}
		if !ok {
			t.Errorf("%s: status %d %v, want %v", tc.name, status, v, tc.wantStatuses)
		}
		if tc.wantStatuses[0] != 200 && (v["error"] != "invalid_client" || v["access_token"] != nil) {
			t.Errorf("%s: %v, want invalid_client and no token", tc.name, v)
		}
	}
	// Both methods at once.
	f, code := r.signIn(b, "alice")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {f.verifier},
		"client_id": {"app"}, "client_secret": {secret}}
	if status, v := tokenRequest(t, r.conf.Endpoint.TokenURL, form, "app", secret); status != 400 || v["access_token"] != nil {
		t.Errorf("basic and post together = %d %v, want a refusal", status, v)
	}
	if out := o.audit("client secret wrong"); !regexp.MustCompile(`client secret wrong, client app`).MatchString(out) {
		t.Errorf("audit log lacks the wrong secret:\n%s", out)
	}
}

// TestOIDCRedirectURI: a redirect_uri not registered exactly (another
// path, an added query, another port, a trailing slash) or an unknown
// client is never redirected to: an error page, and no code; nor is a code
// redeemed with another redirect_uri than its request's.
func TestOIDCRedirectURI(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice")
	secret := o.addClient("app", "--redirect-uri", rpRedirect)
	o.addClient("other", "--redirect-uri", "http://127.0.0.1:9/other")
	r := newRP(t, o, "app", secret)
	b := newOIDCBrowser(t)
	b.follow(r.start().url, "alice", nil) // signed in: nothing but the URI stops a code
	for _, tc := range []struct{ name, client, uri string }{
		{"other path", "app", "http://127.0.0.1:9/callback2"},
		{"added query", "app", rpRedirect + "?x=1"},
		{"trailing slash", "app", rpRedirect + "/"},
		{"other port", "app", "http://127.0.0.1:10/callback"},
		{"another client's", "app", "http://127.0.0.1:9/other"},
		{"unknown client", "nobody", rpRedirect},
		{"no client", "", rpRedirect},
	} {
		q := url.Values{"client_id": {tc.client}, "redirect_uri": {tc.uri}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"s"}, "code_challenge": {s256(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		a := b.follow(o.url+"/oidc/authorize?"+q.Encode(), "", nil)
		if a.back() || a.status != 400 || !strings.Contains(a.page, "invalid_request") {
			t.Errorf("%s: %d %v, want an error page\n%s", tc.name, a.status, a.Values, a.page)
		}
	}
	f, code := r.signIn(b, "alice")
	r2 := *r
	r2.conf.RedirectURL = "http://127.0.0.1:9/other"
	if _, err := r2.exchange(f, code); err == nil {
		t.Errorf("a code redeemed with another redirect_uri")
	}
}

// TestOIDCClientRemoved: `otpgate client remove` on a running server ends
// what the client holds at once: its access and refresh tokens stop
// working, a code issued before is refused, and a new authorization
// request is not answered to its redirect URI.
func TestOIDCClientRemoved(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice")
	secret := o.addClient("hub", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "hub", secret, "openid", "offline_access")
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	tok, err := r.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := r.userinfo(tok.AccessToken); status != 200 {
		t.Fatalf("userinfo before the removal = %d, want 200", status)
	}
	f2, code2 := r.signIn(b, "alice")

	o.cmd("", "client", "remove", "hub")
	if status, _ := r.userinfo(tok.AccessToken); status == 200 {
		t.Errorf("the removed client's access token still works")
	}
	if status, v := tokenRequest(t, r.conf.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		"hub", secret); status == 200 || v["access_token"] != nil {
		t.Errorf("the removed client's refresh token = %d %v, want refused", status, v)
	}
	if _, err := r.exchange(f2, code2); err == nil {
		t.Errorf("a code issued to the removed client was redeemed")
	}
	if a := b.follow(r.start().url, "alice", nil); a.back() {
		t.Errorf("an authorization request of the removed client was answered at its redirect URI: %v", a.Values)
	}
}
