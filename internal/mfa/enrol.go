package mfa

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// Enrolment is a TOTP setup in progress: the key to show as a QR code and
// as text, until the user confirms it with a code.
type Enrolment struct {
	// ID is the pending authenticator's ID.
	ID string
	// URI holds the issuer, the account and the key.
	URI otp.URI
	// Name is the pending authenticator's name.
	Name string
	// Resumed tells that the setup was started earlier and is shown
	// again with the same key, so that an entry the user scanned then
	// still works.
	Resumed bool
	// Started is when the setup was started; it expires EnrolmentTTL
	// later.
	Started time.Time
}

// maxPending bounds a user's unconfirmed setups: starting another removes
// the oldest, so that repeated clicks cannot fill the store.
const maxPending = 3

// ErrHasTOTP is returned by EnrolWithPassword for a user who has a
// confirmed authenticator in the store: another one is added only from a
// signed-in session (Personal settings → Security), never with the
// password alone.
var ErrHasTOTP = fmt.Errorf("TOTP is set up already: %w", ErrConflict)

// BeginEnrolment creates a pending authenticator with a new secret (160
// bits, with the parameters of Options.Enrol: by default SHA-1, 6 digits,
// 30 s, what every app supports) once the user has
// shown who it is (see Proof): adding a second factor is a lasting change.
// A setup the user started before and neither confirmed nor cancelled
// (CancelEnrolment) is returned again instead, with Resumed set, until it
// expires (Options.EnrolmentTTL).
func (s *Service) BeginEnrolment(ctx context.Context, u User, p Proof) (Result, Enrolment, error) {
	res, err := s.prove(ctx, u, p)
	if err != nil || res.Outcome != OK {
		return res, Enrolment{}, err
	}
	e, err := s.beginEnrolment(ctx, u)
	return res, e, err
}

func (s *Service) beginEnrolment(ctx context.Context, u User) (Enrolment, error) {
	auths, err := s.store.Authenticators(ctx, u.ID)
	if err != nil {
		return Enrolment{}, err
	}
	var pending []Authenticator
	confirmed := 0
	for _, a := range auths {
		if a.Confirmed.IsZero() {
			pending = append(pending, a)
		} else {
			confirmed++
		}
	}
	if confirmed >= s.opts.MaxAuthenticators {
		return Enrolment{}, fmt.Errorf("at most %d: %w", s.opts.MaxAuthenticators, ErrTooManyAuthenticators)
	}
	// The newest unexpired setup is kept: coming back shows its key.
	for i := len(pending) - 1; i >= 0; i-- {
		a := pending[i]
		if s.now().Sub(a.Created) >= s.opts.EnrolmentTTL {
			continue
		}
		key, err := s.key(a)
		if err != nil {
			return Enrolment{}, err
		}
		e := s.enrolment(u, a, key.Secret)
		e.Resumed = true
		return e, nil
	}
	for len(pending) >= maxPending {
		if err := s.store.DeleteAuthenticator(ctx, u.ID, pending[0].ID); err != nil && !errors.Is(err, ErrNotFound) {
			return Enrolment{}, err
		}
		pending = pending[1:]
	}
	idb := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, idb); err != nil {
		return Enrolment{}, fmt.Errorf("authenticator id: %w", err)
	}
	secret, err := otp.NewSecret(s.rand, 0)
	if err != nil {
		return Enrolment{}, err
	}
	name := "Authenticator app"
	if confirmed > 0 {
		name = fmt.Sprintf("Authenticator app %d", confirmed+1)
	}
	a := Authenticator{ID: hex.EncodeToString(idb), UserID: u.ID, Name: name,
		Algorithm: s.opts.Enrol.Algorithm, Digits: s.opts.Enrol.Digits, Period: s.opts.Enrol.Period, Created: s.now()}
	if a.SealedSecret, err = s.cipher.Seal(secret, u.ID, a.ID); err != nil {
		return Enrolment{}, err
	}
	if err := s.store.CreateAuthenticator(ctx, a); err != nil {
		return Enrolment{}, err
	}
	return s.enrolment(u, a, secret), nil
}

