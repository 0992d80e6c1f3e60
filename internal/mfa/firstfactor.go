package mfa

import (
	"context"
	"errors"
)

// ErrBadCredentials is what a FirstFactor returns, wrapped with the real
// cause for the log, when it knows the name and refuses the sign-in: a
// wrong password, a locked, disabled or expired account. The next first
// factor is not asked.
var ErrBadCredentials = errors.New("bad credentials")

// Identity is who a first factor says an account is.
type Identity struct {
	// Name is the login name, normalized (see NormalizeName).
	Name string
	// Source is the name of the first factor that vouches for it (see
	// FirstFactor.Name).
	Source string
	// ExternalID is the account's stable ID at its source (an LDAP
	// entryUUID, a uid number), so that an account renamed there keeps its
	// second factor here; empty for local accounts.
	ExternalID string
	// DisplayName and Mail are what the source says; empty when it says
	// nothing.
	DisplayName string
	Mail        string
	// Groups are the account's groups at its source; nil when the source
	// says nothing of groups (the stored ones stay).
	Groups []string
}

// FirstFactor checks passwords against one source of accounts: the local
// argon2id passwords (Service's own, LocalFirstFactor), an LDAP directory,
// the system's PAM stack. A site lists them in order (Deps.FirstFactors);
// for each sign-in the first one that knows the name decides (see
// Service.Login).
type FirstFactor interface {
	// Name names the source, as users it vouches for are stored
	// (User.Source): "local", "ldap", "pam".
	Name() string
	// Authenticate checks name's password. An unknown name gives an error
	// wrapping ErrNotFound (the next first factor is asked); a known name
	// refused, ErrBadCredentials; a source that cannot be asked,
	// ErrUnavailable. Errors wrap the real cause, for the log only.
	Authenticate(ctx context.Context, name, password string) (Identity, error)
	// Lookup returns name's identity without a password (for sessions: an
	// account removed from its source is refused), ErrNotFound when the
	// source no longer has it, ErrBadCredentials when it is locked or
	// disabled there, ErrUnavailable when the source cannot be asked.
	Lookup(ctx context.Context, name string) (Identity, error)
}
