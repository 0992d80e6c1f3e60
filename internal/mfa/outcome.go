package mfa

import (
	"fmt"
	"time"
)

// Outcome is the result of a sign-in step in terms a login form shows.
type Outcome int

// The outcomes of Login, SecondFactor, Reauthenticate, ConfirmEnrolment
// and PAMCheck.
const (
	// OK: signed in (or, for a check, passed).
	OK Outcome = iota
	// BadCredentials: unknown user, wrong password or disabled account;
	// the three are never told apart.
	BadCredentials
	// CodeRequired: the password is right and a code is needed.
	CodeRequired
	// BadCode: the code is wrong, malformed or already used.
	BadCode
	// Throttled: too many failures; retry after Result.RetryAfter. While
	// the password counters wait, an attempt with the password and a code
	// together is answered OK or Throttled, nothing else.
	Throttled
	// SetupRequired: the password is right, the user has no second factor
	// and the site requires one: the user must set one up first.
	SetupRequired
	// Expired: the TOTP setup to confirm is unknown or expired (or its
	// user is: the three are never told apart).
	Expired
	// NoSecondFactor (PAMCheck only): the user has no second factor here,
	// or is unknown (the two are never told apart), and the site does not
	// require one; with a password checked here, the password was right.
	NoSecondFactor
)

var outcomeNames = [...]string{"ok", "credentials_wrong", "code_required", "code_wrong", "throttled", "setup_required", "expired",
	"no_second_factor"}

// String returns the outcome's name in the JSON API.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Reason is the real cause of an outcome, for the log and for pages that
// say more than the outcome (a reused code, a file's rate limit). It never
// reaches a client that has not shown the password.
type Reason int

// The reasons of a Result.
const (
	ReasonNone Reason = iota
	ReasonUnknownUser
	ReasonWrongPassword
	ReasonDisabled
	ReasonThrottled
	ReasonTooManyCodes
	ReasonMalformedCode
	ReasonWrongCode
	ReasonCodeReused
	ReasonWrongRecoveryCode
	ReasonRecoveryCode
	ReasonFileCode
	ReasonFileRateLimited
	ReasonFile
	ReasonWrongSetupCode
	ReasonSetupExpired
	ReasonSetupLinkInvalid
	ReasonNoSecondFactor
	ReasonSourceGone
	ReasonSetupRequired
	// ReasonClockOff: the code would match with the phone's clock off
	// by Result.ClockOff, more than the window allows.
	ReasonClockOff
)

var reasonNames = [...]string{"", "unknown user", "wrong password", "user disabled", "throttled", "too many wrong codes", "malformed code",
	"wrong code", "code already used", "wrong or used recovery code", "recovery code", "file code",
	"file: rate limited", "file", "wrong setup code", "setup expired or unknown", "setup link invalid",
	"no second factor", "gone from its source or locked there",
	"second factor required: set it up first", "clock off"}

// String names the reason as logged.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// LoginAttempt is one sign-in: a name and password, optionally a code (TOTP
// or recovery), and the client's address for throttling.
type LoginAttempt struct {
	Name     string
	Password string
	Code     string
	Addr     string
}

// Result says how a sign-in step ended.
type Result struct {
	Outcome Outcome
	// Reason is the real cause, for the log (see Reason).
	Reason Reason
	// File is the verdict of the user's file, when one was asked.
	File FileVerdict
	// Cause is a first factor's own words on a refusal (a locked
	// directory account, say), for the log only.
	Cause string
	// User is set for OK, CodeRequired, SetupRequired, and BadCode of a
	// setup's confirmation.
	User User
	// Account is the name of the account the attempt was for, when one
	// exists, for the log: an unknown name is often a password typed in
	// the wrong field, and is not kept.
	Account string
	// SecondFactor tells, for OK, whether the user passed a second factor
	// (a confirmed authenticator, a recovery code, or the user's file).
	SecondFactor bool
	// FromFile tells that the user's second factor is the user's file.
	FromFile bool
	// RetryAfter is set for Throttled.
	RetryAfter time.Duration
	// CodeFailures is set for OK: how many wrong codes were given after the
	// right password since the user's previous successful sign-in. More
	// than none means someone else may know the password; the user is told.
	CodeFailures int
	// RecoveryLeft is set for OK with a recovery code: how many are left.
	RecoveryLeft int
	// SetupDeadline and SetupDaysLeft are set for OK without a second
	// factor when the site's rules will require one (see Enforcement):
	// the deadline, and the days left before it, rounded up.
	SetupDeadline time.Time
	SetupDaysLeft int
	// Drift is set for OK with a TOTP code: how many steps the code was
	// off the server's clock (positive: the phone is ahead).
	Drift int
	// Digits is set for BadCode of the store's authenticators: how many
	// digits the user's (first) authenticator shows, for "Enter the 6
	// digits your app shows".
	Digits int
	// ClockOff is set for ReasonClockOff: how far ahead (positive) or
	// behind the phone's clock seems to be.
	ClockOff time.Duration
}

// LogReason is the reason as logged: a refusal by the user's file says so,
// with the file's verdict.
func (r Result) LogReason() string {
	switch {
	case r.Cause != "":
		return r.Reason.String() + ": " + r.Cause
	case r.Reason == ReasonFile:
		return "file: " + r.File.String()
	case r.FromFile && r.Outcome != OK && r.Reason != ReasonFileRateLimited && r.Reason != ReasonThrottled:
		return "file: " + r.Reason.String()
	}
	return r.Reason.String()
}

func throttled(wait time.Duration, reason Reason) Result {
	return Result{Outcome: Throttled, RetryAfter: wait, Reason: reason}
}