func (s *Service) enrolment(u User, a Authenticator, secret []byte) Enrolment {
	return Enrolment{ID: a.ID, Name: a.Name, Started: a.Created, URI: otp.URI{Type: "totp", Issuer: s.opts.Issuer, Account: u.Name,
		Key: otp.Key{Secret: secret, Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period}}}
}

// CancelEnrolment removes the user's pending setup id, so that the next
// one starts with a new key; a setup that is unknown, expired or confirmed
// already is no error, and a confirmed authenticator is never removed.
func (s *Service) CancelEnrolment(ctx context.Context, u User, id string) error {
	a, err := s.pending(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteAuthenticator(ctx, u.ID, a.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// PendingSetup returns the user's newest unexpired setup in progress, and
// false when there is none; the Security page offers to continue it.
func (s *Service) PendingSetup(ctx context.Context, userID int64) (Authenticator, bool, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return Authenticator{}, false, err
	}
	for i := len(auths) - 1; i >= 0; i-- {
		if a := auths[i]; a.Confirmed.IsZero() && s.now().Sub(a.Created) < s.opts.EnrolmentTTL {
			return a, true, nil
		}
	}
	return Authenticator{}, false, nil
}

// pending returns the user's unexpired pending authenticator with that ID.
func (s *Service) pending(ctx context.Context, userID int64, id string) (Authenticator, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return Authenticator{}, err
	}
	for _, a := range auths {
		if a.ID == id && a.Confirmed.IsZero() && s.now().Sub(a.Created) < s.opts.EnrolmentTTL {
			return a, nil
		}
	}
	return Authenticator{}, fmt.Errorf("pending authenticator: %w", ErrNotFound)
}

// PendingEnrolment returns a setup in progress again (to show the page
// after a wrong code); ErrNotFound when it expired.
func (s *Service) PendingEnrolment(ctx context.Context, u User, id string) (Enrolment, error) {
	a, err := s.pending(ctx, u.ID, id)
	if err != nil {
		return Enrolment{}, err
	}
	key, err := s.key(a)
	if err != nil {
		return Enrolment{}, err
	}
	return s.enrolment(u, a, key.Secret), nil
}

// Confirmation is the result of a confirmed TOTP setup.
type Confirmation struct {
	// Drift is how many steps the phone's clock is ahead (positive) or
	// behind (negative) of the server's.
	Drift int
	// RecoveryCodes are new recovery codes to show once, when this is the
	// user's first authenticator; empty otherwise.
	RecoveryCodes []string
}

// ConfirmEnrolment checks a code from the pending authenticator id of u and
// confirms it; the matched step counts as used. Outcome OK with the
// Confirmation, BadCode (ReasonWrongSetupCode) for a code that does not
// match, Expired for a setup that expired or does not exist.
func (s *Service) ConfirmEnrolment(ctx context.Context, u User, id, code string) (Result, Confirmation, error) {
	res, c, err := s.confirmEnrolment(ctx, u, id, code)
	if err == nil {
		s.auditResult(ctx, ActionEnrol, "", res)
	}
	return res, c, err
}

func (s *Service) confirmEnrolment(ctx context.Context, u User, id, code string) (Result, Confirmation, error) {
	a, err := s.pending(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return Result{Outcome: Expired, Reason: ReasonSetupExpired, Account: u.Name}, Confirmation{}, nil
	}
	if err != nil {
		return Result{}, Confirmation{}, err
	}
	key, err := s.key(a)
	if err != nil {
		return Result{}, Confirmation{}, err
	}
	now := s.now()
	step, err := key.Verify(strings.TrimSpace(code), now, s.opts.Window)
	if err != nil {
		return Result{Outcome: BadCode, Reason: ReasonWrongSetupCode, User: u, Account: u.Name}, Confirmation{}, nil
	}
	codes, hashes, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return Result{}, Confirmation{}, err
	}
	first, err := s.store.ConfirmAuthenticator(ctx, u.ID, a.ID, step, now, hashes)
	if errors.Is(err, ErrNotFound) {
		return Result{Outcome: Expired, Reason: ReasonSetupExpired, Account: u.Name}, Confirmation{}, nil
	}
	if err != nil {
		return Result{}, Confirmation{}, err
	}
	c := Confirmation{Drift: int(int64(step) - int64(key.Step(now)))}
	if first {
		c.RecoveryCodes = codes
	}
	s.notify(ctx, Event{Kind: EventFactorAdded, User: u})
	return Result{Outcome: OK, User: u, Account: u.Name, SecondFactor: true, Drift: c.Drift}, c, nil
}

