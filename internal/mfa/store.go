package mfa

import (
	"context"
	"time"
)

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores u (ID ignored) and returns it with its ID; a name
	// already taken gives ErrConflict.
	CreateUser(ctx context.Context, u User) (User, error)
	// User returns the user with that ID, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)
	// UserByName returns the user with that name, or ErrNotFound.
	UserByName(ctx context.Context, name string) (User, error)
	// UserByExternalID returns the user of that source with that
	// ExternalID, or ErrNotFound.
	UserByExternalID(ctx context.Context, source, id string) (User, error)
	// Users returns every user, ordered by name.
	Users(ctx context.Context) ([]User, error)
	// UpdateUser stores the name, password hash, Admin, Disabled,
	// DisplayName, Groups, Mail, Source and ExternalID of u.ID; a name or external
	// ID another user has gives ErrConflict.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes the user and everything it owns.
	DeleteUser(ctx context.Context, id int64) error
}

// SetupStore holds the one-time token that lets the first administrator in.
type SetupStore interface {
	// CreateSetupToken replaces any setup token with one whose hash is given,
	// valid until expires. It returns ErrConflict when users exist already.
	CreateSetupToken(ctx context.Context, hash []byte, expires time.Time) error
	// CreateFirstAdmin consumes the setup token with that hash (valid at now)
	// and creates u, in one transaction: ErrNotFound for no such valid token,
	// ErrConflict when a user exists already.
	CreateFirstAdmin(ctx context.Context, hash []byte, u User, now time.Time) (User, error)
	// SetupTokenValid reports whether a setup token with that hash is valid
	// at now and no user exists yet, changing nothing.
	SetupTokenValid(ctx context.Context, hash []byte, now time.Time) (bool, error)
}

// AuthenticatorStore keeps users' TOTP authenticators and enforces that a
// time step is accepted at most once.
type AuthenticatorStore interface {
	// CreateAuthenticator stores a pending authenticator (Confirmed zero).
	CreateAuthenticator(ctx context.Context, a Authenticator) error
	// Authenticators returns the user's authenticators, oldest first.
	Authenticators(ctx context.Context, userID int64) ([]Authenticator, error)
	// ConfirmAuthenticator marks a pending authenticator confirmed at now,
	// with step as its first used step: ErrNotFound when no such pending
	// authenticator exists (of concurrent confirmations, one finds it). When
	// it is the user's first confirmed authenticator, the user's recovery
	// codes are replaced with firstCodes in the same transaction and first
	// is true; of concurrent confirmations of two authenticators of one
	// user, one is first.
	ConfirmAuthenticator(ctx context.Context, userID int64, id string, step uint64, now time.Time, firstCodes [][]byte) (first bool, err error)
	// UseStep records that step of a confirmed authenticator was accepted at
	// now, in one conditional statement, so that of concurrent calls with the
	// same step exactly one succeeds. A step at or before the last accepted
	// one gives ErrReplay; no such confirmed authenticator, ErrNotFound.
	UseStep(ctx context.Context, userID int64, id string, step uint64, now time.Time) error
	// RenameAuthenticator sets the name of one of the user's
	// authenticators (ErrNotFound if absent).
	RenameAuthenticator(ctx context.Context, userID int64, id, name string) error
	// DeleteAuthenticator removes one authenticator (ErrNotFound if absent).
	DeleteAuthenticator(ctx context.Context, userID int64, id string) error
	// DeleteAuthenticators removes all of the user's authenticators and
	// recovery codes (a lost phone).
	DeleteAuthenticators(ctx context.Context, userID int64) error
	// DeletePendingAuthenticators removes enrolments never confirmed and
	// created before the given time.
	DeletePendingAuthenticators(ctx context.Context, before time.Time) error
	// ImportAuthenticator stores a as confirmed (at a.Confirmed, with
	// a.LastStep used) and replaces the user's recovery codes with these
	// hashes, in one transaction: ErrConflict, and nothing changes, when the
	// user has a confirmed authenticator already (of concurrent imports for
	// one user, one succeeds); ErrNotFound when there is no such user.
	ImportAuthenticator(ctx context.Context, a Authenticator, recoveryHashes [][]byte) error
}

// RecoveryStore keeps the hashes of users' recovery codes.
type RecoveryStore interface {
	// ReplaceRecoveryCodes deletes the user's codes and stores these hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte, now time.Time) error
	// UseRecoveryCode marks the unused code with that hash used, in one
	// conditional statement; ErrNotFound when there is no such unused code.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error
	// RecoveryCodesLeft counts the user's unused codes.
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
}

