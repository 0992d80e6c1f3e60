package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Source is the name a FirstFactor gives (mfa.FirstFactor.Name), stored
// with the users it vouches for (mfa.Identity.Source).
const Source = "ldap"

// FirstFactor is a Directory as otpgate's core asks it (mfa.FirstFactor):
// the errors are the core's kinds, each wrapping the Directory's error,
// whose text is for the log only.
//
// Authenticate: an unknown name (no entry matches the user search, or the
// name is one no account has) is mfa.ErrNotFound, so that the next first
// factor is asked; a wrong password and an account that is disabled,
// locked or expired, or matched by more than one entry, are
// mfa.ErrBadCredentials; a directory that does not answer is
// mfa.ErrUnavailable. In direct bind (UserDNTemplate) a failed bind cannot
// tell an unknown name from a wrong password, so with a service account
// (BindDN) a refused bind is followed by a read of the DN as that
// account: no entry is mfa.ErrNotFound. Without one, both are
// mfa.ErrBadCredentials, and later first factors are not asked.
//
// Lookup: gone from the directory is mfa.ErrNotFound, disabled, locked or
// expired there mfa.ErrBadCredentials, no answer mfa.ErrUnavailable.
type FirstFactor struct{ d *Directory }

// FirstFactor returns d as an mfa.FirstFactor.
func (d *Directory) FirstFactor() FirstFactor { return FirstFactor{d: d} }

var _ mfa.FirstFactor = FirstFactor{}

// Name returns Source, "ldap".
func (FirstFactor) Name() string { return Source }

// Authenticate checks name's password against the directory.
func (f FirstFactor) Authenticate(ctx context.Context, name, password string) (mfa.Identity, error) {
	var tr CheckResult
	a, err := f.d.authenticate(ctx, name, password, &tr)
	if err != nil {
		kind := authKind(err, &tr)
		if kind == mfa.ErrBadCredentials && f.unknownDN(ctx, name, &tr) {
			kind = mfa.ErrNotFound
		}
		return mfa.Identity{}, kindError{kind: kind, err: err}
	}
	return identity(a), nil
}

// unknownDN tells, after a refused bind in direct bind, whether the DN
// tried has no entry: a failed bind does not say, so the service account
// reads the DN. It does so for every refused bind, whether the entry
// exists or not, so that the time does not tell. Without a service
// account (anonymous reads, which an ACL may hide entries from) it never
// says so.
func (f FirstFactor) unknownDN(ctx context.Context, name string, tr *CheckResult) bool {
	if tr.Mode != "direct bind" || f.d.s.bindDN == "" || !strings.HasPrefix(tr.Bind, "refused") {
		return false
	}
	_, err := f.d.lookup(ctx, name, &CheckResult{})
	return errors.Is(err, errNoEntry)
}

// Lookup returns name's identity as the service account (or anonymously)
// sees it, for session checks.
func (f FirstFactor) Lookup(ctx context.Context, name string) (mfa.Identity, error) {
	a, err := f.d.Lookup(ctx, name)
	if err != nil {
		return mfa.Identity{}, kindError{kind: lookupKind(err), err: err}
	}
	return identity(a), nil
}

// Ping is the Directory's Ping: the core's health check asks every first
// factor that has one.
func (f FirstFactor) Ping(ctx context.Context) error { return f.d.Ping(ctx) }

// Ping checks that a server answers: it reads the root DSE (RFC 4512
// §5.1) on a search connection, bound as the service account when there
// is one. It gives an error wrapping ErrUnavailable, for /healthz.
func (d *Directory) Ping(ctx context.Context) error {
	return d.searches.with(ctx, func(c *conn) error {
		req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, d.timeLimit(), false, "(objectClass=*)", []string{"supportedLDAPVersion"}, nil)
		err := c.do(ctx, d.s.searchTimeout, func() error {
			_, err := c.Search(req)
			return err
		})
		if err != nil && !errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("%w: root DSE: %v", ErrUnavailable, err)
		}
		return err
	})
}

func identity(a Account) mfa.Identity {
	return mfa.Identity{
		Name:        mfa.NormalizeName(a.Name),
		Source:      Source,
		ExternalID:  a.UniqueID,
		DisplayName: a.DisplayName,
		Mail:        a.Mail,
		Groups:      a.Groups,
	}
}

// authKind maps an error of authenticate to the core's kind.
func authKind(err error, tr *CheckResult) error {
	var ne nameError
	switch {
	case errors.Is(err, ErrUnavailable):
		return mfa.ErrUnavailable
	case errors.As(err, &ne):
		return mfa.ErrNotFound
	case errors.Is(err, errNoEntry) && tr.Entries == 0 && tr.Mode == "search-then-bind":
		return mfa.ErrNotFound
	default:
		// ErrBadCredentials, and anything unforeseen: refuse.
		return mfa.ErrBadCredentials
	}
}

// lookupKind maps an error of Lookup to the core's kind.
func lookupKind(err error) error {
	var se stateError
	switch {
	case errors.Is(err, ErrUnavailable):
		return mfa.ErrUnavailable
	case errors.As(err, &se):
		return mfa.ErrBadCredentials
	case errors.Is(err, ErrNotFound):
		return mfa.ErrNotFound
	default:
		return mfa.ErrBadCredentials
	}
}

// kindError is err, also matching kind (an mfa error kind) with
// errors.Is; its text is err's, the cause for the log.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }
