package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

var scaleAccounts = flag.Int("scale-accounts", 10_000, "accounts with TOTP that BenchmarkScale seeds in each store (the issue asks for 1000000)")

// scaleSite is a site of n accounts, each with a confirmed authenticator
// (last step used: the one before start) and a session.
type scaleSite struct {
	dump   postgres.Dump
	keys   []otp.Key
	tokens []string
	cipher *mfa.Cipher
	start  time.Time
}

func newScaleSite(b *testing.B, n int) *scaleSite {
	b.Helper()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	cipher, err := mfa.NewCipher(key, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	site := &scaleSite{cipher: cipher, start: start}
	step := uint64(start.Unix()/30) - 1
	for i := range n {
		id := int64(i + 1)
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(id)))
		k := otp.Key{Secret: otp.Secret(sum[:20])}
		authID := fmt.Sprintf("%032x", id)
		sealed, err := cipher.Seal(k.Secret, id, authID)
		if err != nil {
			b.Fatal(err)
		}
		token := fmt.Sprint("token-", id)
		site.keys = append(site.keys, k)
		site.tokens = append(site.tokens, token)
		site.dump.Users = append(site.dump.Users, mfa.User{ID: id, Name: fmt.Sprint("user", id), PasswordHash: "x", Created: start})
		site.dump.Authenticators = append(site.dump.Authenticators, mfa.Authenticator{ID: authID, UserID: id, Name: "app",
			SealedSecret: sealed, Digits: 6, Period: 30 * time.Second, Created: start, Confirmed: start, LastUsed: start, LastStep: step})
		site.dump.Sessions = append(site.dump.Sessions, mfa.Session{TokenHash: mfa.HashToken(token), UserID: id,
			Level: mfa.LevelFull, Created: start, LastSeen: start})
	}
	return site
}

// seedSQLite writes the site into a new SQLite store, in one transaction,
// in the SQLite store's tables.
func (site *scaleSite) seedSQLite(b *testing.B) mfa.Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "otpgate.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	for i, u := range site.dump.Users {
		a, x := site.dump.Authenticators[i], site.dump.Sessions[i]
		exec(`INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, ?, ?)`, u.ID, u.Name, u.PasswordHash, u.Created.UnixNano())
		exec(`INSERT INTO authenticators (id, user_id, name, sealed_secret, algorithm, digits, period_seconds,
			created_at, confirmed_at, last_used_at, last_step) VALUES (?, ?, ?, ?, 'SHA1', 6, 30, ?, ?, ?, ?)`,
			a.ID, a.UserID, a.Name, a.SealedSecret, a.Created.UnixNano(), a.Confirmed.UnixNano(), a.LastUsed.UnixNano(), int64(a.LastStep))
		exec(`INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at) VALUES (?, ?, 2, ?, ?)`,
			x.TokenHash, x.UserID, x.Created.UnixNano(), x.LastSeen.UnixNano())
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

// seedPostgres imports the site into a store on a fresh schema.
func (site *scaleSite) seedPostgres(b *testing.B, dsn string) *postgres.Store {
	b.Helper()
	s := openStore(b, dsn, postgres.Options{})
	if err := s.Import(context.Background(), site.dump); err != nil {
		b.Fatal(err)
	}
	return s
}

func (site *scaleSite) service(s mfa.Store, now func() time.Time) *mfa.Service {
	return mfa.NewService(mfa.Deps{Store: s, Cipher: site.cipher, Rand: rand.Reader, Now: now,
		Hasher: mfa.NewHasher(mfa.DefaultArgon2, rand.Reader, 1)}, mfa.Options{Window: otp.Skew(1)})
}

// reportLatency adds the median and 99th percentile of d to the benchmark.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkScale seeds -scale-accounts accounts with TOTP in SQLite and in
// PostgreSQL and measures, through mfa.Service, the second login step (a
// new valid code for a different account each time: throttle, replay
// check, sealed secret, verify) and the session check behind forward-auth,
// with p50 and p99. Run it with -scale-accounts 1000 and 1000000 to see
// that the cost does not grow with the number of accounts.
func BenchmarkScale(b *testing.B) {
	ctx := context.Background()
	n := *scaleAccounts
	site := newScaleSite(b, n)
	dsn, _ := freshSchema(b)
	begin := time.Now()
	pg := site.seedPostgres(b, dsn)
	b.Logf("PostgreSQL: %d accounts seeded in %v", n, time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	lite := site.seedSQLite(b)
	b.Logf("SQLite: %d accounts seeded in %v", n, time.Since(begin).Round(time.Millisecond))
	for _, st := range []struct {
		name  string
		store mfa.Store
	}{{"sqlite", lite}, {"postgres", pg}} {
		clock := &testClock{t: site.start}
		svc := site.service(st.store, clock.now)
		next := 0
		b.Run("SecondFactor/"+st.name, func(b *testing.B) {
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				if next == n { // every account used this step: on to the next
					next = 0
					clock.set(clock.now().Add(30 * time.Second))
				}
				i := next
				next++
				code := site.keys[i].TOTP(clock.now())
				t := time.Now()
				r, err := svc.SecondFactor(ctx, int64(i+1), code, "192.0.2.1")
				lat = append(lat, time.Since(t))
				if err != nil || r.Outcome != mfa.OK {
					b.Fatalf("SecondFactor(user%d) = %v (%s), %v", i+1, r.Outcome, r.Reason, err)
				}
			}
			reportLatency(b, lat)
		})
		b.Run("Session/"+st.name, func(b *testing.B) {
			var lat []time.Duration
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i = (i + 7919) % n // spread over the table
				t := time.Now()
				_, _, err := svc.Session(ctx, site.tokens[i])
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatalf("Session(user%d) = %v", i+1, err)
				}
			}
			reportLatency(b, lat)
		})
	}
}
