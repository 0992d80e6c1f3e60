package mfa_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
)

// slowFiles is a file factor whose files all look usable, and whose
// looks wait for the test to open the gate: a count with many slow
// account look-ups.
type slowFiles struct{ gate chan struct{} }

func (f slowFiles) HasFile(context.Context, string) bool { return true }
func (f slowFiles) VerifyCode(context.Context, string, string, time.Time) mfa.FileVerdict {
	return mfa.FileWrongCode
}
func (f slowFiles) CheckFile(ctx context.Context, _ string) mfa.FileState {
	select {
	case <-f.gate:
	case <-ctx.Done():
	}
	return mfa.FileUsable
}

// TestCoverageSlowCount, in a synctest bubble: the first count of a group
// is waited for however long it takes; once a count is CoverageTTL old, a
// caller waits 2 s for the next and then gets the older one, while the
// count goes on (beyond the caller's own timeout too) and is there for
// the next caller.
func TestCoverageSlowCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		for _, name := range []string{"ann", "bob"} {
			if _, err := store.CreateUser(ctx, mfa.User{Name: name, Groups: []string{"hpc"}, Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		files := slowFiles{gate: make(chan struct{})}
		svc := mfa.NewService(mfa.Deps{Store: store, Files: files, Now: func() time.Time { return now }}, mfa.Options{})
		got := make(chan []mfa.GroupCoverage, 1)
		go func() {
			c, err := svc.Coverage(ctx, []string{"hpc"})
			if err != nil {
				t.Error(err)
			}
			got <- c
		}()
		time.Sleep(time.Minute) // the bubble's clock: the first count is waited for
		synctest.Wait()
		select {
		case c := <-got:
			t.Fatalf("Coverage() = %v before its files were looked at", c)
		default:
		}
		files.gate <- struct{}{}
		files.gate <- struct{}{}
		if c := <-got; c[0] != (mfa.GroupCoverage{Group: "hpc", Members: 2, Enrolled: 2, FromFile: 2}) {
			t.Fatalf("first Coverage() = %+v", c)
		}

		// A TTL later: bob has been disabled, and looks are slow again.
		bob, _ := store.UserByName(ctx, "bob")
		bob.Disabled = true
		if err := store.UpdateUser(ctx, bob); err != nil {
			t.Fatal(err)
		}
		now = now.Add(svc.Options().CoverageTTL)
		start := time.Now()
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		c, err := svc.Coverage(short, []string{"hpc"})
		if err != nil || c[0].Members != 2 || time.Since(start) != time.Second {
			t.Errorf("Coverage() with an older count, a 1 s timeout = %+v, %v after %v, want the older count after 1 s", c, err, time.Since(start))
		}
		start = time.Now()
		c, err = svc.Coverage(ctx, []string{"hpc"})
		if err != nil || c[0].Members != 2 || time.Since(start) != 2*time.Second {
			t.Errorf("Coverage() with an older count = %+v, %v after %v, want the older count after 2 s", c, err, time.Since(start))
		}
		files.gate <- struct{}{}
		synctest.Wait()
		c, err = svc.Coverage(ctx, []string{"hpc"})
		if err != nil || c[0] != (mfa.GroupCoverage{Group: "hpc", Members: 1, Enrolled: 1, FromFile: 1}) {
			t.Errorf("Coverage() once the count is done = %+v, %v, want the new count", c, err)
		}
	})
}