// EnrolWithPassword starts a TOTP setup for a client that signs in with
// name and password only (the terminal command "otpgate enrol"): the
// attempt is throttled and checked like a sign-in; a user whose second
// factor is a state file must also give a current code from it (Outcome
// CodeRequired without one), so that the password alone cannot replace a
// second factor. On OK the enrolment is returned; the setup is confirmed
// with ConfirmEnrolmentByName.
func (s *Service) EnrolWithPassword(ctx context.Context, a LoginAttempt) (Result, Enrolment, error) {
	res, err := s.Login(ctx, a)
	if err != nil {
		return res, Enrolment{}, err
	}
	switch res.Outcome {
	case SetupRequired:
		// Setting up is what is required.
		res.Outcome = OK
	case OK, CodeRequired:
	default:
		return res, Enrolment{}, nil
	}
	if has, err := s.HasTOTP(ctx, res.User.ID); err != nil || has {
		if err == nil {
			err = ErrHasTOTP
		}
		return res, Enrolment{}, err
	}
	if res.Outcome != OK {
		return res, Enrolment{}, nil
	}
	e, err := s.beginEnrolment(ctx, res.User)
	return res, e, err
}

// EnrolConfirm is a setup's confirmation by a client without a session:
// the user's name as typed, the setup's ID, the code from the new
// authenticator, and the client's address.
type EnrolConfirm struct {
	Name, ID, Code, Addr string
}

// ConfirmEnrolmentByName confirms a setup for a client without a session
// (the terminal command): as ConfirmEnrolment, but an unknown or disabled
// user gets the answer of an expired setup, Expired, so that the endpoint
// does not tell which users exist. Unknown setups and wrong codes count on
// the address's counter, and wait while it does.
func (s *Service) ConfirmEnrolmentByName(ctx context.Context, ec EnrolConfirm) (Result, Confirmation, error) {
	res, c, err := s.confirmEnrolmentByName(ctx, ec)
	if err == nil {
		s.auditResult(ctx, ActionEnrol, ec.Addr, res)
	}
	return res, c, err
}

func (s *Service) confirmEnrolmentByName(ctx context.Context, ec EnrolConfirm) (Result, Confirmation, error) {
	now := s.now()
	var cs []counter
	if ec.Addr != "" {
		cs = append(cs, s.addressCounter("address", ec.Addr))
	}
	wait, err := s.wait(ctx, cs, now)
	if err != nil || wait > 0 {
		return throttled(wait, ReasonThrottled), Confirmation{}, err
	}
	res := Result{Outcome: Expired, Reason: ReasonSetupExpired}
	var c Confirmation
	if n, ok := typedName(ec.Name); ok {
		u, err := s.store.UserByName(ctx, n)
		switch {
		case err == nil && !u.Disabled:
			if res, c, err = s.confirmEnrolment(ctx, u, ec.ID, ec.Code); err != nil {
				return Result{}, Confirmation{}, err
			}
		case err == nil:
			res.Reason, res.Account = ReasonDisabled, u.Name
		case !errors.Is(err, ErrNotFound):
			return Result{}, Confirmation{}, err
		default:
			res.Reason = ReasonUnknownUser
		}
	}
	if res.Outcome != OK {
		return res, c, s.fail(ctx, cs, now)
	}
	return res, c, nil
}
