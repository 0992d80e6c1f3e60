// Package mfa is the core of the otpgate server: the domain types (User,
// Authenticator, Session, recovery codes, throttling state), the small store
// interfaces that every storage backend implements (internal/sqlite and
// internal/postgres), the error kinds stores return, and Service, which
// holds the rules that must be the same whatever the store: password
// hashing with argon2id behind a bounded queue, TOTP secrets sealed with
// AES-256-GCM, a code accepted at most once, throttling with growing
// delays, single-use recovery codes, hashed session tokens, and the checks
// a lasting change needs (Proof).
//
// A user's second factor is, in this order: a confirmed authenticator in the
// store; else, when a FileFactor is configured, the user's
// google-authenticator state file; else none, and the password alone
// suffices unless the site requires a second factor of everyone
// (Options.RequireSecondFactor) or, from a deadline, of the user's groups
// (Options.Enforce, enforce.go, and the rules administrators keep in the
// store, enforcerules.go, read again every Options.EnforceReload,
// enforceload.go): then the Outcome is SetupRequired, and before the
// deadline Result.SetupDaysLeft tells how many days are left. Coverage
// (coverage.go) counts each enforced group's members with a second
// factor, users' files included.
//
// # Throttling and the odds it gives
//
// Throttles lists the counters. Someone without the password can make the
// password counters wait, but a sign-in with the password and a code
// together is still checked while they do, and answered OK or Throttled
// only: it tells nothing about the password, and a user with both factors
// is never kept out. Someone with the password guesses codes within the
// user's code budget (DefaultThrottles.Code: 3 free, then 5 minutes
// doubling to 8 hours, forgotten after 24 quiet hours), which the owner's
// sign-ins never reset. The best strategy against it is 9 quick guesses
// then 24 hours of silence, about 2,700 guesses a year; at 3 accepted codes
// in 10^6 (a ±1 step window) that is 0.81% a year. TestCodeBudgetOdds runs
// the schedule for a year at a fixed clock. The owner is told of the wrong
// codes at the next sign-in (Result.CodeFailures).
//
// # Audit log
//
// Every sign-in step, code check, enrolment, change to a factor and
// administrator's action is handed to Deps.Audit as an AuditEntry
// (audit.go), stamped with the time and the request's Client from the
// context (WithClient: address, path, actor); AuditLog writes them to the
// store from one goroutine and drops, counted, rather than make a sign-in
// wait. No entry holds a password, a code, a secret or a token.
//
// The package imports no database driver and no net/http; the stores and the
// web package import it.
package mfa
