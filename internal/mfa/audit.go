package mfa

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Path is the way a request reached otpgate, as the audit log names it.
type Path string

// The paths of AuditEntry.
const (
	PathPage        Path = "page"
	PathAPI         Path = "api"
	PathForwardAuth Path = "forward-auth"
	PathPAM         Path = "pam"
	PathOIDC        Path = "oidc"
	PathCommand     Path = "command"
)

// Actions of the audit log: the sign-in steps, the checks of a signed-in
// session, changes to an account's factors (the names of EventKind) and
// administrators' actions.
const (
	ActionSignIn       = "sign-in"
	ActionSecondFactor = "second factor"
	ActionReauth       = "code check"
	ActionEnrol        = "enrolment"
	ActionSetup        = "first administrator"
	ActionAccess       = "access"
	ActionDisable      = "disable"
	ActionEnable       = "enable"
	ActionDelete       = "delete"
	ActionReset        = "reset second factor"
	ActionSetPassword  = "set password"
	ActionEndSessions  = "end sessions"
	ActionAdd          = "add user"
	ActionProfile      = "profile"
)

// Client is who a request comes from, for the audit log: its address,
// the path it came by and, for an administrator's action, the
// administrator's name. It is request identity, kept in the context (see
// WithClient).
type Client struct {
	Addr  string
	Path  Path
	Actor string
}

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client of ctx; zero when none was set.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// AuditEntry is one line of the audit log. It never holds a password, a
// code, a secret or a token.
type AuditEntry struct {
	// ID is assigned by the store, in order of writing.
	ID   int64
	Time time.Time
	// User is the account's name; empty when the name typed is no
	// account's (it may be a password typed in the wrong field).
	User string
	// Actor is the administrator who acted, for admin actions.
	Actor string
	Addr  string
	Path  Path
	// Action is what was done (the Action* constants, or an event's name).
	Action string
	// Result is the outcome's name (Outcome.String) or "ok".
	Result string
	// Reason is the real cause (Result.LogReason), or what was changed.
	Reason string
	// Drift is, for an accepted TOTP code, how many steps the code was off
	// the server's clock (negative: behind).
	Drift int
	// Code tells that a code was checked (for the metrics; not stored).
	Code bool
}

// auditItem is an entry in the writer's queue, or a Flush's mark.
type auditItem struct {
	e       AuditEntry
	flushed chan struct{}
}

// Failed reports whether the entry records a refused sign-in step or code
// check (not a forward-auth refusal of a signed-in user, "denied").
func (e AuditEntry) Failed() bool {
	switch e.Result {
	case "credentials_wrong", "code_wrong", "throttled", "expired":
		return true
	}
	return false
}

// AuditFilter selects entries of the audit log; zero fields select all.
type AuditFilter struct {
	User   string
	Path   Path
	Action string
	Result string
	// Failed selects the refusals only (see AuditEntry.Failed).
	Failed bool
	// Since and Until bound the time (Until excluded).
	Since, Until time.Time
	// Before selects entries with an ID below it (the next page).
	Before int64
	// Limit is the most entries returned, newest first; zero means 100.
	Limit int
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit stores the entries (IDs ignored) in one transaction.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// AuditLog returns the entries f selects, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// PruneAudit deletes the entries older than before, and the oldest
	// beyond the newest keep ones (keep 0: no bound).
	PruneAudit(ctx context.Context, before time.Time, keep int) error
}

// audit hands e, stamped with the time and ctx's Client, to the Audit
// hook, if any.
func (s *Service) audit(ctx context.Context, e AuditEntry) {
	if s.auditHook == nil {
		return
	}
	c := ClientFrom(ctx)
	e.Time = s.now()
	if c.Addr != "" {
		// The whole address, where throttling keeps an IPv6 /64.
		e.Addr = c.Addr
	}
	if e.Path == "" {
		e.Path = c.Path
	}
	if e.Actor == "" {
		e.Actor = c.Actor
	}
	s.auditHook(ctx, e)
}

// Audit records e in the audit log, stamped as the core's own entries
// are (for the web's forward-auth refusals and admin pages).
func (s *Service) Audit(ctx context.Context, e AuditEntry) { s.audit(ctx, e) }

// auditResult records a sign-in step's Result.
func (s *Service) auditResult(ctx context.Context, action, addr string, res Result) {
	if s.auditHook == nil {
		return
	}
	reason := res.LogReason()
	if res.Outcome == OK && res.Drift != 0 {
		reason = strings.TrimPrefix(reason+", ", ", ") + fmt.Sprintf("clock off by %+d steps", res.Drift)
	}
	code := res.Outcome == BadCode || (res.Outcome == OK && res.SecondFactor) || res.Reason == ReasonTooManyCodes ||
		res.Reason == ReasonFileRateLimited
	s.audit(ctx, AuditEntry{User: res.Account, Addr: addr, Action: action, Result: res.Outcome.String(), Reason: reason,
		Drift: res.Drift, Code: code})
}

