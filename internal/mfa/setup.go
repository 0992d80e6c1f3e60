package mfa

import (
	"context"
	"errors"
	"fmt"
)

// SetupToken returns a new one-time token for the first administrator when
// the store has no user, and ok false when it has users already.
func (s *Service) SetupToken(ctx context.Context) (token string, ok bool, err error) {
	users, err := s.store.Users(ctx)
	if err != nil || len(users) > 0 {
		return "", false, err
	}
	if token, err = newToken(s.rand); err != nil {
		return "", false, err
	}
	err = s.store.CreateSetupToken(ctx, HashToken(token), s.now().Add(s.opts.SetupTTL))
	if errors.Is(err, ErrConflict) {
		return "", false, nil
	}
	return token, err == nil, err
}

// ErrSetupLink is returned by CreateFirstAdmin for a setup token that is
// unknown, expired or used, or when users exist already.
var ErrSetupLink = fmt.Errorf("setup link invalid: %w", ErrNotFound)

// CreateFirstAdmin uses the setup token to create the first administrator.
// The cheap checks come first: the address's counter (wrong setup links
// count on it like wrong passwords), the token and that no user exists.
// Only then is the password hashed, so that a flood of bogus setups costs
// no hashing. When the counter makes it wait, the Result is Throttled and
// nothing else happens.
func (s *Service) CreateFirstAdmin(ctx context.Context, token string, nu NewUser, addr string) (User, Result, error) {
	u, res, err := s.createFirstAdmin(ctx, token, nu, addr)
	if err == nil || errors.Is(err, ErrSetupLink) {
		s.auditResult(ctx, ActionSetup, addr, res)
	}
	return u, res, err
}

func (s *Service) createFirstAdmin(ctx context.Context, token string, nu NewUser, addr string) (User, Result, error) {
	now := s.now()
	var cs []counter
	if addr != "" {
		cs = append(cs, s.addressCounter("setup", addr))
	}
	wait, err := s.wait(ctx, cs, now)
	if err != nil {
		return User{}, Result{}, err
	}
	if wait > 0 {
		return User{}, throttled(wait, ReasonThrottled), nil
	}
	valid, err := s.store.SetupTokenValid(ctx, HashToken(token), now)
	if err != nil {
		return User{}, Result{}, err
	}
	if !valid {
		return User{}, Result{Outcome: BadCredentials, Reason: ReasonSetupLinkInvalid}, errors.Join(ErrSetupLink, s.fail(ctx, cs, now))
	}
	nu.Admin = true
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return User{}, Result{}, err
	}
	u, err = s.store.CreateFirstAdmin(ctx, HashToken(token), u, now)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return User{}, Result{Outcome: BadCredentials, Reason: ReasonSetupLinkInvalid}, ErrSetupLink
	}
	return u, Result{Outcome: OK, User: u, Account: u.Name}, err
}
