package mfa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otpgate/otpgate/otp"
)

// fileRateWait is what a user whose file's RATE_LIMIT refused an attempt is
// told to wait when the file cannot tell (see FileRateWaiter): the
// interval google-authenticator writes by default.
const fileRateWait = 30 * time.Second

// typedName returns the normalized name of an attempt, and false when it
// cannot name an account (overlong, not UTF-8, a NUL): such a name is
// refused before any store look-up.
func typedName(s string) (string, bool) {
	name := NormalizeName(s)
	if name == "" || len(name) > MaxNameLength || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		return "", false
	}
	return name, true
}

// Login checks a sign-in attempt: the password counters, the password with
// the site's first factors, then the user's second factor with its own
// budget. Only stores' and sources' failures (ErrUnavailable, and ErrBusy
// from a full hash queue) are returned as errors.
//
// The first factors are asked in order (Deps.FirstFactors), and the first
// that knows the name decides: a wrong password there is wrong, even when
// a later source has an account of that name. Local passwords answer for
// local users only, so a directory account's record never takes a local
// password. A source that cannot be asked is passed over, and when no
// later one knows the name the attempt fails with ErrUnavailable: a
// break-glass local administrator still signs in while the directory is
// down, its users get 503.
//
// The password counters (Throttles.Address and Account) are read before the
// password and counted after it, for wrong passwords only. While one of
// them makes attempts wait, an attempt without a code is answered Throttled
// at once, and one with a code is checked whole and answered OK, when the
// password and the code are both right, or Throttled: it tells nothing
// about the password, so the counters need not hold it off, and a user who
// has both is never kept out by someone who has neither.
//
// Every attempt answered is recorded in the audit log (Deps.Audit).
func (s *Service) Login(ctx context.Context, a LoginAttempt) (Result, error) {
	res, err := s.login(ctx, a)
	if err == nil {
		s.auditResult(ctx, ActionSignIn, a.Addr, res)
	}
	return res, err
}

func (s *Service) login(ctx context.Context, a LoginAttempt) (Result, error) {
	now := s.now()
	name, ok := typedName(a.Name)
	if !ok {
		if a.Addr != "" {
			if err := s.fail(ctx, []counter{s.addressCounter("address", a.Addr)}, now); err != nil {
				return Result{}, err
			}
		}
		return Result{Outcome: BadCredentials, Reason: ReasonUnknownUser}, nil
	}
	cs := s.passwordCounters(name, a.Addr)
	wait, err := s.wait(ctx, cs, now)
	if err != nil {
		return Result{}, err
	}
	code := strings.TrimSpace(a.Code)
	strict := wait > 0
	if strict && code == "" {
		return throttled(wait, ReasonThrottled), nil
	}
	start := time.Now()
	c, err := s.firstFactor(ctx, name, a.Password)
	if err == nil && !c.hashed {
		// Every attempt costs one hash, whichever source decided: the time
		// does not tell a local account from another or from none.
		_, err = s.hasher.Check(ctx, a.Password, "")
	}
	if err != nil {
		return Result{}, err
	}
	u, reason := c.user, c.reason
	if reason == ReasonNone || reason == ReasonWrongPassword {
		s.noteDecided(time.Since(start))
	}
	if reason != ReasonNone {
		s.padRefusal(ctx, start)
	}
	if reason == ReasonNone && u.Disabled {
		reason = ReasonDisabled
	}
	if reason != ReasonNone {
		if err := s.fail(ctx, cs, now); err != nil {
			return Result{}, err
		}
		res := Result{Outcome: BadCredentials, Reason: reason, Account: u.Name, Cause: c.cause}
		if strict {
			res.Outcome, res.RetryAfter = Throttled, wait
		}
		return res, nil
	}
	res, err := s.afterPassword(ctx, u, code, now)
	if err != nil {
		return Result{}, err
	}
	res.Account = u.Name
	if res.Outcome == BadCode {
		// The password was right: the form goes on to the code prompt.
		res.User = u
	}
	if strict && (res.Outcome != OK || !res.SecondFactor) {
		// The client learns nothing, not even from the reason.
		return Result{Outcome: Throttled, RetryAfter: max(wait, res.RetryAfter), Reason: ReasonThrottled, Account: u.Name}, nil
	}
	return res, nil
}

// afterPassword goes on with a user whose password was right.
func (s *Service) afterPassword(ctx context.Context, u User, code string, now time.Time) (Result, error) {
	f, err := s.factorOf(ctx, u)
	if err != nil {
		return Result{}, err
	}
	due, err := s.due(ctx, u)
	if err != nil {
		return Result{}, err
	}
	switch {
	case f == factorNone && due.Required(now):
		return Result{Outcome: SetupRequired, User: u, Reason: ReasonSetupRequired}, nil
	case f == factorNone:
		return Result{Outcome: OK, User: u, SetupDeadline: due.Deadline, SetupDaysLeft: due.DaysLeft(now)}, nil
	case code == "":
		return Result{Outcome: CodeRequired, User: u, FromFile: f == factorFile}, nil
	}
	return s.checkSecondFactor(ctx, u, f, code, now)
}

