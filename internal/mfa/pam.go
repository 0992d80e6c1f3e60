package mfa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// PAMAttempt is one authentication a registered host's PAM stack asks for
// (the pam_otpgate module): a user whose password the host's stack checked
// already, and the code the user gave.
type PAMAttempt struct {
	// Name is the PAM user.
	Name string
	// Code is the user's answer to the code prompt; empty when none.
	Code string
	// Service, RHost and TTY are PAM_SERVICE, PAM_RHOST and PAM_TTY, for
	// the log; RHost, the client's address, is also the address whose
	// counter wrong passwords count on.
	Service, RHost, TTY string
	// CheckPassword asks for Password to be checked here with the site's
	// first factors, as a sign-in does, for a PAM service whose stack has
	// no other password module. Only a host that may (Host.AllowPassword)
	// asks it; an empty Password is then wrong, never "none".
	CheckPassword bool
	Password      string
}

// ErrHostNoPassword is what PAMCheck returns for a host that asks for a
// password check it may not ask for.
var ErrHostNoPassword = fmt.Errorf("%w: this host may not have passwords checked (otpgate host add --allow-password)", ErrInvalid)

// PAMCheck checks the second factor of a user of host h by name, for the
// PAM module, with the code budget and replay rules of the second login
// step: one budget and one record of used codes cover PAM, the pages and
// the JSON API, so that a code accepted in one is refused in the others.
//
// A name that cannot be one is BadCredentials; an unknown user and a user
// without a second factor get NoSecondFactor (the two are never told
// apart), or SetupRequired when the site requires a second factor; a
// disabled user BadCredentials; a user with a factor and no code
// CodeRequired; then the code decides (OK, BadCode, Throttled).
//
// With a.CheckPassword, the password is checked first, exactly as Login
// checks it (the password counters of the name and of a.RHost, the first
// factors in order), and a right password of a user without a second
// factor gives NoSecondFactor. Only stores' and sources' failures are
// returned as errors, and ErrHostNoPassword.
func (s *Service) PAMCheck(ctx context.Context, h Host, a PAMAttempt) (Result, error) {
	// The user's address is the module's PAM_RHOST, not the host's.
	c := ClientFrom(ctx)
	c.Addr, c.Path = a.RHost, PathPAM
	ctx = WithClient(ctx, c)
	if a.CheckPassword {
		if !h.AllowPassword {
			return Result{}, ErrHostNoPassword
		}
		return s.pamWithPassword(ctx, a)
	}
	res, err := s.pamCode(ctx, a)
	if err == nil {
		s.auditResult(ctx, ActionSecondFactor, a.RHost, res)
	}
	return res, err
}

// pamCode is PAMCheck for a host whose stack checked the password.
func (s *Service) pamCode(ctx context.Context, a PAMAttempt) (Result, error) {
	name, ok := pamName(a.Name)
	if !ok {
		return Result{Outcome: BadCredentials, Reason: ReasonUnknownUser}, nil
	}
	u, err := s.store.UserByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return s.noSecondFactor(ctx, Result{Reason: ReasonUnknownUser})
	}
	if err != nil {
		return Result{}, err
	}
	if u.Disabled {
		return Result{Outcome: BadCredentials, Reason: ReasonDisabled, Account: u.Name}, nil
	}
	f, err := s.factorOf(ctx, u)
	if err != nil {
		return Result{}, err
	}
	code := strings.TrimSpace(a.Code)
	switch {
	case f == factorNone:
		return s.noSecondFactor(ctx, Result{User: u, Account: u.Name, Reason: ReasonNoSecondFactor})
	case code == "":
		return Result{Outcome: CodeRequired, User: u, Account: u.Name, FromFile: f == factorFile}, nil
	}
	res, err := s.checkSecondFactor(ctx, u, f, code, s.now())
	res.Account = u.Name
	return res, err
}

// pamName is typedName, and false for a name that is not UTF-8 as given
// (lower-casing would turn its bad bytes into U+FFFD, a name that could be
// looked up): a PAM user name is a C string of any bytes.
func pamName(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	return typedName(s)
}

// noSecondFactor completes res for a user without a second factor (or
// an unknown one, res.User zero): NoSecondFactor, or SetupRequired when
// the site requires one of that user now (RequireSecondFactor, or an
// enforcement rule of the user's groups whose deadline has passed).
func (s *Service) noSecondFactor(ctx context.Context, res Result) (Result, error) {
	due, err := s.due(ctx, res.User)
	if err != nil {
		return Result{}, err
	}
	res.Outcome = NoSecondFactor
	if due.Required(s.now()) {
		res.Outcome = SetupRequired
	}
	return res, nil
}

// pamWithPassword is PAMCheck with the password checked here: a sign-in
// (Login, with a.RHost as the client's address), whose "signed in without
// a second factor" is NoSecondFactor. An empty password is refused before
// any source is asked (a directory would take it for an unauthenticated
// bind), as the sign-in forms refuse it.
func (s *Service) pamWithPassword(ctx context.Context, a PAMAttempt) (Result, error) {
	if a.Password == "" {
		return Result{Outcome: BadCredentials, Reason: ReasonWrongPassword}, nil
	}
	res, err := s.Login(ctx, LoginAttempt{Name: a.Name, Password: a.Password, Code: a.Code, Addr: a.RHost})
	if err == nil && res.Outcome == OK && !res.SecondFactor {
		res.Outcome, res.Reason = NoSecondFactor, ReasonNoSecondFactor
	}
	return res, err
}

// PAMAccount tells the PAM module's account check whether the user may log
// in: OK for a user that exists, is not disabled and, for an account of a
// first factor (a directory), is still known and not locked there;
// BadCredentials otherwise, with the reason for the log. A source that
// cannot be asked gives ErrUnavailable (closed).
func (s *Service) PAMAccount(ctx context.Context, name string) (Result, error) {
	n, ok := pamName(name)
	if !ok {
		return Result{Outcome: BadCredentials, Reason: ReasonUnknownUser}, nil
	}
	u, err := s.store.UserByName(ctx, n)
	if errors.Is(err, ErrNotFound) {
		return Result{Outcome: BadCredentials, Reason: ReasonUnknownUser}, nil
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: BadCredentials, Account: u.Name}
	if u.Disabled {
		res.Reason = ReasonDisabled
		return res, nil
	}
	known, err := s.stillKnown(ctx, u)
	if err != nil {
		return Result{}, err
	}
	if !known {
		res.Reason = ReasonSourceGone
		return res, nil
	}
	return Result{Outcome: OK, User: u, Account: u.Name}, nil
}
