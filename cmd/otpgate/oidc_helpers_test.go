package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// rpHost is where the relying parties of the tests say they live: a
// loopback address nothing listens on; the browser stops at a redirect
// there and hands its URL to the relying party.
const rpHost = "127.0.0.1:9"

// rpRedirect is the redirect URI the test clients are registered with.
const rpRedirect = "http://" + rpHost + "/callback"

// oidcServer is `otpgate serve` with users and clients made by the
// operator's commands, on its store (common: the flags naming it).
type oidcServer struct {
	*server
	t      *testing.T
	common []string
	mu     sync.Mutex
	// steps is, per user, the last TOTP step used: each sign-in takes the
	// next one (serve runs with -totp-skew 10).
	steps map[string]uint64
	keys  map[string]otp.Key
}

// oidcServeFlags are added to every test server: ten steps of skew, so
// that a test signs in several times within a step's 30 seconds.
var oidcServeFlags = []string{"-totp-skew", "10"}

// startOIDC starts serve on a new data directory.
func startOIDC(t *testing.T, extra ...string) *oidcServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	return startOIDCOn(t, []string{"-data-dir", dir}, extra...)
}

// aliceApp starts serve with the user alice (no second factor) and the
// confidential client app, and returns the server and app's relying party.
func aliceApp(t *testing.T) (*oidcServer, *rp) {
	t.Helper()
	o := startOIDC(t)
	o.addUser("alice")
	secret := o.addClient("app", "--redirect-uri", rpRedirect)
	return o, newRP(t, o, "app", secret)
}

// startOIDCOn starts serve on the store common names.
func startOIDCOn(t *testing.T, common []string, extra ...string) *oidcServer {
	t.Helper()
	var dir string
	args := append(append([]string{}, common...), oidcServeFlags...)
	for i, a := range common {
		if a == "-data-dir" {
			dir = common[i+1]
		}
	}
	s := startServer(t, dir, append(args, extra...)...)
	stop := sync.OnceValue(s.stop)
	s.stop = stop
	t.Cleanup(func() { stop() })
	return &oidcServer{server: s, t: t, common: common, steps: map[string]uint64{}, keys: map[string]otp.Key{}}
}

// cmd runs an operator's command on the server's store.
func (o *oidcServer) cmd(stdin string, args ...string) string {
	o.t.Helper()
	out, err := runInput(o.t, stdin, append(append(args, o.common...), fastFlags...)...)
	if err != nil {
		o.t.Fatalf("otpgate %s = %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// addUser makes a user with a password (its name + " password").
func (o *oidcServer) addUser(name string, extra ...string) {
	o.t.Helper()
	o.cmd(name+" password\n", append(append([]string{"user", "add", "--password-stdin"}, extra...), name)...)
}

var secretRe = regexp.MustCompile(`client_secret: (\S+)`)

// addClient registers a client and returns its secret ("" for a public
// one).
func (o *oidcServer) addClient(name string, extra ...string) string {
	o.t.Helper()
	out := o.cmd("", append(append([]string{"client", "add"}, extra...), name)...)
	if m := secretRe.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// code returns the next TOTP code of user, of a step never used.
func (o *oidcServer) code(user string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := o.keys[user]
	step := max(o.steps[user]+1, key.Step(time.Now()))
	o.steps[user] = step
	return key.TOTP(time.Unix(int64(step)*30, 0))
}

// enrol sets up TOTP for user through the pages.
func (o *oidcServer) enrol(user string) {
	o.t.Helper()
	b := newBrowser(o.t, o.url)
	if code, body := b.post("/login", url.Values{"username": {user}, "password": {user + " password"}}); code != 200 {
		o.t.Fatalf("%s's login = %d\n%s", user, code, body)
	}
	o.confirmTOTP(b.c, user, "")
}

// confirmTOTP sets up TOTP in a signed-in browser c, with the setup form
// of the security page (for its next), when given, and returns the page it
// ends on.
func (o *oidcServer) confirmTOTP(c *http.Client, user, securityPage string) string {
	o.t.Helper()
	begin := url.Values{}
	for _, fm := range formRe.FindAllStringSubmatch(securityPage, -1) {
		if attrs(fm[1])["action"] != "/settings/security/totp" {
			continue
		}
		for _, in := range inputRe.FindAllStringSubmatch(fm[2], -1) {
			if a := attrs(in[1]); a["name"] != "" && a["type"] != "submit" {
				begin.Set(a["name"], a["value"])
			}
		}
	}
	r, body := fetch(o.t, c, "POST", o.url+"/settings/security/totp", begin, nil)
	km, im := keyRe.FindStringSubmatch(body), idRe.FindStringSubmatch(body)
	if km == nil || im == nil {
		o.t.Fatalf("no key on the setup page (%d):\n%s", r.StatusCode, body)
	}
	secret, err := otp.DecodeSecret(km[1])
	if err != nil {
		o.t.Fatal(err)
	}
	o.mu.Lock()
	o.keys[user] = otp.Key{Secret: secret}
	o.mu.Unlock()
	form := url.Values{"id": {im[1]}, "code": {o.code(user)}}
	if f, ok := findForm(body, r.Request.URL, "code"); ok {
		if n := f.values.Get("next"); n != "" {
			form.Set("next", n)
		}
	}
	r, body = fetch(o.t, c, "POST", o.url+"/settings/security/totp/confirm", form, nil)
	if r.StatusCode != 200 || !strings.Contains(body, "TOTP is enabled") {
		o.t.Fatalf("confirm = %d\n%s", r.StatusCode, body)
	}
	return body
}

// rp is a relying party: go-oidc with golang.org/x/oauth2, as an
// application would use them, registered as client id.
type rp struct {
	t        *testing.T
	o        *oidcServer
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// newRP discovers the server's provider for client id.
func newRP(t *testing.T, o *oidcServer, id, secret string, scopes ...string) *rp {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), o.url)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", "groups"}
	}
	return &rp{t: t, o: o, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: id}),
		conf: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect, Scopes: scopes}}
}