// SecondFactor checks the code of a user whose password was checked before
// (the second login page), with the code budget and replay rules of Login.
func (s *Service) SecondFactor(ctx context.Context, userID int64, code string) (Result, error) {
	res, err := s.secondFactor(ctx, userID, code)
	if err == nil {
		s.auditResult(ctx, ActionSecondFactor, "", res)
	}
	return res, err
}

func (s *Service) secondFactor(ctx context.Context, userID int64, code string) (Result, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	if u.Disabled {
		return Result{Outcome: BadCredentials, Reason: ReasonDisabled, Account: u.Name}, nil
	}
	// Without files, checkCode alone decides (it reads the authenticators
	// itself); with them, the file counts only for a user without a
	// confirmed authenticator.
	f := factorStore
	if s.files != nil {
		if f, err = s.factorOf(ctx, u); err != nil {
			return Result{}, err
		}
	}
	res, err := s.checkSecondFactor(ctx, u, f, strings.TrimSpace(code), s.now())
	res.Account = u.Name
	if res.Outcome == BadCode {
		res.User = u
	}
	return res, err
}

// checkSecondFactor checks code against the user's factor f within the
// user's code budget (Throttles.Code). The attempt is counted first, so
// that concurrent guesses cannot slip past the budget, and taken back when
// it succeeds; the budget is never reset, so the owner's sign-ins give
// someone else who knows the password no fresh guesses.
func (s *Service) checkSecondFactor(ctx context.Context, u User, f factor, code string, now time.Time) (Result, error) {
	cc := s.codeCounter(u.ID)
	ra, err := s.store.Attempt(ctx, cc.key, cc.policy, now)
	if err != nil {
		return Result{}, err
	}
	if ra > 0 {
		return Result{Outcome: Throttled, RetryAfter: ra, Reason: ReasonTooManyCodes, FromFile: f == factorFile}, nil
	}
	var res Result
	if f == factorFile {
		res = s.checkFileCode(ctx, u, code, now)
	} else if res, err = s.checkCode(ctx, u, code, now); err != nil {
		return Result{}, err
	}
	switch {
	case res.Outcome == OK:
		if err := s.store.Forgive(ctx, cc.key); err != nil {
			return Result{}, err
		}
		uc := s.unseenCounter(u.ID)
		n, _, err := s.store.ThrottleState(ctx, uc.key, uc.policy, now)
		if err == nil && n > 0 {
			err = s.store.ResetThrottle(ctx, uc.key)
		}
		res.CodeFailures = n
		return res, err
	case res.Reason == ReasonFileRateLimited:
		// The file refused to look at the code: not a guess.
		return res, s.store.Forgive(ctx, cc.key)
	case res.Reason == ReasonCodeReused || res.Reason == ReasonMalformedCode || res.Reason == ReasonClockOff:
		// Counted in the budget, but not told to the owner: a code sent
		// twice, a typo of the wrong shape or a phone with a wrong clock
		// is no one's guess.
		return res, nil
	}
	uc := s.unseenCounter(u.ID)
	if err := s.fail(ctx, []counter{uc}, now); err != nil {
		return res, err
	}
	// Every CodeFailureAlert wrong codes, the owner hears of them at once
	// (besides at the next sign-in): the password is probably known.
	if n, _, err := s.store.ThrottleState(ctx, uc.key, uc.policy, now); err == nil && n > 0 && n%s.opts.CodeFailureAlert == 0 {
		s.notify(ctx, Event{Kind: EventCodeFailures, User: u, Count: n, Addr: ClientFrom(ctx).Addr})
	}
	return res, nil
}

// RecoveryCodesLow is how few recovery codes left make the owner be told
// (EventRecoveryCodesLow).
const RecoveryCodesLow = 3

