package main

import (
	"context"
	"fmt"
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
// built and run as its own process with its default settings, on SQLite
// and on PostgreSQL, and Debian's glewlwyd (its OpenID Connect plugin,
// SQLite, RS256) in the same run, one client at a time on loopback:
//
//   - flow: a whole authorization code flow of a user already signed in:
//     the authorization request with the session cookie, redirects
//     followed up to the one to the client, which carries the code (no
//     page); the code redeemed with client_secret_basic and the PKCE
//     (S256) verifier; userinfo with the access token. It reports flows/s.
//   - refresh: the refresh grant, each answer's new refresh token used
//     for the next (both providers rotate on use). It reports refreshes/s.
//
// Each target signs its user in once, before the timer. At the end it
// logs the ratios of otpgate's figures to glewlwyd's.
func BenchmarkOIDC(b *testing.B) {
	dir := b.TempDir()
	var bin string
	gate := func(b *testing.B, name, dsn string) (oidcFlow, *http.Client) {
		if bin == "" {
			bin = buildOtpgate(b)
		}
		return startOIDCGate(b, bin, filepath.Join(dir, name), dsn)
	}
	targets := []struct {
		name  string
		start func(b *testing.B) (oidcFlow, *http.Client)
	}{
		{"store=sqlite", func(b *testing.B) (oidcFlow, *http.Client) { return gate(b, "sqlite", "") }},
		{"store=postgres", func(b *testing.B) (oidcFlow, *http.Client) {
			dsn, _, _ := pgtest.Schema(b)
			return gate(b, "postgres", dsn)
		}},
		{"peer=glewlwyd", func(b *testing.B) (oidcFlow, *http.Client) {
			d := filepath.Join(dir, "glewlwyd")
			if err := os.Mkdir(d, 0o700); err != nil {
				b.Fatal(err)
			}
			p := startGlewlwyd(b, d, oidcRedirectURI)
			return p.flow, p.session
		}},
	}
	rates := map[string]float64{}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			f, session := tg.start(b)
			b.Run("flow", func(b *testing.B) {
				for b.Loop() {
					code, verifier := f.code(b, session)
					tok := f.exchange(b, code, verifier)
					f.userinfo(b, tok.AccessToken)
				}
				rates[tg.name+"/flow"] = float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rates[tg.name+"/flow"], "flows/s")
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
				rates[tg.name+"/refresh"] = float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rates[tg.name+"/refresh"], "refreshes/s")
			})
		})
	}
	var ratios []string
	for _, store := range []string{"sqlite", "postgres"} {
		for _, m := range []string{"flow", "refresh"} {
			mine, peer := rates["store="+store+"/"+m], rates["peer=glewlwyd/"+m]
			if mine > 0 && peer > 0 {
				ratios = append(ratios, fmt.Sprintf("%s %s %.2f", store, m, mine/peer))
			}
		}
	}
	if len(ratios) > 0 {
		b.Logf("otpgate / glewlwyd: %s", strings.Join(ratios, ", "))
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
	m := regexp.MustCompile(`(?m)^client_id:\s*(\S+)\s*\n(?:.*\n)*?client_secret:\s*(\S+)`).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("client add printed no client_id and client_secret:\n%s", out)
	}
	return m[1], m[2]
}