// SessionStore keeps signed-in sessions by token hash.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with that token hash, or ErrNotFound.
	Session(ctx context.Context, tokenHash []byte) (Session, error)
	// TouchSession sets the session's LastSeen.
	TouchSession(ctx context.Context, tokenHash []byte, now time.Time) error
	// DeleteSession removes one session; absent is not an error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteUserSessions removes every session of the user (sign out
	// everywhere, password change, disabling).
	DeleteUserSessions(ctx context.Context, userID int64) error
	// DeleteExpiredSessions removes sessions created before created or last
	// seen before seen.
	DeleteExpiredSessions(ctx context.Context, created, seen time.Time) error
}

// TrustStore keeps the browsers whose owner chose not to be asked for a
// code on them, by the SHA-256 of their cookie.
type TrustStore interface {
	// CreateTrustedBrowser stores b.
	CreateTrustedBrowser(ctx context.Context, b TrustedBrowser) error
	// TrustedBrowser returns the browser with that token hash, or
	// ErrNotFound.
	TrustedBrowser(ctx context.Context, tokenHash []byte) (TrustedBrowser, error)
	// TouchTrustedBrowser records a use at now from addr.
	TouchTrustedBrowser(ctx context.Context, tokenHash []byte, now time.Time, addr string) error
	// TrustedBrowsers returns the user's trusted browsers, newest first.
	TrustedBrowsers(ctx context.Context, userID int64) ([]TrustedBrowser, error)
	// DeleteTrustedBrowser forgets one of the user's browsers
	// (ErrNotFound if absent).
	DeleteTrustedBrowser(ctx context.Context, userID int64, tokenHash []byte) error
	// DeleteTrustedBrowsers forgets every trusted browser of the user.
	DeleteTrustedBrowsers(ctx context.Context, userID int64) error
	// DeleteExpiredTrustedBrowsers removes those that expire at or before
	// expires or were trusted before created (the site's maximum).
	DeleteExpiredTrustedBrowsers(ctx context.Context, expires, created time.Time) error
}

// ThrottleStore keeps failure counts by key, shared by every server
// instance on the same store. Keys are opaque to it (keyed hashes, see
// Cipher.ThrottleKey).
type ThrottleStore interface {
	// Attempt atomically checks key against p at now: when the key is
	// throttled it returns how long to wait and counts nothing; otherwise it
	// counts one failure (forgetting older ones per p.Forget) and returns 0.
	// Concurrent attempts are serialised, so a burst cannot slip past.
	Attempt(ctx context.Context, key string, p ThrottlePolicy, now time.Time) (retryAfter time.Duration, err error)
	// Forgive takes back one failure counted by Attempt (the attempt
	// succeeded) without resetting the others.
	Forgive(ctx context.Context, key string) error
	// ResetThrottle forgets every failure of key.
	ResetThrottle(ctx context.Context, key string) error
	// ThrottleState returns how many failures key counts at now under p
	// (those older than p.Forget forgotten) and how long an attempt must
	// wait, changing nothing.
	ThrottleState(ctx context.Context, key string, p ThrottlePolicy, now time.Time) (failures int, wait time.Duration, err error)
	// DeleteStaleThrottles removes the keys whose last failure is before
	// the given time.
	DeleteStaleThrottles(ctx context.Context, before time.Time) error
}

// HostStore keeps the machines registered to ask for second-factor checks
// over PAM (see Host), by the hash of their token.
type HostStore interface {
	// CreateHost stores h (ID ignored) and returns it with its ID; a name
	// or token hash already taken gives ErrConflict.
	CreateHost(ctx context.Context, h Host) (Host, error)
	// Hosts returns every host, ordered by name.
	Hosts(ctx context.Context) ([]Host, error)
	// HostByTokenHash returns the host whose token has that hash, or
	// ErrNotFound.
	HostByTokenHash(ctx context.Context, hash []byte) (Host, error)
	// DeleteHost removes the host of that name (ErrNotFound if absent).
	DeleteHost(ctx context.Context, name string) error
}

// Store is everything the server needs from a storage backend.
type Store interface {
	UserStore
	HostStore
	SetupStore
	AuthenticatorStore
	RecoveryStore
	SessionStore
	TrustStore
	ThrottleStore
	KeyCheckStore
	AuditStore
	CoverageStore
	AdminStore
	EnforceStore
	// Close releases the store's resources.
	Close() error
}