// checkCode tries code as a TOTP code of each confirmed authenticator, then
// as a recovery code; an accepted one is used up.
func (s *Service) checkCode(ctx context.Context, u User, code string, now time.Time) (Result, error) {
	if rc, ok := normalizeRecoveryCode(code); ok {
		err := s.store.UseRecoveryCode(ctx, u.ID, s.cipher.RecoveryHash(u.ID, rc), now)
		switch {
		case err == nil:
			left, err := s.store.RecoveryCodesLeft(ctx, u.ID)
			s.notify(ctx, Event{Kind: EventRecoveryCodeUsed, User: u, Count: left, Addr: ClientFrom(ctx).Addr})
			if err == nil && left <= RecoveryCodesLow {
				s.notify(ctx, Event{Kind: EventRecoveryCodesLow, User: u, Count: left})
			}
			return Result{Outcome: OK, User: u, SecondFactor: true, Reason: ReasonRecoveryCode, RecoveryLeft: left}, err
		case !errors.Is(err, ErrNotFound):
			return Result{}, err
		case len(rc) != 8:
			return Result{Outcome: BadCode, Reason: ReasonWrongRecoveryCode}, nil
		}
		// Eight digits may also be the code of an 8-digit authenticator.
	}
	auths, err := s.store.Authenticators(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	// The code is malformed only when it has the shape of no
	// authenticator's codes (6 digits for one, 8 for another).
	res := Result{Outcome: BadCode, Reason: ReasonMalformedCode}
	var keys []otp.Key
	for _, a := range auths {
		if a.Confirmed.IsZero() {
			continue
		}
		key, err := s.key(a)
		if err != nil {
			return Result{}, err
		}
		if res.Digits == 0 {
			res.Digits = a.Digits
		}
		step, err := key.Verify(code, now, s.opts.Window)
		if errors.Is(err, otp.ErrMalformedCode) {
			continue
		}
		res.Reason = ReasonWrongCode
		if err != nil {
			keys = append(keys, key)
			continue
		}
		// One replay rule per user: a code that matched a used step of one
		// authenticator is refused, even when it also happens to be the
		// code of another authenticator at that time (two keys share a
		// code one time in 10^6, or the same key was scanned twice).
		// Authenticators are tried in one order, so concurrent attempts
		// with one code all try the same one first, and one wins.
		err = s.store.UseStep(ctx, u.ID, a.ID, step, now)
		if errors.Is(err, ErrReplay) {
			return Result{Outcome: BadCode, Reason: ReasonCodeReused, Digits: res.Digits}, nil
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Outcome: OK, User: u, SecondFactor: true, Drift: int(int64(step) - int64(key.Step(now)))}, nil
	}
	if res.Reason == ReasonWrongCode {
		// A code of the right shape that would match with a clock off by
		// more than the window: say so instead of "wrong".
		for _, key := range keys {
			step, err := key.Verify(code, now, otp.Skew(clockCheckSteps(key)))
			if err == nil {
				res.Reason = ReasonClockOff
				res.ClockOff = time.Duration(int64(step)-int64(key.Step(now))) * key.Period
				if key.Period == 0 {
					res.ClockOff = time.Duration(int64(step)-int64(key.Step(now))) * otp.DefaultPeriod
				}
				break
			}
		}
	}
	return res, nil
}

// clockCheck is how far off a phone's clock may be for a code to be told
// "your clock is off" instead of "wrong": 10 minutes either way. Such a
// code is still refused.
const clockCheck = 10 * time.Minute

func clockCheckSteps(k otp.Key) int {
	p := k.Period
	if p == 0 {
		p = otp.DefaultPeriod
	}
	return int(clockCheck / p)
}

// checkFileCode checks code against the user's file.
func (s *Service) checkFileCode(ctx context.Context, u User, code string, now time.Time) Result {
	v := s.files.VerifyCode(ctx, u.Name, code, now)
	switch v {
	case FileAccepted:
		return Result{Outcome: OK, User: u, SecondFactor: true, FromFile: true, Reason: ReasonFileCode, File: v}
	case FileRateLimited:
		wait := fileRateWait
		if w, ok := s.files.(FileRateWaiter); ok {
			if d := w.RateLimitWait(ctx, u.Name, now); d > 0 {
				wait = d
			}
		}
		return Result{Outcome: Throttled, RetryAfter: wait, FromFile: true, Reason: ReasonFileRateLimited, File: v}
	case FileReused:
		return Result{Outcome: BadCode, FromFile: true, Reason: ReasonCodeReused, File: v}
	case FileMalformed:
		return Result{Outcome: BadCode, FromFile: true, Reason: ReasonMalformedCode, File: v}
	}
	// A file that vanished between the look-up and the check fails closed
	// too: the user had a second factor a moment ago.
	return Result{Outcome: BadCode, FromFile: true, Reason: ReasonFile, File: v}
}

// CheckPassword reports whether password is the user's, taking the time a
// real check takes even for a user without a password. It is not
// throttled: callers count its failures.
func (s *Service) CheckPassword(ctx context.Context, u User, password string) (bool, error) {
	if len(password) > MaxPasswordLength {
		password = password[:MaxPasswordLength]
	}
	return s.hasher.Check(ctx, password, u.PasswordHash)
}

// HasTOTP reports whether the user has a confirmed authenticator.
func (s *Service) HasTOTP(ctx context.Context, userID int64) (bool, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, a := range auths {
		if !a.Confirmed.IsZero() {
			return true, nil
		}
	}
	return false, nil
}

// key opens an authenticator's secret.
func (s *Service) key(a Authenticator) (otp.Key, error) {
	secret, err := s.cipher.Open(a.SealedSecret, a.UserID, a.ID)
	if err != nil {
		return otp.Key{}, fmt.Errorf("authenticator %s: %w", a.ID, err)
	}
	return otp.Key{Secret: secret, Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period}, nil
}
