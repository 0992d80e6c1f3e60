package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/oidcstate"
	"github.com/otpgate/otpgate/internal/sqlite"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a provider on a SQLite store with its own clock, served on
// loopback, with a user and a confidential client; the sign-in pages are
// played by calling Resume with a session of the service.
type harness struct {
	t      *testing.T
	clock  *clock
	store  *sqlite.Store
	svc    *mfa.Service
	cipher *mfa.Cipher
	p      *oidc.Provider
	srv    *httptest.Server
	user   mfa.User
	secret string
	audit  []mfa.AuditEntry
	mu     sync.Mutex
}

const harnessRedirect = "https://app.example.org/callback"

func newHarness(t *testing.T, o oidc.Options) *harness {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cipher, err := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: &clock{t: time.Now().Truncate(time.Second)}, store: store, cipher: cipher}
	h.svc = mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: h.clock.now,
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits),
		Audit: func(_ context.Context, e mfa.AuditEntry) {
			h.mu.Lock()
			h.audit = append(h.audit, e)
			h.mu.Unlock()
		},
		SessionEnded: func(ctx context.Context, e mfa.SessionEnd) { h.p.SessionsEnded(ctx, e) }}, mfa.Options{})
	var handler http.Handler = http.NotFoundHandler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	o.Issuer = h.srv.URL
	h.p, err = oidc.New(oidc.Deps{Store: store, Service: h.svc, Cipher: cipher, Rand: rand.Reader, Now: h.clock.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.p.Close)
	handler = h.p
	if h.user, err = h.svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password", Groups: []string{"hpc"}}); err != nil {
		t.Fatal(err)
	}
	if h.secret, err = oidc.AddClient(ctx, store, oidc.ClientSpec{Name: "app", RedirectURIs: []string{harnessRedirect}}, rand.Reader, h.clock.now()); err != nil {
		t.Fatal(err)
	}
	return h
}

// client makes requests without following redirects.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// conf is the relying party's configuration.
func (h *harness) conf(scopes ...string) oauth2.Config {
	return oauth2.Config{ClientID: "app", ClientSecret: h.secret, RedirectURL: harnessRedirect, Scopes: append([]string{"openid"}, scopes...),
		Endpoint: oauth2.Endpoint{AuthURL: h.srv.URL + "/oidc/authorize", TokenURL: h.srv.URL + "/oidc/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// session starts a session of the user at level, as the sign-in pages do.
func (h *harness) session(level mfa.Level) oidc.Browser {
	h.t.Helper()
	tok, err := h.svc.NewSession(context.Background(), h.user.ID, level)
	if err != nil {
		h.t.Fatal(err)
	}
	return oidc.Browser{UserID: h.user.ID, TokenHash: mfa.HashToken(tok), Level: level, SignedIn: h.clock.now()}
}

// authorize sends an authorization request of c and returns the ID of the
// request the bridge is sent with.
func (h *harness) authorize(c oauth2.Config, verifier string, opts ...oauth2.AuthCodeOption) string {
	h.t.Helper()
	u := c.AuthCodeURL("state", append(opts, oauth2.S256ChallengeOption(verifier))...)
	resp, err := noRedirect.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Path != oidc.LoginPath {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("authorize: %d to %v\n%s", resp.StatusCode, loc, b)
	}
	return loc.Query().Get("id")
}

// code runs a whole authorization with a browser b and returns the code.
func (h *harness) code(c oauth2.Config, verifier string, b oidc.Browser) string {
	h.t.Helper()
	id := h.authorize(c, verifier)
	step, err := h.p.Resume(context.Background(), id, b)
	if err != nil || step.Need != oidc.NeedNothing {
		h.t.Fatalf("Resume = %+v, %v", step, err)
	}
	u, err := url.Parse(step.RedirectURI)
	if err != nil || u.Query().Get("code") == "" {
		h.t.Fatalf("Resume's answer %q", step.RedirectURI)
	}
	return u.Query().Get("code")
}

// token posts to the token endpoint with the client's secret.
func (h *harness) token(form url.Values) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", h.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// redeem redeems a code.
func (h *harness) redeem(code, verifier string) (int, map[string]any) {
	return h.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {harnessRedirect}, "code_verifier": {verifier}})
}

// verifier checks ID tokens with the provider's JWKS at the harness's
// clock; expiry is not checked (the library stamps tokens with the real
// time).
func (h *harness) verifier() *gooidc.IDTokenVerifier {
	ks := gooidc.NewRemoteKeySet(context.Background(), h.srv.URL+"/oidc/keys")
	return gooidc.NewVerifier(h.srv.URL, ks, &gooidc.Config{ClientID: "app", SkipExpiryCheck: true, Now: h.clock.now,
		SupportedSigningAlgs: []string{"RS256", "ES256"}})
}

// audited reports whether the audit log has an entry with that reason.
func (h *harness) audited(reason string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.audit {
		if strings.Contains(e.Reason, reason) {
			return true
		}
	}
	return false
}

// keySet returns the published kids.
func (h *harness) keySet() map[string]bool {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + "/oidc/keys")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid string }
	}
	json.NewDecoder(resp.Body).Decode(&set)
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.Kid] = true
	}
	return out
}

var _ oidcstate.Store = (*sqlite.Store)(nil)
