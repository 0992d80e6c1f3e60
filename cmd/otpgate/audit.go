package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// auditSettings are the audit log's settings, and the writer of a
// running command.
type auditSettings struct {
	Retention  time.Duration
	MaxEntries int
	Queue      int
	// failures, when set (by serve), takes the one line per refusal
	// (mfa.FailureLine): the server's standard error.
	failures io.Writer
	// hooks hear of every entry besides the writer (the metrics).
	hooks  []func(context.Context, mfa.AuditEntry)
	writer *mfa.AuditLog
	// coverage, when set, tells the enforced groups' coverage.
	coverage func(context.Context) ([]mfa.GroupCoverage, error)
}

// auditFlags declares the audit log's settings.
func auditFlags(fs *flag.FlagSet, a *auditSettings) {
	fs.DurationVar(&a.Retention, "audit-retention", 90*24*time.Hour, "audit log entries older than this `duration` are deleted (every 10 minutes)")
	fs.IntVar(&a.MaxEntries, "audit-max-entries", 1_000_000, "the audit log keeps at most this many `entries`, the newest")
	fs.IntVar(&a.Queue, "audit-queue", 4096, "audit `entries` that may wait to be written; more are dropped and counted, so that a slow store never makes a sign-in wait")
}

func (a *auditSettings) validate() []error {
	if a.Retention <= 0 || a.MaxEntries < 1 || a.Queue < 1 {
		return []error{errors.New("audit-retention, audit-max-entries and audit-queue must be positive")}
	}
	return nil
}

// start starts the writer on store and returns the hook for mfa.Deps.Audit.
func (a *auditSettings) start(store mfa.AuditStore, log *slog.Logger) func(context.Context, mfa.AuditEntry) {
	a.writer = mfa.NewAuditLog(store, mfa.AuditOptions{Queue: a.Queue, Failures: a.failures}, func(err error) {
		log.Error("audit log: write failed", "err", err)
	})
	return func(ctx context.Context, e mfa.AuditEntry) {
		a.writer.Record(ctx, e)
		for _, h := range a.hooks {
			h(ctx, e)
		}
	}
}

// prune deletes what the retention settings no longer keep.
func (a *auditSettings) prune(ctx context.Context, store mfa.AuditStore, now time.Time) error {
	return store.PruneAudit(ctx, now.Add(-a.Retention), a.MaxEntries)
}

// close writes out what is queued.
func (a *auditSettings) close() {
	if a.writer != nil {
		a.writer.Close()
		a.writer = nil
	}
}
