package web_test

import (
	"context"
	"flag"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

var adminUsers = flag.Int("admin-users", 100_000, "users in the store of BenchmarkAdminSearch")

// bulkStore is the seeding method of the SQLite store.
type bulkStore interface {
	InsertAccounts(ctx context.Context, users []mfa.User, auths []mfa.Authenticator, sessions []mfa.Session) error
}

// BenchmarkAdminSearch searches the admin pages' users by a random prefix
// of one to three letters of a real name, in a store of -admin-users users
// (100,000), and reports p50 and p99: "store" is the paged prefix search
// alone (51 names), "page" the whole GET /admin?q= of an administrator
// (the search, each listed user's second factor, last sign-in and
// failures, the page rendered).
func BenchmarkAdminSearch(b *testing.B) {
	e := newEnv(b, setup{noAudit: true})
	ctx := context.Background()
	bulk, ok := e.store.(bulkStore)
	if !ok {
		b.Skip("store cannot be seeded")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	names := make([]string, 0, *adminUsers)
	seen := map[string]bool{}
	for len(names) < *adminUsers {
		n := make([]byte, 6+rng.IntN(5))
		for i := range n {
			n[i] = letters[rng.IntN(len(letters))]
		}
		if s := string(n); !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	for start := 0; start < len(names); start += 10_000 {
		var us []mfa.User
		for i, n := range names[start:min(start+10_000, len(names))] {
			us = append(us, mfa.User{ID: int64(start + i + 1000), Name: n, PasswordHash: "x", Created: e.clock.Now()})
		}
		if err := bulk.InsertAccounts(ctx, us, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.svc.CreateUser(ctx, mfa.NewUser{Name: "root", Password: testPassword, Admin: true}); err != nil {
		b.Fatal(err)
	}
	root := e.client()
	e.login(root, "root", "", "/settings")
	key, _ := e.enroll(root)
	e.nextStep()
	root = e.client()
	e.login(root, "root", key.TOTP(e.clock.Now()), "/settings")
	cookie := root.Jar.Cookies(mustURL(e.srv.URL))[0]
	prefix := func() string {
		n := names[rng.IntN(len(names))]
		return n[:1+rng.IntN(3)]
	}
	report := func(b *testing.B, took []time.Duration) {
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("store", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := e.store.SearchUsers(ctx, prefix(), "", 51); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		report(b, took)
	})
	b.Run("page", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			req := httptest.NewRequest("GET", "/admin?q="+url.QueryEscape(prefix()), nil)
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
			w := httptest.NewRecorder()
			start := time.Now()
			e.handler.ServeHTTP(w, req)
			took = append(took, time.Since(start))
			if w.Code != 200 {
				b.Fatalf("GET /admin = %d\n%s", w.Code, w.Body)
			}
		}
		report(b, took)
	})
}
