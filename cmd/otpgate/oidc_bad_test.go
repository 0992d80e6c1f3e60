package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// unsignedJWT is a JWT with the header and claims given, signed with
// HMAC-SHA256 under key, or alg none without a key.
func unsignedJWT(header, claims string, key []byte) string {
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	if key == nil {
		return s + "."
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return s + "." + enc.EncodeToString(h.Sum(nil))
}

// TestOIDCBadAuthorize: bad authorization requests get the error the
// specifications name, told to the client only when the client and its
// redirect URI are known exactly, and nothing is issued: request objects
// (alg none, HS256 with the client's secret, request_uri), repeated and
// oversized parameters, other response types and modes, no openid scope,
// prompt values that do not go together.
func TestOIDCBadAuthorize(t *testing.T) {
	o, r := aliceApp(t)
	b := newOIDCBrowser(t)
	b.follow(r.start().url, "alice", nil) // signed in: only the request's fault stops a code
	claims := `{"iss":"app","aud":"` + o.url + `","client_id":"app","response_type":"code","redirect_uri":"` + rpRedirect + `","scope":"openid"}`
	base := func() url.Values {
		return url.Values{"client_id": {"app"}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"st"}, "code_challenge": {s256(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	}
	long := strings.Repeat("a", 3000)
	tests := []struct {
		name string
		edit func(q url.Values)
		// want is the error told to the client; "" for an error page.
		want      string
		wantState string
	}{
		{"request object alg none", func(q url.Values) { q.Set("request", unsignedJWT(`{"alg":"none"}`, claims, nil)) }, "request_not_supported", "st"},
		{"request object HS256", func(q url.Values) {
			q.Set("request", unsignedJWT(`{"alg":"HS256","typ":"JWT"}`, claims, []byte(r.conf.ClientSecret)))
		}, "request_not_supported", "st"},
		{"request_uri", func(q url.Values) { q.Set("request_uri", "https://evil.example/req.jwt") }, "request_uri_not_supported", "st"},
		{"scope twice", func(q url.Values) { q["scope"] = []string{"openid", "openid profile"} }, "invalid_request", "st"},
		{"state twice", func(q url.Values) { q["state"] = []string{"a", "b"} }, "invalid_request", ""},
		{"state too long", func(q url.Values) { q.Set("state", long) }, "invalid_request", ""},
		{"nonce too long", func(q url.Values) { q.Set("nonce", long) }, "invalid_request", "st"},
		{"client_id twice", func(q url.Values) { q["client_id"] = []string{"app", "app"} }, "", ""},
		{"redirect_uri twice", func(q url.Values) { q["redirect_uri"] = []string{rpRedirect, rpRedirect} }, "", ""},
		{"redirect_uri too long", func(q url.Values) { q.Set("redirect_uri", rpRedirect+"?"+long) }, "", ""},
		{"not UTF-8", func(q url.Values) { q.Set("login_hint", "\xff\xfe") }, "invalid_request", "st"},
		{"implicit", func(q url.Values) { q.Set("response_type", "id_token token") }, "unsupported_response_type", "st"},
		{"no response_type", func(q url.Values) { q.Del("response_type") }, "invalid_request", "st"},
		{"fragment mode", func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request", "st"},
		{"no openid", func(q url.Values) { q.Set("scope", "profile") }, "invalid_scope", "st"},
		{"prompt none and login", func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request", "st"},
		{"bad max_age", func(q url.Values) { q.Set("max_age", "-5") }, "invalid_request", "st"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := base()
			tc.edit(q)
			a := b.follow(o.url+"/oidc/authorize?"+q.Encode(), "", nil)
			if tc.want == "" {
				if a.back() || a.status != http.StatusBadRequest || !strings.Contains(a.page, "invalid_request") {
					t.Errorf("%d %v, want an error page and no redirect\n%s", a.status, a.Values, a.page)
				}
				return
			}
			if !a.back() || a.Get("error") != tc.want || a.Get("code") != "" || a.Get("state") != tc.wantState {
				t.Errorf("%d %v, want error %s and state %q told to the client\n%s", a.status, a.Values, tc.want, tc.wantState, a.page)
			}
		})
	}
	// Too many parameters, and a body too large.
	q := base()
	for i := range 40 {
		q.Set("x"+strings.Repeat("y", i), "1")
	}
	if a := b.follow(o.url+"/oidc/authorize?"+q.Encode(), "", nil); a.Get("error") != "invalid_request" {
		t.Errorf("40 parameters: %d %v", a.status, a.Values)
	}
	resp, _ := fetch(t, b.c, "POST", o.url+"/oidc/authorize", url.Values{"client_id": {"app"}, "x": {strings.Repeat("z", 20000)}}, nil)
	if resp.StatusCode != 400 {
		t.Errorf("a 20 kB body: %d, want 400", resp.StatusCode)
	}
}

// TestOIDCBadToken: bad token requests are refused with the error the
// specifications name and issue nothing; a code_verifier of the wrong
// length or characters is refused before the code is looked at, so the
// code is still good with the right one.
func TestOIDCBadToken(t *testing.T) {
	_, r := aliceApp(t)
	secret := r.conf.ClientSecret
	b := newOIDCBrowser(t)
	f, code := r.signIn(b, "alice")
	good := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}}
	}
	tests := []struct {
		name string
		edit func(q url.Values)
		want string
	}{
		{"verifier too short", func(q url.Values) { q.Set("code_verifier", f.verifier[:42]) }, "invalid_request"},
		{"verifier too long", func(q url.Values) { q.Set("code_verifier", strings.Repeat("a", 129)) }, "invalid_request"},
		{"verifier with a space", func(q url.Values) { q.Set("code_verifier", f.verifier[:42]+" ") }, "invalid_request"},
		{"code twice", func(q url.Values) { q["code"] = []string{code, code} }, "invalid_request"},
		{"password grant", func(q url.Values) { q.Set("grant_type", "password") }, "unsupported_grant_type"},
		{"client credentials", func(q url.Values) { q.Set("grant_type", "client_credentials") }, "unsupported_grant_type"},
		{"jwt bearer", func(q url.Values) { q.Set("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer") }, "unsupported_grant_type"},
		{"no grant", func(q url.Values) { q.Del("grant_type") }, "invalid_request"},
		{"client assertion", func(q url.Values) {
			q.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			q.Set("client_assertion", unsignedJWT(`{"alg":"none"}`, `{"iss":"app","sub":"app"}`, nil))
		}, "invalid_client"},
	}
	for _, tc := range tests {
		q := good()
		tc.edit(q)
		status, v := tokenRequest(t, r.conf.Endpoint.TokenURL, q, "app", secret)
		if status/100 != 4 || v["error"] != tc.want || v["access_token"] != nil {
			t.Errorf("%s: %d %v, want %s and no token", tc.name, status, v, tc.want)
		}
	}
	// Parameters in the URL, and GET.
	status, v := tokenRequest(t, r.conf.Endpoint.TokenURL+"?code="+url.QueryEscape(code), url.Values{"grant_type": {"authorization_code"}}, "app", secret)
	if status != 400 || v["error"] != "invalid_request" {
		t.Errorf("parameters in the URL: %d %v", status, v)
	}
	if resp, _ := fetch(t, http.DefaultClient, "GET", r.conf.Endpoint.TokenURL+"?"+good().Encode(), nil, nil); resp.StatusCode != 400 {
		t.Errorf("GET on the token endpoint: %d", resp.StatusCode)
	}
	if _, err := r.exchange(f, code); err != nil {
		t.Errorf("the code after refusals before it was looked at: %v", err)
	}
}
