package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
)

// oidcRedirectURI is the benchmark client's redirect URI; the relying
// party takes the code from the redirect, nothing is served there.
const oidcRedirectURI = "https://app.example.test/oauth2/callback"

// BenchmarkOIDC measures otpgate as an OpenID provider, `otpgate serve`
// built and run as its own process with its default settings (RS256 ID
// tokens, opaque access tokens), on SQLite and on PostgreSQL, and Debian's
// glewlwyd (its OpenID Connect plugin on SQLite, RS256, JWT access tokens;
// see startGlewlwyd) in the same run, one request at a time on loopback:
//
//   - flow: a whole authorization code flow of a user already signed in:
//     the authorization request with the session cookie, redirects
//     followed up to the one to the client, which carries the code (no
//     page may be shown); the code redeemed with client_secret_basic and
//     the PKCE (S256) verifier; userinfo with the access token. It reports
//     flows/s and the mean time of each of the three steps.
//   - refresh: the refresh grant, each answer's new refresh token used
//     for the next (both providers rotate on use). It reports refreshes/s.
//
// Each target signs its user in once, before the timer. The peer runs
// first, and otpgate's rates are also given as multiples of its
// (x-glewlwyd). About half of glewlwyd's time in a code exchange, and
// two thirds of a refresh, is its PBKDF2 of the client secret (150,000
// iterations, its default for SQLite) on every token request; otpgate
// keeps a SHA-256 of its random secrets.
func BenchmarkOIDC(b *testing.B) {
	dir := b.TempDir()
	bin := buildOtpgate(b)
	// The peer first, so that otpgate's figures can be given as ratios
	// to its.
	targets := []struct {
		name  string
		start func(b *testing.B) (oidcFlow, *http.Client)
	}{
		{"peer=glewlwyd", func(b *testing.B) (oidcFlow, *http.Client) {
			d := filepath.Join(dir, "glewlwyd")
			if err := os.Mkdir(d, 0o700); err != nil {
				b.Fatal(err)
			}
			p := startGlewlwyd(b, d, oidcRedirectURI)
			return p.flow, p.session
		}},
		{"store=sqlite", func(b *testing.B) (oidcFlow, *http.Client) {
			return startOIDCGate(b, bin, filepath.Join(dir, "sqlite"), "")
		}},
		{"store=postgres", func(b *testing.B) (oidcFlow, *http.Client) {
			dsn, _, _ := pgtest.Schema(b)
			return startOIDCGate(b, bin, filepath.Join(dir, "postgres"), dsn)
		}},
	}
	peer := map[string]float64{}
	// report reports the rate of what, and for otpgate its ratio to the
	// peer's when the peer ran.
	report := func(b *testing.B, target, what, unit string) {
		rate := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, unit)
		if strings.HasPrefix(target, "peer=") {
			peer[what] = rate
		} else if peer[what] > 0 {
			b.ReportMetric(rate/peer[what], "x-glewlwyd")
		}
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			f, session := tg.start(b)
			b.Run("flow", func(b *testing.B) {
				var steps [3]time.Duration
				for b.Loop() {
					t0 := time.Now()
					code, verifier := f.code(b, session)
					t1 := time.Now()
					tok := f.exchange(b, code, verifier)
					t2 := time.Now()
					f.userinfo(b, tok.AccessToken)
					steps[0], steps[1], steps[2] = steps[0]+t1.Sub(t0), steps[1]+t2.Sub(t1), steps[2]+time.Since(t2)
				}
				report(b, tg.name, "flow", "flows/s")
				for i, name := range []string{"authorize", "token", "userinfo"} {
					b.ReportMetric(float64(steps[i])/float64(b.N)/float64(time.Millisecond), name+"-ms")
				}
			})
			b.Run("refresh", func(b *testing.B) {
				code, verifier := f.code(b, session)
				rt := f.exchange(b, code, verifier).RefreshToken
				if rt == "" {
					b.Fatalf("%s issued no refresh token for scope %q", tg.name, f.scope)
				}
				for b.Loop() {
					rt = f.refresh(b, rt).RefreshToken
				}
				report(b, tg.name, "refresh", "refreshes/s")
			})
		})
	}
}

// startOIDCGate runs the built otpgate in dir as an OpenID provider, its
// issuer its own loopback address, on SQLite or, with dsn, on PostgreSQL,
// with the client bench registered by `otpgate client add` and a user
// alice with TOTP signed in (password and code). It returns the client's
// flow and alice's browser.
func startOIDCGate(b *testing.B, bin, dir, dsn string) (oidcFlow, *http.Client) {
	b.Helper()
	addr := freeAddr(b)
	g := &gateServer{bin: bin, addr: addr, dataDir: filepath.Join(dir, "data")}
	store := []string{"-data-dir", g.dataDir}
	if dsn != "" {
		dbFile := filepath.Join(dir, "db.url")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dbFile, []byte(dsn+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		store = append(store, "-db-file", dbFile)
	}
	base := "http://" + addr
	g.args = append(append([]string{"-base-url", base, "-log-format", "json"}, store...), defaultArgon2...)

	svc, closeStore := g.service(b)
	const password = "alice password"
	key := storeUser(b, svc, mfa.NewUser{Name: "alice", Password: password, DisplayName: "Alice",
		Mail: "alice@example.org", Groups: []string{"jupyter", "staff"}})
	closeStore()
	var out, errb strings.Builder
	if err := run(context.Background(), append([]string{"client", "add", "bench", "--redirect-uri", oidcRedirectURI}, store...),
		func(string) string { return "" }, strings.NewReader(""), &out, &errb); err != nil {
		b.Fatalf("client add = %v\n%s%s", err, out.String(), errb.String())
	}
	id, secret := clientCredentials(b, out.String())
	g.start(b, filepath.Join(dir, "otpgate.log"))

	jar, _ := cookiejar.New(nil)
	session := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := session.PostForm(base+"/login", url.Values{"username": {"alice"}, "password": {password}, "otp": {key.TOTP(time.Now())}})
	if err != nil {
		b.Fatal(err)
	}
	r.Body.Close()
	if u, _ := url.Parse(base); r.StatusCode != http.StatusSeeOther || len(jar.Cookies(u)) == 0 {
		b.Fatalf("sign-in: %d, no session cookie", r.StatusCode)
	}

	f := discover(b, base, session)
	f.client, f.secret, f.redirectURI, f.user = id, secret, oidcRedirectURI, "alice"
	f.scope = "openid profile offline_access"
	return f, session
}

// clientCredentials reads the client ID and secret that `otpgate client
// add` prints.
func clientCredentials(b *testing.B, out string) (id, secret string) {
	b.Helper()
	id, secret = printed(out, "client_id"), printed(out, "client_secret")
	if id == "" || secret == "" {
		b.Fatalf("client add printed no client_id and client_secret:\n%s", out)
	}
	return id, secret
}

// printed returns the value of the line "name: value" in out, or "".
func printed(out, name string) string {
	m := regexp.MustCompile(`(?m)^` + name + `:\s*(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}
