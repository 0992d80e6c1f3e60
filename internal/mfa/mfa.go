package mfa

import (
	"time"

	"github.com/otpgate/otpgate/otp"
)

// MaxNameLength is the longest user or group name accepted, in bytes.
const MaxNameLength = 64

// MaxDisplayNameLength is the longest display name accepted, in bytes.
const MaxDisplayNameLength = 128

// MaxGroups is the most groups a user may be in.
const MaxGroups = 64

// User is one account. Its second factors are its confirmed Authenticators.
type User struct {
	// ID is assigned by the store on creation.
	ID int64
	// Name is the login name: 1 to MaxNameLength bytes of lower-case letters,
	// digits, '.', '_', '-' and '@' (see ValidateName).
	Name string
	// PasswordHash is the argon2id hash of the password in PHC format,
	// parameters included; empty means the user cannot sign in with a
	// password.
	PasswordHash string
	// Admin marks an administrator.
	Admin bool
	// Disabled users cannot sign in; their data stays.
	Disabled bool
	// DisplayName is the name shown to people and passed to protected apps
	// (forward-auth's Remote-Name): up to MaxDisplayNameLength bytes of
	// UTF-8 without control characters; empty means none (see
	// ValidateDisplayName).
	DisplayName string
	// Groups are the user's groups, for access rules and forward-auth's
	// Remote-Groups: each a valid user name (see ValidateGroups), sorted,
	// without duplicates; nil means none.
	Groups []string
	// Created is when the user was created.
	Created time.Time
	// Source is the first factor that vouches for the account (see
	// FirstFactor.Name): "local" (or empty, the same) for a password of
	// otpgate's own, "ldap", "pam" for an account of the centre's, which
	// has no PasswordHash and whose record was made at its first sign-in.
	Source string
	// Mail is the user's e-mail address, for notifications: from the
	// source, or set by an administrator; empty means none.
	Mail string
	// ExternalID is the account's stable ID at its source (an LDAP
	// entryUUID), unique per source; empty for local accounts. A renamed
	// account is found by it, and keeps its second factor.
	ExternalID string
}

// SourceLocal is the Source of accounts with a password of otpgate's own.
const SourceLocal = "local"

// IsLocal reports whether the user's password is otpgate's own.
func (u User) IsLocal() bool { return u.Source == "" || u.Source == SourceLocal }

// Authenticator is one TOTP generator enrolled by a user (an authenticator
// app on a phone). A user may have several, each with its own secret.
type Authenticator struct {
	// ID is chosen by Service (random, 32 hex digits) so that it can be
	// bound into the sealed secret before the row exists.
	ID string
	// UserID owns the authenticator.
	UserID int64
	// Name is shown to the user, e.g. "Authenticator app".
	Name string
	// SealedSecret is the TOTP secret encrypted with Cipher; stores keep it
	// as an opaque value.
	SealedSecret []byte
	// Algorithm, Digits and Period are the code parameters (see otp.Key).
	Algorithm otp.Algorithm
	Digits    int
	Period    time.Duration
	// Created is when enrolment started.
	Created time.Time
	// Confirmed is when the user confirmed it with a code; zero means
	// pending, and a pending authenticator never counts as a second factor.
	Confirmed time.Time
	// LastUsed is when a code of it was last accepted; zero means never.
	LastUsed time.Time
	// LastStep is the last TOTP step accepted; a later code must have a
	// larger step (see AuthenticatorStore.UseStep). Valid only when
	// LastUsed or Confirmed is set.
	LastStep uint64
}

// Level is how far a session has got through sign-in.
type Level int

const (
	// LevelPassword means the password was checked and a second factor is
	// still needed: the session may only reach the second-step page (or,
	// when the operator requires a second factor, TOTP setup).
	LevelPassword Level = 1
	// LevelFull means the user is fully signed in and passed a second
	// factor.
	LevelFull Level = 2
	// LevelNoSecondFactor means the user is fully signed in with the
	// password alone, having had no second factor to pass. Should the user
	// set one up later (a file, or TOTP from a terminal), the session has
	// not passed it, and counts as LevelPassword (see Service.Session).
	LevelNoSecondFactor Level = 3
)

// Full reports whether a session at this level is fully signed in, with or
// without a second factor.
func (l Level) Full() bool { return l == LevelFull || l == LevelNoSecondFactor }

// Session is a signed-in browser. The token the browser holds is never
// stored: only its SHA-256 (see HashToken).
type Session struct {
	// TokenHash is HashToken of the cookie value.
	TokenHash []byte
	// UserID is the signed-in user.
	UserID int64
	// Level is how far sign-in has got.
	Level Level
	// Created and LastSeen bound the session's absolute and idle expiry.
	Created  time.Time
	LastSeen time.Time
}

// ThrottlePolicy says how failures on one key (an account or a client
// address) slow down further attempts: the first Free failures cost nothing,
// then each attempt must wait Base·2^(failures-Free) after the last one, at
// most Max; failures older than Forget are forgotten. No policy locks an
// account for good.
type ThrottlePolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// Delay returns how long after the last failure an attempt must wait when
// failures have been counted.
func (p ThrottlePolicy) Delay(failures int) time.Duration {
	if failures < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// ThrottleWait applies p to a key that counted failures, the last at
// last: it returns the failures still counted at now (none once p.Forget
// has passed since the last) and how long an attempt must still wait. The
// stores use it so that every store decides alike.
func ThrottleWait(p ThrottlePolicy, failures int, last, now time.Time) (int, time.Duration) {
	if failures <= 0 || now.Sub(last) >= p.Forget {
		return 0, 0
	}
	d := p.Delay(failures)
	if d == 0 {
		return failures, 0
	}
	return failures, max(last.Add(d).Sub(now), 0)
}

// Valid reports whether p is a policy a Service can use: Free >= 0,
// 0 < Base <= Max, Forget > 0.
func (p ThrottlePolicy) Valid() bool {
	return p.Free >= 0 && p.Base > 0 && p.Base <= p.Max && p.Forget > 0
}

// TrustedBrowser is a browser whose owner chose "Don't ask for a code on
// this browser": until Expires, a sign-in there with the right password
// skips the code. The cookie is never stored: only its SHA-256 (see
// HashToken), bound to one user.
type TrustedBrowser struct {
	TokenHash []byte
	UserID    int64
	// Created, Expires and LastUsed are when it was trusted, until when,
	// and when it last skipped a code.
	Created, Expires, LastUsed time.Time
	// UserAgent and Addr are the browser's User-Agent (cut to 256 bytes)
	// and the client's address at its last use, shown to the owner.
	UserAgent, Addr string
}