// AuditOptions bound an AuditLog.
type AuditOptions struct {
	// Queue is how many entries may wait to be written; one more is
	// dropped (and counted). Zero means 4096.
	Queue int
	// Batch is the most entries written in one transaction; zero means 256.
	Batch int
	// Linger is how long the writer waits for more entries to fill a
	// batch, so that a stream of sign-ins costs the store a few writes a
	// second rather than one each; zero means 50ms.
	Linger time.Duration
	// Failures, if not nil, receives one line per refusal (see
	// FailureLine).
	Failures io.Writer
}

// AuditLog writes audit entries to a store from one goroutine, in
// batches, so that a sign-in never waits for it: when the queue is full
// an entry is dropped and counted (Dropped).
type AuditLog struct {
	store    AuditStore
	queue    chan auditItem
	batch    int
	linger   time.Duration
	failures io.Writer
	fmu      sync.Mutex
	dropped  atomic.Uint64
	failed   atomic.Uint64
	// errLog hears of failed writes.
	errLog func(error)
	done   chan struct{}
	once   sync.Once
}

// NewAuditLog starts the writer; Close stops it after writing what is
// queued. onError, if not nil, hears of each failed write.
func NewAuditLog(store AuditStore, o AuditOptions, onError func(error)) *AuditLog {
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Linger <= 0 {
		o.Linger = 50 * time.Millisecond
	}
	l := &AuditLog{store: store, queue: make(chan auditItem, o.Queue), batch: o.Batch, linger: o.Linger, failures: o.Failures,
		errLog: onError, done: make(chan struct{})}
	go l.run()
	return l
}

// Record queues e without blocking, and writes its failure line.
func (l *AuditLog) Record(_ context.Context, e AuditEntry) {
	if l.failures != nil && e.Failed() && e.Addr != "" {
		line := FailureLine(e)
		l.fmu.Lock()
		io.WriteString(l.failures, line)
		l.fmu.Unlock()
	}
	select {
	case l.queue <- auditItem{e: e}:
	default:
		l.dropped.Add(1)
	}
}

// Dropped counts the entries dropped because the queue was full.
func (l *AuditLog) Dropped() uint64 { return l.dropped.Load() }

// WriteErrors counts the entries lost to failed writes.
func (l *AuditLog) WriteErrors() uint64 { return l.failed.Load() }

func (l *AuditLog) run() {
	defer close(l.done)
	buf := make([]AuditEntry, 0, l.batch)
	var flushes []chan struct{}
	for e := range l.queue {
		buf, flushes = buf[:0], flushes[:0]
		add := func(it auditItem) {
			if it.flushed != nil {
				flushes = append(flushes, it.flushed)
			} else {
				buf = append(buf, it.e)
			}
		}
		add(e)
		linger := time.NewTimer(l.linger)
	more:
		for len(buf) < l.batch && len(flushes) == 0 {
			select {
			case e, ok := <-l.queue:
				if !ok {
					break more
				}
				add(e)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		if len(buf) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := l.store.AppendAudit(ctx, buf)
			cancel()
			if err != nil {
				l.failed.Add(uint64(len(buf)))
				if l.errLog != nil {
					l.errLog(err)
				}
			}
		}
		for _, f := range flushes {
			close(f)
		}
	}
}

// Close writes what is queued and stops the writer; Record must not be
// called after.
func (l *AuditLog) Close() {
	l.once.Do(func() { close(l.queue) })
	<-l.done
}

// Flush waits until every entry queued before it is written (for tests
// and shutdown).
func (l *AuditLog) Flush() {
	done := make(chan struct{})
	l.queue <- auditItem{flushed: done}
	<-done
}

// FailureLine is the line a refusal writes to standard error, for
// fail2ban and the like. Its format is fixed:
//
//	2026-12-01T20:28:06Z otpgate-failure addr=192.0.2.7 path=page action="sign-in" result=credentials_wrong reason="wrong password" user="alice"
//
// time in UTC, then the address, then the rest; values in quotes are Go
// quoted strings, and user is empty for a name that is no account's.
func FailureLine(e AuditEntry) string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05Z"))
	b.WriteString(" otpgate-failure addr=")
	b.WriteString(strings.Map(func(r rune) rune {
		if r <= ' ' || r == '"' || r > '~' {
			return '_'
		}
		return r
	}, e.Addr))
	b.WriteString(" path=")
	b.WriteString(string(e.Path))
	b.WriteString(" action=")
	b.WriteString(strconv.Quote(e.Action))
	b.WriteString(" result=")
	b.WriteString(e.Result)
	b.WriteString(" reason=")
	b.WriteString(strconv.Quote(e.Reason))
	b.WriteString(" user=")
	b.WriteString(strconv.Quote(e.User))
	b.WriteByte('\n')
	return b.String()
}
