package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/otpgate/otpgate/internal/pgtest"
)

// balancer is a load balancer in front of instances: each request goes to
// the one chosen last.
type balancer struct {
	*httptest.Server
	to atomic.Pointer[url.URL]
}

func newBalancer(t *testing.T) *balancer {
	b := &balancer{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(b.to.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *balancer) use(s *oidcServer) {
	u, _ := url.Parse(s.url)
	b.to.Store(u)
}

// TestOIDCTwoInstances: two serve instances on one PostgreSQL database,
// behind a load balancer, are one provider: a code issued by one and
// redeemed there is refused by the other; of one code sent to both at
// once, many times, one redemption succeeds; a refresh token rotated on
// one and used again on the other revokes the family on both; keys and
// sessions are shared (a sign-in on one serves the other).
func TestOIDCTwoInstances(t *testing.T) {
	dsn, _, _ := pgtest.Schema(t)
	dir := t.TempDir()
	lb := newBalancer(t)
	shared := []string{"-db-file", writeDBFile(t, dsn), "-secret-key-file", filepath.Join(dir, "secret.key"), "-base-url", lb.URL}
	a := startOIDCOn(t, append([]string{"-data-dir", filepath.Join(dir, "a")}, shared...))
	b := startOIDCOn(t, append([]string{"-data-dir", filepath.Join(dir, "b")}, shared...))
	a.addUser("alice")
	secret := a.addClient("hub", "--redirect-uri", rpRedirect)
	lb.use(a)
	r := newRP(t, &oidcServer{server: &server{url: lb.URL}, t: t}, "hub", secret, "openid", "offline_access")
	br := newOIDCBrowser(t)
	redeem := func(on *oidcServer, f flow, code string) (int, map[string]any) {
		return tokenRequest(t, on.url+"/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}}, "hub", secret)
	}

	f, code := r.signIn(br, "alice")
	if status, v := redeem(a, f, code); status != 200 || v["id_token"] == nil {
		t.Fatalf("redeemed on a: %d %v", status, v)
	}
	if status, v := redeem(b, f, code); status != 400 || v["error"] != "invalid_grant" {
		t.Errorf("the same code on b: %d %v, want invalid_grant", status, v)
	}

	// Single sign-on across the instances, and one code raced on both.
	lb.use(b)
	for round := range 3 {
		f, code := r.signIn(br, "alice")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				on := a
				if i%2 == 1 {
					on = b
				}
				if status, _ := redeem(on, f, code); status == 200 {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("round %d: one code sent 20 times to two instances redeemed %d times, want 1", round, n)
		}
	}

	// Refresh: rotated on a, the old one again on b.
	f, code = r.signIn(br, "alice")
	_, v := redeem(a, f, code)
	rt1, _ := v["refresh_token"].(string)
	refresh := func(on *oidcServer, rt string) (int, map[string]any) {
		return tokenRequest(t, on.url+"/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "hub", secret)
	}
	status, v := refresh(a, rt1)
	rt2, _ := v["refresh_token"].(string)
	if status != 200 || rt2 == "" {
		t.Fatalf("refresh on a: %d %v", status, v)
	}
	if status, v := refresh(b, rt1); status != 400 || v["error"] != "invalid_grant" {
		t.Errorf("the used refresh token on b: %d %v", status, v)
	}
	if status, v := refresh(a, rt2); status != 400 {
		t.Errorf("the family's newest token on a after the reuse on b: %d %v", status, v)
	}
	if ka, kb := jwks(t, a.url), jwks(t, b.url); len(ka) != 2 || len(kb) != 2 || func() bool {
		for k := range ka {
			if kb[k] == "" {
				return true
			}
		}
		return false
	}() {
		t.Errorf("the instances publish different keys: %v, %v", ka, kb)
	}
}
