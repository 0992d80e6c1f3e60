package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/otp"
)

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// seed creates user bob with a confirmed authenticator "a" (last step 100)
// and returns bob.
func seed(t testing.TB, s *postgres.Store) mfa.User {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, mfa.User{Name: "bob", PasswordHash: "h", Created: t0})
	if err != nil {
		t.Fatalf("CreateUser = %v", err)
	}
	a := mfa.Authenticator{ID: "a", UserID: u.ID, Name: "phone", SealedSecret: []byte("sealed"),
		Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: t0}
	if err := s.CreateAuthenticator(ctx, a); err != nil {
		t.Fatalf("CreateAuthenticator = %v", err)
	}
	if _, err := s.ConfirmAuthenticator(ctx, u.ID, "a", 100, t0, nil); err != nil {
		t.Fatalf("ConfirmAuthenticator = %v", err)
	}
	return u
}

// TestMigrateConcurrent starts eight instances at once on an empty schema:
// every one must open, and the migrations must be applied once.
func TestMigrateConcurrent(t *testing.T) {
	dsn, admin, schema := pgtest.Schema(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
			errs[i] = err
			if err == nil {
				s.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Open = %v", i, err)
		}
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var rows, distinct int
	if err := admin.QueryRow(`SELECT count(*), count(DISTINCT version) FROM `+schema+`.schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || distinct != len(files) {
		t.Errorf("schema_migrations after %d concurrent opens: %d rows (%d distinct), want %d", n, rows, distinct, len(files))
	}
}

// TestMigrateNewerRefused checks that an otpgate older than the database's
// schema refuses to start rather than run on tables it does not know.
func TestMigrateNewerRefused(t *testing.T) {
	dsn, admin, schema := pgtest.Schema(t)
	s := openStore(t, dsn, postgres.Options{})
	s.Close()
	if _, err := admin.Exec(`INSERT INTO ` + schema + `.schema_migrations (version) VALUES (9999)`); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open on a schema of version 9999 = nil error, want a refusal")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("Open on a newer schema = %q, want it to name version 9999", err)
	}
}

// TestTwoInstances runs the guarantees of the design across two stores, each
// with its own connection pool, as two otpgate processes would have.
func TestTwoInstances(t *testing.T) {
	ctx := context.Background()
	dsn, _ := freshSchema(t)
	a := openStore(t, dsn, postgres.Options{MaxConns: 8})
	b := openStore(t, dsn, postgres.Options{MaxConns: 8})
	instances := []*postgres.Store{a, b}
	u := seed(t, a)

	t.Run("ReplayAcross", func(t *testing.T) {
		const n = 200
		var ok, replay atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			s := instances[i%2]
			wg.Go(func() {
				<-start
				err := s.UseStep(ctx, u.ID, "a", 101, t0)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, mfa.ErrReplay):
					replay.Add(1)
				default:
					t.Errorf("UseStep = %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || replay.Load() != n-1 {
			t.Errorf("%d concurrent UseStep(101) over two instances: %d accepted, %d replays, want 1 and %d", n, ok.Load(), replay.Load(), n-1)
		}
	})

	t.Run("RecoveryCodeAcross", func(t *testing.T) {
		hash := []byte("recovery-code-hash")
		if err := a.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash}, t0); err != nil {
			t.Fatal(err)
		}
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			s := instances[i%2]
			wg.Go(func() {
				if s.UseRecoveryCode(ctx, u.ID, hash, t0) == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("40 concurrent UseRecoveryCode over two instances: %d successes, want 1", ok.Load())
		}
	})

	t.Run("ThrottleShared", func(t *testing.T) {
		p := mfa.ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Hour, Forget: 24 * time.Hour}
		// A burst of failures on instance a...
		for i := range p.Free {
			if wait, err := a.Attempt(ctx, "user:bob", p, t0); wait != 0 || err != nil {
				t.Fatalf("attempt %d on a = %v, %v, want 0", i, wait, err)
			}
		}
		// ...throttles the account on instance b.
		if wait, err := b.Attempt(ctx, "user:bob", p, t0); wait != time.Second || err != nil {
			t.Errorf("Attempt on b after %d failures on a = %v, %v, want 1s", p.Free, wait, err)
		}
		// A concurrent burst over both lets exactly Free through.
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for i := range 60 {
			s := instances[i%2]
			wg.Go(func() {
				wait, err := s.Attempt(ctx, "addr:192.0.2.7", p, t0)
				if err != nil {
					t.Errorf("Attempt = %v", err)
				}
				if wait == 0 && err == nil {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != int32(p.Free) {
			t.Errorf("60 concurrent attempts over two instances: %d allowed, want %d", allowed.Load(), p.Free)
		}
	})

	t.Run("SessionsShared", func(t *testing.T) {
		sess := mfa.Session{TokenHash: mfa.HashToken("token-1"), UserID: u.ID, Level: mfa.LevelFull, Created: t0, LastSeen: t0}
		if err := a.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Session(ctx, sess.TokenHash); err != nil {
			t.Errorf("Session on b of a session made on a = %v, want it", err)
		}
		if err := b.DeleteSession(ctx, sess.TokenHash); err != nil {
			t.Fatal(err)
		}
		for i, s := range instances {
			if _, err := s.Session(ctx, sess.TokenHash); !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("Session on instance %d after logout on b = %v, want ErrNotFound", i, err)
			}
		}
	})
}

// TestStatementTimeout holds the lock on a throttle row from another
// connection: Attempt must give up after the statement timeout with an
// error (the caller then refuses the sign-in), not wait for ever or let the
// attempt through.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	dsn, admin, schema := pgtest.Schema(t)
	s := openStore(t, dsn, postgres.Options{StatementTimeout: 200 * time.Millisecond})
	p := mfa.DefaultThrottles.Account
	if _, err := s.Attempt(ctx, "user:bob", p, t0); err != nil {
		t.Fatal(err)
	}
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT 1 FROM ` + schema + `.throttle WHERE key = 'user:bob' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	_, err = s.Attempt(ctx, "user:bob", p, t0)
	elapsed := time.Since(begin)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Attempt on a locked row = %v, want a statement timeout", err)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Attempt on a locked row took %v, want about 200ms", elapsed)
	}
	tx.Rollback()
	if _, err := s.Attempt(ctx, "user:bob", p, t0); err != nil {
		t.Errorf("Attempt after the lock is gone = %v", err)
	}
}

// TestErrorsQuoteNoValues checks that a constraint error does not carry
// PostgreSQL's DETAIL line, which quotes the row (here a token hash).
func TestErrorsQuoteNoValues(t *testing.T) {
	ctx := context.Background()
	dsn, _ := freshSchema(t)
	s := openStore(t, dsn, postgres.Options{})
	u := seed(t, s)
	sess := mfa.Session{TokenHash: []byte("SECRET-TOKEN-HASH"), UserID: u.ID, Level: mfa.LevelFull, Created: t0, LastSeen: t0}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	err := s.CreateSession(ctx, sess)
	if !errors.Is(err, mfa.ErrConflict) {
		t.Fatalf("CreateSession(duplicate) = %v, want ErrConflict", err)
	}
	if msg := err.Error(); strings.Contains(msg, `\x`) || strings.Contains(msg, "SECRET") || strings.Contains(msg, "token_hash") {
		t.Errorf("CreateSession(duplicate) = %q, quotes the row", msg)
	}
}

// TestMigrateWaitsForLock holds the migration lock (as an instance running a
// long migration would) for longer than the statement timeout: Open must
// wait for it rather than fail.
func TestMigrateWaitsForLock(t *testing.T) {
	ctx := context.Background()
	dsn, admin := freshSchema(t)
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const lock = 0x6f74706761746500 // postgres.migrationLock
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(lock)); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(lock))
	}()
	begin := time.Now()
	s, err := postgres.Open(ctx, dsn, postgres.Options{StatementTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open while another instance migrates = %v, want it to wait", err)
	}
	s.Close()
	if d := time.Since(begin); d < 400*time.Millisecond {
		t.Errorf("Open returned after %v, before the lock was released", d)
	}
}
