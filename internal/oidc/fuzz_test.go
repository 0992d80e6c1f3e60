package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// fuzzCipher is a cipher of a fixed key, for the fuzz targets.
func fuzzCipher(t testing.TB) *mfa.Cipher {
	c, err := mfa.NewCipher(bytes.Repeat([]byte{3}, mfa.KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzValidID: what passes as a request ID, token ID or refresh token is
// exactly the unpadded base64url of 32 bytes, in its one spelling.
func FuzzValidID(f *testing.F) {
	id, _ := newRandom(rand.Reader)
	for _, s := range []string{id, id[:42], id + "A", strings.Repeat("A", 43), strings.Repeat("_", 43), strings.Repeat("A", 42) + "B", "", "a+b/", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validID(s) {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != idBytes || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("validID(%q) = true, but it is not the one spelling of 32 bytes", s)
		}
	})
}

// FuzzValidVerifier: a code_verifier passes only with 43 to 128 of the
// unreserved characters (RFC 7636 §4.1).
func FuzzValidVerifier(f *testing.F) {
	for _, s := range []string{strings.Repeat("a", 43), strings.Repeat("~", 128), strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "+", "é" + strings.Repeat("a", 42)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validVerifier(s) {
			return
		}
		if len(s) < 43 || len(s) > 128 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
			t.Fatalf("validVerifier(%q) = true", s)
		}
	})
}

// FuzzTokenOpen: a code or access token of ours opens to what was sealed
// and when; anything else (changed, cut, made up) is an error, never a
// panic, and never a request ID unless it was one.
func FuzzTokenOpen(f *testing.F) {
	tc := tokenCrypto{c: fuzzCipher(f), now: time.Now}
	id, _ := newRandom(rand.Reader)
	for _, s := range []string{id, id + ":0123456789abcdef0123456789abcdef", "", "x"} {
		sealed, _ := tc.Encrypt(s)
		f.Add(sealed)
		f.Add(sealed[:len(sealed)-1])
		f.Add(sealed + "A")
	}
	f.Add(strings.Repeat("A", 2000))
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, token string) {
		got, made, err := tc.open(token)
		if err != nil {
			if _, _, ok := tc.codeRequest(token); ok {
				t.Fatalf("codeRequest(%q) ok for a token that does not open", token)
			}
			return
		}
		// What opens seals again and opens to the same.
		again, err := tc.Encrypt(got)
		if err != nil {
			t.Fatal(err)
		}
		if back, _, err := tc.open(again); err != nil || back != got {
			t.Fatalf("round trip of %q = %q, %v", got, back, err)
		}
		if made.After(time.Now().Add(time.Minute)) {
			t.Fatalf("token made in the future: %v", made)
		}
		if id, _, ok := tc.codeRequest(token); ok && (id != got || !validID(id)) {
			t.Fatalf("codeRequest(%q) = %q for a token of %q", token, id, got)
		}
	})
}

// FuzzCheckAuthorize: an authorization request passes the checks only
// when every parameter is given once, within bounds, in UTF-8, for the
// client and a redirect URI registered for it, with the code flow, openid
// and PKCE S256, and no request object; never a panic.
func FuzzCheckAuthorize(f *testing.F) {
	ok := url.Values{"client_id": {"app"}, "redirect_uri": {"https://app.example.org/cb"}, "response_type": {"code"}, "scope": {"openid profile"},
		"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	f.Add(ok.Encode(), true)
	f.Add(ok.Encode()+"&scope=openid", false)
	f.Add(ok.Encode()+"&request=eyJhbGciOiJub25lIn0.e30.", true)
	f.Add(ok.Encode()+"&request_uri=https://x", true)
	f.Add("client_id=app&redirect_uri=https://app.example.org/cb?x=1&response_type=code&scope=openid", false)
	f.Add("client_id=app&redirect_uri=https%3A%2F%2Fapp.example.org%2Fcb&response_type=token&scope=openid&prompt=none+login&max_age=x", false)
	f.Add("%zz", false)
	c := &oidcstate.Client{ID: "app", RedirectURIs: []string{"https://app.example.org/cb"}}
	f.Fuzz(func(t *testing.T, query string, public bool) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		c.Public = public
		known := single(q, "client_id") == c.ID && registered(*c, single(q, "redirect_uri"))
		e := checkAuthorize(q, c, known)
		if e != nil {
			if len(e.Description) > 200 || strings.ContainsAny(e.Description, "\"\\\x00\n") {
				t.Fatalf("error description %q", e.Description)
			}
			return
		}
		for k, vs := range q {
			if len(vs) != 1 || len(vs[0]) > maxParam {
				t.Fatalf("checkAuthorize(%q) passed parameter %q given %d times", query, k, len(vs))
			}
		}
		if !known || q.Has("request") || q.Has("request_uri") || q.Get("response_type") != "code" ||
			!strings.Contains(" "+q.Get("scope")+" ", " openid ") || public && q.Get("code_challenge") == "" ||
			q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256" {
			t.Fatalf("checkAuthorize(%q) passed", query)
		}
	})
}

// FuzzCheckToken: a token request passes the checks only in the body,
// each parameter once, with a grant served, no client assertion and a
// well-formed code_verifier, if any; never a panic.
func FuzzCheckToken(f *testing.F) {
	f.Add("", "grant_type=authorization_code&code=x&code_verifier="+strings.Repeat("a", 43))
	f.Add("code=x", "grant_type=authorization_code")
	f.Add("", "grant_type=refresh_token&refresh_token=x&refresh_token=y")
	f.Add("", "grant_type=password&username=a&password=b")
	f.Add("", "grant_type=authorization_code&code_verifier=short")
	f.Add("", "grant_type=authorization_code&client_assertion=x")
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if checkToken(rawQuery, form) != nil {
			return
		}
		gt := form.Get("grant_type")
		if rawQuery != "" || gt != "authorization_code" && gt != "refresh_token" || form.Has("client_assertion") ||
			form.Has("code_verifier") && !validVerifier(form.Get("code_verifier")) {
			t.Fatalf("checkToken(%q, %q) passed", rawQuery, body)
		}
		for k, vs := range form {
			if len(vs) != 1 {
				t.Fatalf("checkToken passed %q given %d times", k, len(vs))
			}
		}
	})
}

// FuzzLogoutTicket: a sign-out ticket opens only as the end_session
// endpoint made it, and gives back what it sealed.
func FuzzLogoutTicket(f *testing.F) {
	p := &Provider{cipher: fuzzCipher(f), now: time.Now, opts: Options{Issuer: "https://mfa.example.org"}}
	s := &storage{p}
	for _, uri := range []string{"https://app.example.org/bye?state=x", "", "?state=x"} {
		to, err := s.TerminateSessionFromRequest(context.Background(), &op.EndSessionRequest{ClientID: "app", RedirectURI: uri})
		if err != nil {
			f.Fatal(err)
		}
		u, _ := url.Parse(to)
		f.Add(u.Query().Get("ticket"))
	}
	f.Add("")
	f.Add(strings.Repeat("A", 1500))
	f.Fuzz(func(t *testing.T, ticket string) {
		lo, err := p.Logout(ticket)
		if err != nil {
			return
		}
		if lo.ClientID != "app" || lo.RedirectURI != "" && !strings.HasPrefix(lo.RedirectURI, "https://app.example.org/") {
			t.Fatalf("Logout(%q) = %+v", ticket, lo)
		}
	})
}
