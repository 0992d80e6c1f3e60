package mfa

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// Options are the rules of a Service; zero fields take the defaults named.
type Options struct {
	// Issuer is the name authenticator apps show beside the account;
	// empty means "otpgate".
	Issuer string
	// Window is the range of TOTP steps accepted around now; the zero
	// Window accepts the current step only, so callers set otp.Skew(1).
	Window otp.Window
	// Throttles are the limits on failures; zero fields take
	// DefaultThrottles' (see Throttles).
	Throttles Throttles
	// RequireSecondFactor makes a second factor mandatory: a user without
	// one who gives the right password gets SetupRequired, and must set
	// one up before anything else.
	RequireSecondFactor bool
	// Enforce, if not nil, makes a second factor mandatory for members of
	// some groups from a deadline (see Enforcement): the rules of the
	// file; those set on the admin pages (EnforceRecord) apply with them.
	// RequireSecondFactor overrides both.
	Enforce *Enforcement
	// EnforceReload is how long the rules kept in the store are used
	// before they are read again, which bounds how long a change made on
	// another server on the same store takes to apply here; zero means
	// 30 seconds. A change made here applies at once.
	EnforceReload time.Duration
	// Location is the time zone in which a stored rule's deadline day
	// starts (the file's dates are read in the same one); nil means
	// time.Local.
	Location *time.Location
	// CoverageTTL is how long a group's enrolment coverage is kept once
	// counted (the metrics' scrape interval); zero means 30 seconds.
	CoverageTTL time.Duration
	// SessionIdle and SessionMax are the idle and absolute session
	// lifetimes; zero means 1 hour and 12 hours.
	SessionIdle time.Duration
	SessionMax  time.Duration
	// FreshFor is how long after a sign-in that passed every factor the
	// session may make lasting changes (add or remove a second factor, new
	// recovery codes) without checking them again; zero means 5 minutes.
	FreshFor time.Duration
	// EnrolmentTTL is how long an unconfirmed TOTP setup stays usable
	// (and is shown again with the same key); zero means 7 days.
	EnrolmentTTL time.Duration
	// Enrol is the policy of new enrolments (algorithm, digits, period);
	// each authenticator keeps the parameters it was enrolled with, so a
	// change of policy breaks nobody.
	Enrol EnrolPolicy
	// TrustFor is how long a browser may skip the code once its owner
	// chose "Don't ask for a code on this browser" (the site's maximum);
	// zero means never: the choice is not offered.
	TrustFor time.Duration
	// MaxAuthenticators is how many confirmed authenticators a user may
	// have; zero means 5. Each one adds 3 codes valid at any moment (with
	// a ±1 window) to what a guess may hit.
	MaxAuthenticators int
	// SetupTTL is how long the first administrator's setup link works;
	// zero means 24 hours.
	SetupTTL time.Duration
	// CodeFailureAlert is after how many wrong codes following the right
	// password the owner is told at once (EventCodeFailures), and again
	// after each as many more; zero means 3.
	CodeFailureAlert int
}

