package postgres_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/postgres"
)

// TestDatabaseOutage kills the database connection in the middle of a load
// of concurrent code submissions: no step may be accepted twice, every call
// made while the database is away must fail with an error that says so
// (never a success, so the server refuses the sign-in), and the same store
// must work again once the database is back, without being reopened.
func TestDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	dsn, admin, schema := pgtest.Schema(t)
	p, proxied := pgtest.NewProxy(t, dsn)
	s := openStore(t, proxied, postgres.Options{MaxConns: 8, ConnectTimeout: time.Second, StatementTimeout: 2 * time.Second})
	u := seed(t, s)
	sess := mfa.Session{TokenHash: mfa.HashToken("tok"), UserID: u.ID, Level: mfa.LevelFull, Created: t0, LastSeen: t0}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}

	// The load: round after round, 16 concurrent submissions of the next
	// step; per step, count what was accepted.
	var (
		mu       sync.Mutex
		accepted = map[uint64]int{}
		failed   []error
		step     atomic.Uint64
		stop     = make(chan struct{})
		done     = make(chan struct{})
	)
	step.Store(100)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			st := step.Add(1)
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					err := s.UseStep(ctx, u.ID, "a", st, t0)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						accepted[st]++
					case errors.Is(err, mfa.ErrReplay):
					default:
						failed = append(failed, err)
					}
				})
			}
			wg.Wait()
		}
	}()
	roundsAfter := func(from uint64, n uint64) {
		deadline := time.Now().Add(20 * time.Second)
		for step.Load() < from+n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}

	roundsAfter(step.Load(), 20)
	p.Cut()
	outage := step.Load()

	// While the database is away, everything fails, and says why.
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping during the outage = nil, want an error")
	}
	if _, err := s.Session(ctx, sess.TokenHash); err == nil || errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("Session during the outage = %v, want a database error", err)
	}
	if wait, err := s.Attempt(ctx, "user:bob", mfa.DefaultThrottles.Account, t0); err == nil {
		t.Errorf("Attempt during the outage = %v, nil, want an error", wait)
	}
	roundsAfter(outage, 20)

	p.Resume(t)
	back := step.Load()
	roundsAfter(back, 20)
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	var lastAccepted uint64
	for st, n := range accepted {
		if n > 1 {
			t.Errorf("step %d accepted %d times, want at most once", st, n)
		}
		lastAccepted = max(lastAccepted, st)
	}
	if len(failed) == 0 {
		t.Fatal("no UseStep failed while the database was away")
	}
	for _, err := range failed {
		if !strings.HasPrefix(err.Error(), "postgres: ") || !errors.Is(err, mfa.ErrUnavailable) {
			t.Errorf("UseStep during the outage = %q, want postgres: ... database unavailable", err)
			break
		}
	}
	// Recovery without reopening: the rounds after the return accept
	// again (the first may still meet a dead connection).
	recovered := 0
	for st := back + 5; st < back+20; st++ {
		recovered += accepted[st]
	}
	if recovered < 10 {
		t.Errorf("after the database came back, %d of 15 rounds accepted a code, want nearly all", recovered)
	}
	var last int64
	if err := admin.QueryRow(`SELECT last_step FROM ` + schema + `.authenticators WHERE id = 'a'`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if uint64(last) < lastAccepted {
		t.Errorf("last_step in the database = %d, below the last step accepted (%d)", last, lastAccepted)
	}
	if err := s.UseStep(ctx, u.ID, "a", lastAccepted, t0); !errors.Is(err, mfa.ErrReplay) {
		t.Errorf("UseStep(%d) again after recovery = %v, want ErrReplay", lastAccepted, err)
	}
	if _, err := s.Session(ctx, sess.TokenHash); err != nil {
		t.Errorf("Session after recovery = %v", err)
	}
	t.Logf("%d rounds before the outage, %d during, %d after; %d calls failed, the first with %q",
		outage-100, back-outage, step.Load()-back, len(failed), failed[0])
}

// TestTerminatedBackends has the server end every connection of the store
// (as a restart or a failover does): calls may fail while the pool finds
// out, never succeed wrongly, and the store carries on by itself.
func TestTerminatedBackends(t *testing.T) {
	ctx := context.Background()
	dsn, admin, schema := pgtest.Schema(t)
	s := openStore(t, dsn, postgres.Options{MaxConns: 4})
	u := seed(t, s)
	// Warm up several pooled connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { s.RecoveryCodesLeft(ctx, u.ID) })
	}
	wg.Wait()
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		schema).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no backend of the store to terminate")
	}
	// The step used at confirmation is refused whatever happens.
	for i := range 10 {
		if err := s.UseStep(ctx, u.ID, "a", 100, t0); err == nil {
			t.Fatalf("UseStep(100) #%d after termination = nil, want ErrReplay or an error", i)
		}
	}
	// A new step is accepted once, within a few calls.
	var ok, tries int
	for tries = 0; tries < 10 && ok == 0; tries++ {
		if s.UseStep(ctx, u.ID, "a", 101, t0) == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("UseStep(101) after %d backends were terminated: never accepted in %d tries", killed, tries)
	}
	if err := s.UseStep(ctx, u.ID, "a", 101, t0); !errors.Is(err, mfa.ErrReplay) {
		t.Errorf("UseStep(101) again = %v, want ErrReplay", err)
	}
	t.Logf("terminated %d backends; step 101 accepted on try %d", killed, tries)
}

// TestOpenErrors checks that a DSN that does not parse or a server that
// does not answer gives a prompt error that names the problem and not the
// password.
func TestOpenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, dsn, want string
	}{
		{"bad port", "postgres://otpgate:hunter2secret@localhost:notaport/otpgate", "DSN"},
		{"closed port", "postgres://otpgate:hunter2secret@" + closed + "/otpgate?sslmode=disable", "database unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			s, err := postgres.Open(context.Background(), tc.dsn, postgres.Options{ConnectTimeout: time.Second})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) = nil error", tc.name)
			}
			t.Logf("Open(%s) = %q", tc.name, err)
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open(%s) = %q, want it to say %q and not the password", tc.name, err, tc.want)
			}
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("Open(%s) took %v", tc.name, d)
			}
		})
	}
}