// flow is one authorization request of a relying party: its state,
// nonce and PKCE verifier, to check the answer against.
type flow struct {
	state, nonce, verifier string
	url                    string
}

// start makes an authorization request with PKCE S256 and the extra
// parameters.
func (r *rp) start(extra ...oauth2.AuthCodeOption) flow {
	f := flow{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	f.url = r.conf.AuthCodeURL(f.state, opts...)
	return f
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcBrowser is a browser with a cookie jar that stops at the relying
// party.
type oidcBrowser struct {
	t *testing.T
	c *http.Client
}

func newOIDCBrowser(t *testing.T) *oidcBrowser {
	jar, _ := cookiejar.New(nil)
	return &oidcBrowser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == rpHost {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return errors.New("too many redirects")
		}
		return nil
	}}}
}

// answer is where the provider sent the browser back to the relying
// party: the query of the redirect (code and state, or error).
type answer struct {
	url.Values
	// page is the last page when the browser was not sent back.
	page   string
	status int
	// at is the last page's URL.
	at *url.URL
}

// back reports whether the browser was sent back to the relying party.
func (a answer) back() bool { return a.page == "" && a.status == http.StatusFound }

// follow goes to start and, on the sign-in pages, fills in the password
// of user and a code (when code is not nil and gives one), until the
// browser is sent back to the relying party or lands on a page it cannot
// fill.
func (b *oidcBrowser) follow(start, user string, code func() string) answer {
	b.t.Helper()
	r, body := fetch(b.t, b.c, "GET", start, nil, nil)
	for range 6 {
		if loc, err := r.Location(); err == nil && loc.Host == rpHost {
			return answer{Values: loc.Query(), status: r.StatusCode, at: loc}
		}
		f, ok := findForm(body, r.Request.URL, "password", "code")
		if !ok || user == "" || f.fields["current"] {
			break
		}
		if f.fields["password"] {
			f.values.Set("username", user)
			f.values.Set("password", user+" password")
		}
		if f.fields["code"] {
			c := ""
			if code != nil {
				c = code()
			}
			if c == "" {
				break
			}
			f.values.Set("code", c)
		}
		r, body = fetch(b.t, b.c, "POST", f.action, f.values, nil)
	}
	return answer{page: body, status: r.StatusCode, at: r.Request.URL}
}

// signIn runs a whole authorization request of r in b for user (with a
// code when the user has TOTP) and returns the code, checking the state.
func (r *rp) signIn(b *oidcBrowser, user string, extra ...oauth2.AuthCodeOption) (flow, string) {
	r.t.Helper()
	f := r.start(extra...)
	var code func() string
	if _, ok := r.o.keys[user]; ok {
		code = func() string { return r.o.code(user) }
	}
	a := b.follow(f.url, user, code)
	if !a.back() || a.Get("code") == "" {
		r.t.Fatalf("not sent back with a code: %d %v\n%s", a.status, a.Values, a.page)
	}
	if a.Get("state") != f.state {
		r.t.Fatalf("state = %q, want %q", a.Get("state"), f.state)
	}
	return f, a.Get("code")
}

// exchange redeems a code with the flow's verifier.
func (r *rp) exchange(f flow, code string) (*oauth2.Token, error) {
	return r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
}

// idToken verifies the token's ID token (signature, issuer, audience,
// expiry) and its nonce, and returns its claims.
func (r *rp) idToken(f flow, tok *oauth2.Token) (*gooidc.IDToken, map[string]any) {
	r.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.t.Fatalf("no id_token in the token response")
	}
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		r.t.Fatalf("ID token does not verify: %v", err)
	}
	if idt.Nonce != f.nonce {
		r.t.Errorf("nonce = %q, want %q", idt.Nonce, f.nonce)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		r.t.Fatal(err)
	}
	return idt, claims
}

// userinfo asks the userinfo endpoint with an access token: its status
// and claims.
func (r *rp) userinfo(access string) (int, map[string]any) {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.provider.UserInfoEndpoint(), nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var claims map[string]any
	json.NewDecoder(resp.Body).Decode(&claims)
	return resp.StatusCode, claims
}

// tokenRequest posts form to the token endpoint, with basic
// authentication when user is not empty, and returns the status and the
// JSON answer.
func tokenRequest(t *testing.T, endpoint string, form url.Values, user, password string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

// s256 is the PKCE challenge of a verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// audit returns the oidc path's entries of the audit log, one a line,
// once every string of want is in them (the log is written in batches),
// or after 5 seconds.
func (o *oidcServer) audit(want ...string) string {
	o.t.Helper()
	var c Config
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	configFlags(fs, &c)
	if err := fs.Parse(o.common); err != nil {
		o.t.Fatal(err)
	}
	store, _, err := openStore(context.Background(), &c)
	if err != nil {
		o.t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := store.AuditLog(context.Background(), mfa.AuditFilter{Path: mfa.PathOIDC, Limit: 1000})
		if err != nil {
			o.t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range entries {
			fmt.Fprintf(&b, "%s %s %s %s: %s\n", e.Time.Format(time.RFC3339), e.User, e.Action, e.Result, e.Reason)
		}
		out := b.String()
		all := true
		for _, w := range want {
			all = all && strings.Contains(out, w)
		}
		if all || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}
