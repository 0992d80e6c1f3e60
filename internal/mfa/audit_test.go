package mfa_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// stuckStore is an audit store whose writes wait until released.
type stuckStore struct {
	release chan struct{}
	mu      sync.Mutex
	got     []mfa.AuditEntry
}

func (s *stuckStore) AppendAudit(_ context.Context, es []mfa.AuditEntry) error {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, es...)
	return nil
}

func (s *stuckStore) AuditLog(context.Context, mfa.AuditFilter) ([]mfa.AuditEntry, error) {
	return nil, nil
}
func (s *stuckStore) PruneAudit(context.Context, time.Time, int) error { return nil }

// TestAuditLogNeverBlocks fills the queue of a writer whose store does not
// answer: Record returns at once, drops what does not fit and counts it,
// and what was queued is written once the store answers.
func TestAuditLogNeverBlocks(t *testing.T) {
	st := &stuckStore{release: make(chan struct{})}
	l := mfa.NewAuditLog(st, mfa.AuditOptions{Queue: 8, Batch: 4}, nil)
	start := time.Now()
	for range 100 {
		l.Record(context.Background(), mfa.AuditEntry{Action: mfa.ActionSignIn, Result: "ok"})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 Record calls on a stuck store took %v", d)
	}
	// One batch may be in flight: at most 8 queued and 4 taken.
	if n := l.Dropped(); n < 100-12 || n > 100-8 {
		t.Errorf("Dropped() = %d, want 88 to 92", n)
	}
	close(st.release)
	l.Close()
	if kept := uint64(len(st.got)); kept+l.Dropped() != 100 {
		t.Errorf("written %d + dropped %d, want 100", kept, l.Dropped())
	}
}

// TestFailureLine checks the documented format of the failure line, with
// a name and a reason that try to break out of their quotes.
func TestFailureLine(t *testing.T) {
	e := mfa.AuditEntry{Time: time.Date(2026, 12, 1, 20, 28, 6, 500, time.FixedZone("x", 3600)), Addr: "192.0.2.7",
		Path: mfa.PathPage, Action: mfa.ActionSignIn, Result: "credentials_wrong", Reason: `wrong password: "x" addr=1.2.3.4`, User: "al\"ice\n"}
	got := mfa.FailureLine(e)
	want := `2026-12-01T19:28:06Z otpgate-failure addr=192.0.2.7 path=page action="sign-in" result=credentials_wrong reason="wrong password: \"x\" addr=1.2.3.4" user="al\"ice\n"` + "\n"
	if got != want {
		t.Errorf("FailureLine() =\n%q\nwant\n%q", got, want)
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("FailureLine() = %q, want one line", got)
	}
}
