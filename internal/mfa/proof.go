package mfa

import (
	"context"
	"strings"
	"time"
)

// Proof is how a signed-in user shows that it is them before a lasting
// change (adding or removing a second factor, new recovery codes): a
// session that signed in within Options.FreshFor, or the password and, for
// a user with a second factor, a current code typed again.
type Proof struct {
	// Session is the session asking.
	Session Session
	// Password and Code are typed again when the session is not fresh.
	Password string
	Code     string
	// Addr is the client's address, for the log.
	Addr string
}

// Fresh reports whether sess signed in recently enough to make lasting
// changes without typing its factors again.
func (s *Service) Fresh(sess Session) bool {
	return s.now().Sub(sess.Created) < s.opts.FreshFor
}

// prove checks p for u: OK for a fresh session that typed nothing, else
// what Reauthenticate says of the typed factors.
func (s *Service) prove(ctx context.Context, u User, p Proof) (Result, error) {
	if p.Password == "" && p.Code == "" {
		if s.Fresh(p.Session) {
			return Result{Outcome: OK, User: u, Account: u.Name}, nil
		}
		return Result{Outcome: BadCredentials, Reason: ReasonWrongPassword, Account: u.Name}, nil
	}
	return s.Reauthenticate(ctx, u, p.Password, p.Code)
}

// Reauthenticate checks the password and, when the user has a second
// factor, a current code (or a recovery code, which is used up) of a
// signed-in user, counted on the user's Reauth counter: BadCredentials for
// a wrong password, CodeRequired when the code is missing, BadCode,
// Throttled, or OK.
func (s *Service) Reauthenticate(ctx context.Context, u User, password, code string) (Result, error) {
	res, err := s.reauthenticate(ctx, u, password, code)
	if err == nil {
		res.Account = u.Name
		s.auditResult(ctx, ActionReauth, "", res)
	}
	return res, err
}

func (s *Service) reauthenticate(ctx context.Context, u User, password, code string) (Result, error) {
	now := s.now()
	rc := []counter{s.reauthCounter(u.ID)}
	if res, err := s.retypedPassword(ctx, u, password, rc, now); err != nil || res.Outcome != OK {
		return res, err
	}
	f, err := s.factorOf(ctx, u)
	if err != nil {
		return Result{}, err
	}
	code = strings.TrimSpace(code)
	var res Result
	switch {
	case f == factorNone:
		res = Result{Outcome: OK, User: u}
	case code == "":
		res = Result{Outcome: CodeRequired, User: u, FromFile: f == factorFile}
	case f == factorFile:
		res = s.checkFileCode(ctx, u, code, now)
	default:
		if res, err = s.checkCode(ctx, u, code, now); err != nil {
			return Result{}, err
		}
	}
	res.Account = u.Name
	if res.Outcome == BadCode {
		return res, s.fail(ctx, rc, now)
	}
	return res, nil
}

// RemoveSecondFactor removes the user's authenticators and recovery codes,
// and forgets its trusted browsers, once the user has shown who it is
// (see Proof).
func (s *Service) RemoveSecondFactor(ctx context.Context, u User, p Proof) (Result, error) {
	res, err := s.prove(ctx, u, p)
	if err != nil || res.Outcome != OK {
		return res, err
	}
	if err := s.store.DeleteAuthenticators(ctx, u.ID); err != nil {
		return Result{}, err
	}
	if err := s.store.DeleteTrustedBrowsers(ctx, u.ID); err != nil {
		return Result{}, err
	}
	s.notify(ctx, Event{Kind: EventFactorRemoved, User: u, Addr: p.Addr})
	return res, nil
}

// ChangePassword sets a new password after checking the current one
// (counted on the user's Reauth counter) and ends all of the user's
// sessions.
func (s *Service) ChangePassword(ctx context.Context, u User, current, password string) (Result, error) {
	if !u.IsLocal() {
		return Result{}, ErrSourcePassword
	}
	if err := ValidatePassword(password); err != nil {
		return Result{}, err
	}
	now := s.now()
	rc := []counter{s.reauthCounter(u.ID)}
	if res, err := s.retypedPassword(ctx, u, current, rc, now); err != nil || res.Outcome != OK {
		return res, err
	}
	if err := s.setPassword(ctx, u.ID, password); err != nil {
		return Result{}, err
	}
	s.notify(ctx, Event{Kind: EventPasswordChanged, User: u})
	return Result{Outcome: OK, User: u, Account: u.Name}, nil
}

// retypedPassword checks a password a signed-in user typed again, on the
// counters rc: Throttled while they wait, BadCredentials (counted) when
// wrong, else OK.
func (s *Service) retypedPassword(ctx context.Context, u User, password string, rc []counter, now time.Time) (Result, error) {
	wait, err := s.wait(ctx, rc, now)
	if err != nil || wait > 0 {
		return throttled(wait, ReasonThrottled), err
	}
	right, err := s.checkOwnPassword(ctx, u, password)
	if err != nil {
		return Result{}, err
	}
	if !right {
		return Result{Outcome: BadCredentials, Reason: ReasonWrongPassword, Account: u.Name}, s.fail(ctx, rc, now)
	}
	return Result{Outcome: OK}, nil
}
