package mfa

import (
	"context"
	"errors"
	"fmt"
)

// ErrHasTOTP is returned by EnrolWithPassword for a user who has a
// confirmed authenticator in the store: another one is added only from a
// signed-in session (Personal settings → Security), never with the
// password alone.
var ErrHasTOTP = fmt.Errorf("TOTP is set up already: %w", ErrConflict)

// EnrolWithPassword starts a TOTP setup for a client that signs in with
// name and password only (the terminal command "otpgate enrol"): the
// attempt is throttled and checked like a sign-in; a user whose second
// factor is a state file must also give a current code from it (Outcome
// CodeRequired without one), so that the password alone cannot replace a
// second factor. On OK the enrolment is returned; the setup is confirmed
// with ConfirmEnrolment.
func (s *Service) EnrolWithPassword(ctx context.Context, a LoginAttempt) (LoginResult, Enrollment, error) {
	res, err := s.Login(ctx, a)
	if err != nil || (res.Outcome != OK && res.Outcome != CodeRequired) {
		return res, Enrollment{}, err
	}
	if has, err := s.HasTOTP(ctx, res.User.ID); err != nil || has {
		if err == nil {
			err = ErrHasTOTP
		}
		return res, Enrollment{}, err
	}
	if res.Outcome != OK {
		return res, Enrollment{}, nil
	}
	e, err := s.BeginEnrollment(ctx, res.User)
	return res, e, err
}

// ConfirmEnrolment confirms the setup id of user name with a code from the
// new authenticator, throttled like a sign-in: Outcome OK with the
// Confirmation, BadCode for a wrong code, Throttled, or BadCredentials for
// an unknown or disabled user. A setup that expired or does not exist
// gives ErrNotFound.
func (s *Service) ConfirmEnrolment(ctx context.Context, name, id, code, addr string) (LoginResult, Confirmation, error) {
	name = NormalizeName(name)
	if len(name) > MaxNameLength {
		name = name[:MaxNameLength]
	}
	ra, err := s.throttle(ctx, name, addr, s.now())
	if err != nil {
		return LoginResult{}, Confirmation{}, err
	}
	if ra > 0 {
		return LoginResult{Outcome: Throttled, RetryAfter: ra, Reason: "throttled"}, Confirmation{}, nil
	}
	u, err := s.store.UserByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return LoginResult{Outcome: BadCredentials, Reason: "unknown user"}, Confirmation{}, nil
	}
	if err != nil {
		return LoginResult{}, Confirmation{}, err
	}
	if u.Disabled {
		return LoginResult{Outcome: BadCredentials, Reason: "user disabled"}, Confirmation{}, nil
	}
	c, err := s.ConfirmEnrollment(ctx, u, id, code)
	if errors.Is(err, ErrWrongCode) {
		return LoginResult{Outcome: BadCode, User: u, Reason: "wrong setup code"}, Confirmation{}, nil
	}
	if err != nil {
		return LoginResult{User: u}, Confirmation{}, err
	}
	return LoginResult{Outcome: OK, User: u, HasTOTP: true}, c, s.succeeded(ctx, name, addr, true)
}
