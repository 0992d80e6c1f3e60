package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
)

// TestOIDCExpiredCode: a code is redeemable for CodeTTL, not after; the
// refusal is in the audit log, and nothing is issued.
func TestOIDCExpiredCode(t *testing.T) {
	h := newHarness(t, oidc.Options{CodeTTL: time.Minute})
	c := h.conf()
	v := oauth2.GenerateVerifier()
	code := h.code(c, v, h.session(mfa.LevelNoSecondFactor))
	h.clock.add(61 * time.Second)
	if status, resp := h.redeem(code, v); status != 400 || resp["error"] != "invalid_grant" || resp["access_token"] != nil {
		t.Errorf("a code 61s old: %d %v, want invalid_grant", status, resp)
	}
	if !h.audited("code expired") {
		t.Errorf("the expired code is not in the audit log: %v", h.audit)
	}
	code = h.code(c, v, h.session(mfa.LevelNoSecondFactor))
	h.clock.add(59 * time.Second)
	if status, resp := h.redeem(code, v); status != 200 {
		t.Errorf("a code 59s old: %d %v", status, resp)
	}
}

// TestOIDCTokenLifetimes: access tokens answer userinfo for TokenTTL,
// refresh tokens are exchanged for RefreshTTL after they were issued, an
// authorization request waits RequestTTL for its sign-in.
func TestOIDCTokenLifetimes(t *testing.T) {
	h := newHarness(t, oidc.Options{TokenTTL: 10 * time.Minute, RefreshTTL: 2 * time.Hour, RequestTTL: 30 * time.Minute})
	c := h.conf("offline_access")
	v := oauth2.GenerateVerifier()
	_, resp := h.redeem(h.code(c, v, h.session(mfa.LevelNoSecondFactor)), v)
	access, _ := resp["access_token"].(string)
	rt, _ := resp["refresh_token"].(string)
	userinfo := func() int {
		req, _ := http.NewRequest("GET", h.srv.URL+"/oidc/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	h.clock.add(9 * time.Minute)
	if s := userinfo(); s != 200 {
		t.Errorf("userinfo with a 9-minute-old access token: %d", s)
	}
	h.clock.add(61 * time.Second)
	if s := userinfo(); s == 200 {
		t.Errorf("userinfo with an expired access token: 200")
	}
	refresh := func(rt string) (int, map[string]any) {
		return h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	h.clock.add(time.Hour)
	status, resp := refresh(rt)
	rt2, _ := resp["refresh_token"].(string)
	if status != 200 || rt2 == "" {
		t.Fatalf("refresh after 1h: %d %v", status, resp)
	}
	h.clock.add(2*time.Hour + time.Second)
	if status, resp := refresh(rt2); status != 400 || resp["error"] != "invalid_grant" {
		t.Errorf("a refresh token past RefreshTTL: %d %v", status, resp)
	}
	id := h.authorize(c, v)
	h.clock.add(30*time.Minute + time.Second)
	if _, err := h.p.Resume(context.Background(), id, h.session(mfa.LevelNoSecondFactor)); !errors.Is(err, oidc.ErrUnknownRequest) {
		t.Errorf("Resume of a request past RequestTTL = %v, want ErrUnknownRequest", err)
	}
}

// kid is the key ID of a JWT.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hd struct{ Kid, Alg string }
	json.Unmarshal(b, &hd)
	return hd.Kid
}

// TestOIDCKeyLifecycle follows a rotation on the provider's clock: the
// next keys are published at once, sign from SignFrom, and the keys they
// replace stay published, their tokens verifying, until SignFrom +
// TokenTTL + 5 minutes; then the clean-up removes them, never the
// newest.
func TestOIDCKeyLifecycle(t *testing.T) {
	const ttl = 10 * time.Minute
	h := newHarness(t, oidc.Options{TokenTTL: ttl})
	ctx := context.Background()
	c := h.conf()
	v := oauth2.GenerateVerifier()
	idToken := func() string {
		t.Helper()
		status, resp := h.redeem(h.code(c, v, h.session(mfa.LevelNoSecondFactor)), v)
		if status != 200 {
			t.Fatalf("redeem: %d %v", status, resp)
		}
		return resp["id_token"].(string)
	}
	t1 := idToken()
	a := kid(t, t1)
	if ks := h.keySet(); len(ks) != 2 || !ks[a] {
		t.Fatalf("first keys %v, signing %s", ks, a)
	}
	start := h.clock.now()
	if _, err := oidc.RotateKeys(ctx, h.store, h.cipher, rand.Reader, start, 24*time.Hour, ttl); err != nil {
		t.Fatal(err)
	}
	if _, err := oidc.RotateKeys(ctx, h.store, h.cipher, rand.Reader, start, time.Hour, ttl); !errors.Is(err, oidc.ErrRotationPending) {
		t.Errorf("a second rotation before the first signs = %v, want ErrRotationPending", err)
	}
	h.clock.add(2 * time.Minute) // instances read the keys again each minute
	if ks := h.keySet(); len(ks) != 4 {
		t.Errorf("after the rotation: %d keys published, want 4", len(ks))
	}
	if k := kid(t, idToken()); k != a {
		t.Errorf("before SignFrom, %s signs, want %s", k, a)
	}
	h.clock.add(24*time.Hour - 2*time.Minute + time.Second)
	if err := h.p.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	t2 := idToken()
	b := kid(t, t2)
	if b == a {
		t.Fatalf("after SignFrom, the old key still signs")
	}
	if _, err := h.verifier().Verify(ctx, t1); err != nil || !h.keySet()[a] {
		t.Errorf("a token of the replaced key while its tokens may live: %v (published: %v)", err, h.keySet()[a])
	}
	keys, err := oidc.ListKeys(ctx, h.store, h.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		want := "current"
		if k.SignFrom.Before(start.Add(time.Hour)) { // the first keys
			want = "previous"
			if wantAt := start.Add(24*time.Hour + ttl + 5*time.Minute); !k.RetireAt.Equal(wantAt) {
				t.Errorf("%s retires at %v, want %v", k.ID, k.RetireAt, wantAt)
			}
		}
		if k.State != want {
			t.Errorf("%s %s: state %s, want %s", k.ID, k.Algorithm, k.State, want)
		}
	}
	h.clock.add(ttl + 5*time.Minute)
	if err := h.p.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	h.clock.add(2 * time.Minute)
	if ks := h.keySet(); len(ks) != 2 || ks[a] || !ks[b] {
		t.Errorf("after the replaced keys' tokens expired: published %v, want the two new keys", ks)
	}
	if _, err := h.verifier().Verify(ctx, t1); err == nil {
		t.Errorf("a token of a removed key still verifies")
	}
	if _, err := h.verifier().Verify(ctx, t2); err != nil {
		t.Errorf("a token of the current key: %v", err)
	}
	if keys, _ := oidc.ListKeys(ctx, h.store, h.clock.now()); len(keys) != 2 {
		t.Errorf("the clean-up left %d keys, want 2", len(keys))
	}
}

// TestOIDCSigningES256: with SigningAlgorithm ES256 the ES256 key signs
// ID tokens, and discovery names it first.
func TestOIDCSigningES256(t *testing.T) {
	h := newHarness(t, oidc.Options{SigningAlgorithm: "ES256"})
	v := oauth2.GenerateVerifier()
	_, resp := h.redeem(h.code(h.conf(), v, h.session(mfa.LevelNoSecondFactor)), v)
	raw, _ := resp["id_token"].(string)
	hd, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if !strings.Contains(string(hd), `"alg":"ES256"`) {
		t.Errorf("ID token header %s, want ES256", hd)
	}
	if _, err := h.verifier().Verify(context.Background(), raw); err != nil {
		t.Error(err)
	}
	if d := h.p.Discovery(); d.IDTokenSigningAlgValuesSupported[0] != "ES256" {
		t.Errorf("discovery algorithms %v", d.IDTokenSigningAlgValuesSupported)
	}
	if _, err := oidc.New(oidc.Deps{Store: h.store, Service: h.svc, Cipher: h.cipher, Rand: rand.Reader, Now: time.Now},
		oidc.Options{Issuer: h.srv.URL, SigningAlgorithm: "HS256"}); err == nil {
		t.Errorf("New with HS256 = nil, want an error")
	}
}

// TestOIDCLogoutTicket: the sign-out page's ticket opens while fresh, and
// not once changed or expired.
func TestOIDCLogoutTicket(t *testing.T) {
	h := newHarness(t, oidc.Options{})
	resp, err := noRedirect.Get(h.srv.URL + "/oidc/end_session?client_id=app&state=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if loc == nil || loc.Path != oidc.LogoutPath {
		t.Fatalf("end_session: %d to %v", resp.StatusCode, loc)
	}
	ticket := loc.Query().Get("ticket")
	lo, err := h.p.Logout(ticket)
	if err != nil || lo.ClientID != "app" || lo.RedirectURI != "" || lo.SessionID != "" {
		t.Errorf("Logout = %+v, %v; want the client, nowhere to go (none registered), no session", lo, err)
	}
	b := []byte(ticket)
	b[10] ^= 1
	if _, err := h.p.Logout(string(b)); !errors.Is(err, oidc.ErrBadTicket) {
		t.Errorf("a changed ticket = %v", err)
	}
	h.clock.add(11 * time.Minute)
	if _, err := h.p.Logout(ticket); !errors.Is(err, oidc.ErrBadTicket) {
		t.Errorf("an expired ticket = %v", err)
	}
}

// TestOIDCRevokeIntrospect: introspection (client_secret_basic) tells an
// access token active to its client only, and inactive once revoked
// (RFC 7009) or once its user is disabled; revoking a refresh token
// revokes its family; another client's revocation changes nothing.
func TestOIDCRevokeIntrospect(t *testing.T) {
	h := newHarness(t, oidc.Options{})
	ctx := context.Background()
	other, err := oidc.AddClient(ctx, h.store, oidc.ClientSpec{Name: "other", RedirectURIs: []string{harnessRedirect}}, rand.Reader, h.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, user, secret string, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	active := func(user, secret, token string) bool {
		_, v := post("/oidc/introspect", user, secret, url.Values{"token": {token}})
		return v["active"] == true
	}
	v := oauth2.GenerateVerifier()
	_, resp := h.redeem(h.code(h.conf("offline_access"), v, h.session(mfa.LevelFull)), v)
	access, rt := resp["access_token"].(string), resp["refresh_token"].(string)
	if !active("app", h.secret, access) {
		t.Fatalf("a fresh access token is not active")
	}
	_, info := post("/oidc/introspect", "app", h.secret, url.Values{"token": {access}})
	if info["client_id"] != "app" || info["sub"] == nil || info["username"] != "alice" && info["username"] != nil {
		t.Errorf("introspection = %v", info)
	}
	if active("other", other, access) || active("app", "wrong", access) {
		t.Errorf("another client, or a wrong secret, sees the token active")
	}
	if status, _ := post("/oidc/revoke", "other", other, url.Values{"token": {access}}); status != 200 || !active("app", h.secret, access) {
		t.Errorf("another client's revocation: %d, token still active: %v", status, active("app", h.secret, access))
	}
	if status, _ := post("/oidc/revoke", "app", h.secret, url.Values{"token": {access}}); status != 200 || active("app", h.secret, access) {
		t.Errorf("revoked access token: %d, still active", status)
	}
	if status, _ := post("/oidc/revoke", "app", h.secret, url.Values{"token": {"no such token"}}); status != 200 {
		t.Errorf("revoking an unknown token = %d, want 200 (RFC 7009 §2.2)", status)
	}
	status, resp := h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	access2, rt2 := resp["access_token"].(string), resp["refresh_token"].(string)
	if status != 200 || !active("app", h.secret, access2) {
		t.Fatalf("refresh = %d %v", status, resp)
	}
	if status, _ := post("/oidc/revoke", "app", h.secret, url.Values{"token": {rt2}, "token_type_hint": {"refresh_token"}}); status != 200 {
		t.Errorf("revoke a refresh token = %d", status)
	}
	if active("app", h.secret, access2) {
		t.Errorf("the family's access token is active after its refresh token was revoked")
	}
	if status, _ := h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}); status != 400 {
		t.Errorf("a revoked refresh token = %d", status)
	}
	// A disabled user's tokens answer nothing.
	_, resp = h.redeem(h.code(h.conf(), v, h.session(mfa.LevelFull)), v)
	access3 := resp["access_token"].(string)
	if err := h.svc.SetDisabled(ctx, h.user.ID, true); err != nil {
		t.Fatal(err)
	}
	if active("app", h.secret, access3) {
		t.Errorf("a disabled user's access token is active")
	}
}

// TestOIDCCORS: a public client in a browser may call the token endpoint
// from its own origin (the preflight is answered), never with cookies.
func TestOIDCCORS(t *testing.T) {
	h := newHarness(t, oidc.Options{})
	req, _ := http.NewRequest("OPTIONS", h.srv.URL+"/oidc/token", nil)
	req.Header.Set("Origin", "https://spa.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") == "" || resp.Header.Get("Access-Control-Allow-Credentials") == "true" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
