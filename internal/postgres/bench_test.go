package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// benchStores opens, for each store, an empty one with user bob and a
// confirmed authenticator "a", so that the two can be compared.
func benchStores(b *testing.B) map[string]mfa.Store {
	b.Helper()
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "otpgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lite.Close() })
	dsn, _ := freshSchema(b)
	pg := openStore(b, dsn, postgres.Options{})
	stores := map[string]mfa.Store{"sqlite": lite, "postgres": pg}
	for _, s := range stores {
		u, err := s.CreateUser(ctx, mfa.User{Name: "bob", PasswordHash: "h", Created: t0})
		if err != nil {
			b.Fatal(err)
		}
		a := mfa.Authenticator{ID: "a", UserID: u.ID, Name: "phone", SealedSecret: []byte("sealed"),
			Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: t0}
		if err := s.CreateAuthenticator(ctx, a); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ConfirmAuthenticator(ctx, u.ID, "a", 1, t0, nil); err != nil {
			b.Fatal(err)
		}
		sess := mfa.Session{TokenHash: mfa.HashToken("tok"), UserID: u.ID, Level: mfa.LevelFull, Created: t0, LastSeen: t0}
		if err := s.CreateSession(ctx, sess); err != nil {
			b.Fatal(err)
		}
	}
	return stores
}

// BenchmarkStores measures the calls on the sign-in and forward-auth paths:
// accepting a new step, refusing a replayed one, a throttle attempt, and a
// session lookup, on SQLite and on PostgreSQL.
func BenchmarkStores(b *testing.B) {
	ctx := context.Background()
	stores := benchStores(b)
	for _, name := range []string{"sqlite", "postgres"} {
		s := stores[name]
		users, err := s.Users(ctx)
		if err != nil || len(users) != 1 {
			b.Fatalf("Users = %v, %v", users, err)
		}
		uid := users[0].ID
		var step atomic.Uint64
		step.Store(1)
		b.Run("UseStep/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.UseStep(ctx, uid, "a", step.Add(1), t0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("UseStepReplay/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.UseStep(ctx, uid, "a", 1, t0); err == nil {
					b.Fatal("replay accepted")
				}
			}
		})
		b.Run("Attempt/"+name, func(b *testing.B) {
			p := mfa.ThrottlePolicy{Free: 1 << 30, Base: time.Second, Max: time.Hour, Forget: time.Hour}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Attempt(ctx, "user:bob", p, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Session/"+name, func(b *testing.B) {
			h := mfa.HashToken("tok")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Session(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("UseStepParallel/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Most of these are replays by the time they run; the
					// point is the cost under contention on one row.
					s.UseStep(ctx, uid, "a", step.Add(1), t0)
				}
			})
		})
	}
}

// BenchmarkSessionScale looks sessions up among 1 000 and 100 000 of them:
// the cost of a check must not grow with the number of accounts.
func BenchmarkSessionScale(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dsn, admin, schema := pgtest.Schema(b)
			openStore(b, dsn, postgres.Options{})
			for _, q := range []string{
				`INSERT INTO ` + schema + `.users (name, password_hash, created_at)
					SELECT 'user' || i, 'h', now() FROM generate_series(1, ` + fmt.Sprint(n) + `) AS i`,
				`INSERT INTO ` + schema + `.sessions (token_hash, user_id, level, created_at, last_seen_at)
					SELECT sha256(convert_to('tok' || id, 'UTF8')), id, 2, now(), now() FROM ` + schema + `.users`,
				`ANALYZE ` + schema + `.users`,
				`ANALYZE ` + schema + `.sessions`,
			} {
				if _, err := admin.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			s := openStore(b, dsn, postgres.Options{})
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i = i%n + 1
				if _, err := s.Session(ctx, mfa.HashToken(fmt.Sprint("tok", i))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