func (o *Options) setDefaults() {
	if o.Issuer == "" {
		o.Issuer = "otpgate"
	}
	o.Throttles.setDefaults()
	if o.SessionIdle == 0 {
		o.SessionIdle = time.Hour
	}
	if o.SessionMax == 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.FreshFor == 0 {
		o.FreshFor = 5 * time.Minute
	}
	if o.EnrolmentTTL == 0 {
		o.EnrolmentTTL = 7 * 24 * time.Hour
	}
	o.Enrol = o.Enrol.withDefaults()
	if o.MaxAuthenticators == 0 {
		o.MaxAuthenticators = 5
	}
	if o.SetupTTL == 0 {
		o.SetupTTL = 24 * time.Hour
	}
	if o.CodeFailureAlert <= 0 {
		o.CodeFailureAlert = 3
	}
	if o.EnforceReload <= 0 {
		o.EnforceReload = 30 * time.Second
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.CoverageTTL <= 0 {
		o.CoverageTTL = 30 * time.Second
	}
}

// Service holds the rules of sign-in, enrolment, recovery codes, sessions
// and the first administrator's setup, on top of a Store. Each concern has
// a file of its own: signin.go, throttle.go, enrol.go, recovery.go,
// session.go, setup.go, users.go, and host.go and pam.go for the PAM
// module's hosts and checks.
type Service struct {
	store  Store
	hasher *Hasher
	cipher *Cipher
	rand   io.Reader
	now    func() time.Time
	opts   Options
	files  FileFactor
	events func(context.Context, Event)
	// ended hears of sessions ended (see Deps.SessionEnded).
	ended func(context.Context, SessionEnd)
	// auditHook hears of every entry of the audit log.
	auditHook func(context.Context, AuditEntry)
	// firstFactors are the sources of accounts, in the site's order.
	firstFactors []FirstFactor
	// decided is the moving average of a decided password check, in
	// nanoseconds (see padRefusal).
	decided atomic.Int64
	// enforced are the enforcement rules in force (enforceload.go).
	enforced rulesInForce
	// coverage keeps the groups' coverage counted (coverage.go).
	coverage coverageCache
}

// Deps are what a Service is built from.
type Deps struct {
	Store  Store
	Hasher *Hasher
	Cipher *Cipher
	// Rand supplies secrets, tokens and recovery codes (crypto/rand.Reader
	// in production).
	Rand io.Reader
	// Now tells the time (time.Now in production).
	Now func() time.Time
	// Files, if not nil, gives a second factor to users without a
	// confirmed authenticator in the store: their state files.
	Files FileFactor
	// FirstFactors are the sources of accounts that check passwords, in
	// order (see Service.Login); LocalPasswords stands for otpgate's own.
	// Empty means LocalPasswords alone.
	FirstFactors []FirstFactor
	// Events, if not nil, hears of every change to an account's factors
	// (for the log, and later the owner's notifications). It must not
	// block.
	Events func(context.Context, Event)
	// Audit, if not nil, hears of every sign-in step, code check,
	// enrolment, change to a factor and administrator's action, stamped
	// with the time and the context's Client (see WithClient): the audit
	// log (AuditLog.Record) and the metrics. It must not block.
	Audit func(context.Context, AuditEntry)
	// SessionEnded, if not nil, hears of every session ended before its
	// time: signing out, signing out everywhere, an administrator ending
	// sessions, a new password, a disabled, deleted or reset account, a
	// first second factor (the other sessions never passed it). The OpenID
	// provider tells the applications of those sessions. It must not block
	// for long: the page that ended the session waits for it.
	SessionEnded func(context.Context, SessionEnd)
}

// NewService returns a Service.
func NewService(d Deps, opts Options) *Service {
	opts.setDefaults()
	ffs := d.FirstFactors
	if len(ffs) == 0 {
		ffs = []FirstFactor{LocalPasswords}
	}
	return &Service{store: d.Store, hasher: d.Hasher, cipher: d.Cipher, rand: d.Rand, now: d.Now, opts: opts, files: d.Files,
		events: d.Events, ended: d.SessionEnded, auditHook: d.Audit, firstFactors: ffs}
}

// Options returns the rules in force, defaults filled in.
func (s *Service) Options() Options { return s.opts }

// Now tells the time by the service's clock (Deps.Now).
func (s *Service) Now() time.Time { return s.now() }

// pinger is a store that can tell whether its database answers.
type pinger interface {
	Ping(ctx context.Context) error
}

// PartDown is the error of Ping: which part does not answer ("database",
// or a first factor's name such as "ldap"), and why.
type PartDown struct {
	Part string
	Err  error
}

// Error says which part is unavailable and why.
func (e *PartDown) Error() string { return e.Part + " unavailable: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *PartDown) Unwrap() error { return e.Err }

// Ping reports whether the store and every first factor that can tell
// (one with a Ping method, such as a directory) answer; a *PartDown names
// the first that does not.
func (s *Service) Ping(ctx context.Context) error {
	if p, ok := s.store.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return &PartDown{Part: "database", Err: err}
		}
	}
	for _, ff := range s.firstFactors {
		if p, ok := ff.(pinger); ok {
			if err := p.Ping(ctx); err != nil {
				return &PartDown{Part: ff.Name(), Err: err}
			}
		}
	}
	return nil
}
