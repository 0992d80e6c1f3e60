package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// oidcFlow is a relying party of one provider, as lean as the benchmarks
// need: the authorization code flow with PKCE (S256) and
// client_secret_basic, userinfo, and the refresh grant, by hand over
// net/http so that every request is one the benchmark counts.
type oidcFlow struct {
	issuer, authURL, tokenURL, userinfoURL string
	client, secret, redirectURI            string
	// scope is the scope requested.
	scope string
	// user is the preferred_username userinfo must name.
	user string
	// authExtra are parameters added to every authorization request.
	authExtra map[string]string
	// http carries every request; its connections are kept alive.
	http *http.Client
}

// oidcTokens is a token endpoint's answer.
type oidcTokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// discover reads issuer's discovery document through c.
func discover(t testing.TB, issuer string, c *http.Client) oidcFlow {
	t.Helper()
	r, err := c.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var d struct {
		Issuer   string `json:"issuer"`
		Auth     string `json:"authorization_endpoint"`
		Token    string `json:"token_endpoint"`
		Userinfo string `json:"userinfo_endpoint"`
	}
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil || r.StatusCode != 200 {
		t.Fatalf("discovery of %s = %d, %v", issuer, r.StatusCode, err)
	}
	if d.Issuer != issuer || d.Auth == "" || d.Token == "" || d.Userinfo == "" {
		t.Fatalf("discovery of %s = %+v, want its issuer and three endpoints", issuer, d)
	}
	return oidcFlow{issuer: d.Issuer, authURL: d.Auth, tokenURL: d.Token, userinfoURL: d.Userinfo,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

// random returns n random bytes in unpadded base64url.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// code sends an authorization request with the browser session of
// session (its cookie jar), follows the provider's redirects on its own
// origin, and returns the code of the redirect to the client, with the
// PKCE verifier it was asked with. No page may be shown on the way.
func (f *oidcFlow) code(t testing.TB, session *http.Client) (code, verifier string) {
	t.Helper()
	verifier = random(32)
	sum := sha256.Sum256([]byte(verifier))
	state := random(12)
	q := url.Values{
		"response_type": {"code"}, "client_id": {f.client}, "redirect_uri": {f.redirectURI}, "scope": {f.scope},
		"state": {state}, "nonce": {random(12)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	for k, v := range f.authExtra {
		q.Set(k, v)
	}
	c := *session
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 5 || strings.HasPrefix(req.URL.String(), f.redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	r, err := c.Get(f.authURL + "?" + q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	loc, err := r.Location()
	if err != nil || !strings.HasPrefix(loc.String(), f.redirectURI) {
		t.Fatalf("authorize with a session: %d from %s, Location %v, want a redirect to %s\n%.500s", r.StatusCode, r.Request.URL, loc, f.redirectURI, body)
	}
	got := loc.Query()
	if got.Get("state") != state || got.Get("code") == "" {
		t.Fatalf("authorize: redirect %s, want state %s and a code", loc, state)
	}
	return got.Get("code"), verifier
}

// token posts a grant to the token endpoint with client_secret_basic and
// returns the tokens, which must include an access token and, for a code,
// an ID token.
func (f *oidcFlow) token(t testing.TB, grant url.Values) oidcTokens {
	t.Helper()
	req, _ := http.NewRequest("POST", f.tokenURL, strings.NewReader(grant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: the client ID and secret are form-encoded first.
	req.SetBasicAuth(url.QueryEscape(f.client), url.QueryEscape(f.secret))
	r, err := f.http.Do(req)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	var tok oidcTokens
	if r.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" ||
		(grant.Get("grant_type") == "authorization_code" && tok.IDToken == "") {
		t.Fatalf("token (%s) = %d %.500s", grant.Get("grant_type"), r.StatusCode, body)
	}
	return tok
}

// exchange redeems a code.
func (f *oidcFlow) exchange(t testing.TB, code, verifier string) oidcTokens {
	t.Helper()
	return f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirectURI}, "code_verifier": {verifier}})
}

// refresh redeems a refresh token and returns the tokens, whose refresh
// token must be a new one.
func (f *oidcFlow) refresh(t testing.TB, refreshToken string) oidcTokens {
	t.Helper()
	tok := f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
	if tok.RefreshToken == "" || tok.RefreshToken == refreshToken {
		t.Fatalf("refresh: refresh token %q, want a new one", tok.RefreshToken)
	}
	return tok
}

// userinfo asks the userinfo endpoint with the access token, which must
// answer the flow's user.
func (f *oidcFlow) userinfo(t testing.TB, accessToken string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.userinfoURL, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	r, err := f.http.Do(req)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	defer r.Body.Close()
	var claims struct {
		Sub  string `json:"sub"`
		User string `json:"preferred_username"`
	}
	if err := json.NewDecoder(r.Body).Decode(&claims); err != nil || r.StatusCode != 200 || claims.Sub == "" || claims.User != f.user {
		t.Fatalf("userinfo = %d %+v %v, want sub and preferred_username %q", r.StatusCode, claims, err, f.user)
	}
}
