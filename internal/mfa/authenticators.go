package mfa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxAuthenticatorNameLength is the longest authenticator name, in bytes.
const MaxAuthenticatorNameLength = 64

// ErrTooManyAuthenticators is returned by BeginEnrolment for a user who
// has Options.MaxAuthenticators confirmed authenticators already.
var ErrTooManyAuthenticators = fmt.Errorf("too many authenticators: %w", ErrConflict)

// ValidateAuthenticatorName checks the name a user gives an authenticator
// ("Phone", "Tablet"): 1 to MaxAuthenticatorNameLength bytes of UTF-8
// text, no control or invisible characters, no surrounding spaces.
func ValidateAuthenticatorName(s string) error {
	switch {
	case s == "" || strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: the authenticator needs a name", ErrInvalid)
	case len(s) > MaxAuthenticatorNameLength:
		return fmt.Errorf("%w: authenticator name longer than %d bytes", ErrInvalid, MaxAuthenticatorNameLength)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: authenticator name is not valid UTF-8", ErrInvalid)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: authenticator name starts or ends with a space", ErrInvalid)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d' {
			return fmt.Errorf("%w: authenticator name holds a control or invisible character", ErrInvalid)
		}
	}
	return nil
}

// ConfirmedAuthenticators returns the user's confirmed authenticators,
// oldest first: the ones a code is checked against, in that order.
func (s *Service) ConfirmedAuthenticators(ctx context.Context, userID int64) ([]Authenticator, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []Authenticator
	for _, a := range auths {
		if !a.Confirmed.IsZero() {
			a.SealedSecret = nil
			out = append(out, a)
		}
	}
	return out, nil
}

// RenameAuthenticator names one of the user's authenticators (confirmed
// or in setup); a bad name is refused with ErrInvalid and nothing stored.
// A name is no lasting change of security, so no Proof is asked.
func (s *Service) RenameAuthenticator(ctx context.Context, u User, id, name string) error {
	if err := ValidateAuthenticatorName(name); err != nil {
		return err
	}
	return s.store.RenameAuthenticator(ctx, u.ID, id, name)
}

// RemoveAuthenticator removes one confirmed authenticator once the user
// has shown who it is (see Proof); the others stay, and the user's trusted
// browsers are forgotten. Removing the last one
// removes the second factor and the recovery codes with it, as
// RemoveSecondFactor does. ErrNotFound when the user has no such
// confirmed authenticator.
func (s *Service) RemoveAuthenticator(ctx context.Context, u User, id string, p Proof) (Result, error) {
	res, err := s.prove(ctx, u, p)
	if err != nil || res.Outcome != OK {
		return res, err
	}
	auths, err := s.ConfirmedAuthenticators(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	found := false
	for _, a := range auths {
		found = found || a.ID == id
	}
	if !found {
		return Result{}, fmt.Errorf("authenticator %s: %w", id, ErrNotFound)
	}
	if len(auths) == 1 {
		err = s.store.DeleteAuthenticators(ctx, u.ID)
	} else {
		err = s.store.DeleteAuthenticator(ctx, u.ID, id)
	}
	if errors.Is(err, ErrNotFound) {
		return Result{}, fmt.Errorf("authenticator %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Result{}, err
	}
	// A removed factor may be a lost phone: the browsers it let in are
	// asked for a code again.
	if err := s.store.DeleteTrustedBrowsers(ctx, u.ID); err != nil {
		return Result{}, err
	}
	s.notify(ctx, Event{Kind: EventFactorRemoved, User: u, Addr: p.Addr})
	return res, nil
}
