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

// Options are the rules of a Service; zero fields take the defaults named.
type Options struct {
	// Issuer is the name authenticator apps show beside the account;
	// empty means "otpgate".
	Issuer string
	// Window is the range of TOTP steps accepted around now; the zero
	// Window accepts the current step only, so callers set otp.Skew(1).
	Window otp.Window
	// AccountThrottle and AddressThrottle limit failures per account name
	// and per client address; zero means DefaultAccountThrottle and
	// DefaultAddressThrottle.
	AccountThrottle ThrottlePolicy
	AddressThrottle ThrottlePolicy
	// SessionIdle and SessionMax are the idle and absolute session
	// lifetimes; zero means 1 hour and 12 hours.
	SessionIdle time.Duration
	SessionMax  time.Duration
	// EnrollmentTTL is how long an unconfirmed TOTP setup stays usable;
	// zero means 15 minutes.
	EnrollmentTTL time.Duration
	// SetupTTL is how long the first administrator's setup link works;
	// zero means 24 hours.
	SetupTTL time.Duration
}

func (o *Options) setDefaults() {
	if o.Issuer == "" {
		o.Issuer = "otpgate"
	}
	if o.AccountThrottle == (ThrottlePolicy{}) {
		o.AccountThrottle = DefaultAccountThrottle
	}
	if o.AddressThrottle == (ThrottlePolicy{}) {
		o.AddressThrottle = DefaultAddressThrottle
	}
	if o.SessionIdle == 0 {
		o.SessionIdle = time.Hour
	}
	if o.SessionMax == 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.EnrollmentTTL == 0 {
		o.EnrollmentTTL = 15 * time.Minute
	}
	if o.SetupTTL == 0 {
		o.SetupTTL = 24 * time.Hour
	}
}

// Service holds the sign-in and enrolment rules on top of a Store.
type Service struct {
	store  Store
	hasher *Hasher
	cipher *Cipher
	rand   io.Reader
	now    func() time.Time
	opts   Options
	files  FileFactor
}

// Deps are what a Service is built from.
type Deps struct {
	Store  Store
	Hasher *Hasher
	Cipher *Cipher
	// Rand supplies secrets, tokens and recovery codes (crypto/rand.Reader
	// in production).
	Rand io.Reader
	// Now tells the time (time.Now in production).
	Now func() time.Time
	// Files, if not nil, gives a second factor to users without a
	// confirmed authenticator in the store: their state files.
	Files FileFactor
}

// NewService returns a Service.
func NewService(d Deps, opts Options) *Service {
	opts.setDefaults()
	return &Service{store: d.Store, hasher: d.Hasher, cipher: d.Cipher, rand: d.Rand, now: d.Now, opts: opts, files: d.Files}
}

// Options returns the rules in force, defaults filled in.
func (s *Service) Options() Options { return s.opts }

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// NewUser is what CreateUser needs.
type NewUser struct {
	Name     string
	Password string
	Admin    bool
	// DisplayName and Groups are optional (see User).
	DisplayName string
	Groups      []string
}

// CreateUser validates and stores a new user with a hashed password.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return User{}, err
	}
	return s.store.CreateUser(ctx, u)
}

func (s *Service) newUser(ctx context.Context, nu NewUser) (User, error) {
	name := NormalizeName(nu.Name)
	if err := ValidateName(name); err != nil {
		return User{}, err
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return User{}, err
	}
	if err := ValidateDisplayName(nu.DisplayName); err != nil {
		return User{}, err
	}
	groups, err := NormalizeGroups(nu.Groups)
	if err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	return User{Name: name, PasswordHash: hash, Admin: nu.Admin, DisplayName: nu.DisplayName, Groups: groups, Created: s.now()}, nil
}

// Profile is what SetProfile changes; a nil field is left as it is.
type Profile struct {
	DisplayName *string
	Groups      *[]string
}

// SetProfile changes a user's display name and groups. Sessions stay:
// forward-auth reads both afresh (within its session cache TTL).
func (s *Service) SetProfile(ctx context.Context, userID int64, p Profile) (User, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if p.DisplayName != nil {
		if err := ValidateDisplayName(*p.DisplayName); err != nil {
			return User{}, err
		}
		u.DisplayName = *p.DisplayName
	}
	if p.Groups != nil {
		if u.Groups, err = NormalizeGroups(*p.Groups); err != nil {
			return User{}, err
		}
	}
	return u, s.store.UpdateUser(ctx, u)
}

// SetPassword changes a user's password and ends all of its sessions.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = s.hasher.Hash(ctx, password); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	return s.store.DeleteUserSessions(ctx, userID)
}

// SetDisabled disables or enables a user; disabling ends its sessions.
func (s *Service) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return err
	}
	u.Disabled = disabled
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if disabled {
		return s.store.DeleteUserSessions(ctx, userID)
	}
	return nil
}

// ResetTOTP removes all of a user's authenticators and recovery codes (a
// lost phone) and ends its sessions.
func (s *Service) ResetTOTP(ctx context.Context, userID int64) error {
	if err := s.store.DeleteAuthenticators(ctx, userID); err != nil {
		return err
	}
	return s.store.DeleteUserSessions(ctx, userID)
}

// CheckPassword reports whether password is the user's, taking the time a
// real check takes even for a user without a password.
func (s *Service) CheckPassword(ctx context.Context, u User, password string) (bool, error) {
	if len(password) > MaxPasswordLength {
		password = password[:MaxPasswordLength]
	}
	return s.hasher.Check(ctx, password, u.PasswordHash)
}

// Outcome is the result of a sign-in attempt in terms a login form shows.
type Outcome int

// The outcomes of Login and SecondFactor.
const (
	// OK: signed in.
	OK Outcome = iota
	// BadCredentials: unknown user, wrong password or disabled account;
	// the three are never told apart.
	BadCredentials
	// CodeRequired: the password is right and a code is needed.
	CodeRequired
	// BadCode: the code is wrong, malformed or already used.
	BadCode
	// Throttled: too many failures; retry after LoginResult.RetryAfter.
	Throttled
)

// String returns the outcome's name in the JSON API.
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case BadCredentials:
		return "credentials_wrong"
	case CodeRequired:
		return "code_required"
	case BadCode:
		return "code_wrong"
	case Throttled:
		return "throttled"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// LoginAttempt is one sign-in: a name and password, optionally a code (TOTP
// or recovery), and the client's address for throttling.
type LoginAttempt struct {
	Name     string
	Password string
	Code     string
	Addr     string
}

// LoginResult says how a sign-in attempt ended.
type LoginResult struct {
	Outcome Outcome
	// User is set for OK and CodeRequired.
	User User
	// HasTOTP tells, for OK, whether the user passed a second factor (a
	// confirmed authenticator, a recovery code, or the user's file).
	HasTOTP bool
	// FromFile tells that the second factor checked was the user's file.
	FromFile bool
	// RetryAfter is set for Throttled.
	RetryAfter time.Duration
	// Reason is the real cause of a failure, for the log only.
	Reason string
}

func accountKey(name string) string { return "user:" + name }
func addressKey(addr string) string { return "addr:" + addr }

// throttle takes a slot on the address and account counters.
func (s *Service) throttle(ctx context.Context, name, addr string, now time.Time) (time.Duration, error) {
	if addr != "" {
		ra, err := s.store.Attempt(ctx, addressKey(addr), s.opts.AddressThrottle, now)
		if err != nil || ra > 0 {
			return ra, err
		}
	}
	return s.store.Attempt(ctx, accountKey(name), s.opts.AccountThrottle, now)
}

// succeeded undoes the failures an attempt counted: all of the account's,
// only this one of the address's (so that signing in to one's own account
// does not clear an address that guesses at others).
func (s *Service) succeeded(ctx context.Context, name, addr string, resetAccount bool) error {
	if addr != "" {
		if err := s.store.Forgive(ctx, addressKey(addr)); err != nil {
			return err
		}
	}
	if resetAccount {
		return s.store.ResetThrottle(ctx, accountKey(name))
	}
	return s.store.Forgive(ctx, accountKey(name))
}

// Login checks a sign-in attempt: throttling, then the password, then the
// code if the user has TOTP. Only stores' failures are returned as errors.
func (s *Service) Login(ctx context.Context, a LoginAttempt) (LoginResult, error) {
	now := s.now()
	name := NormalizeName(a.Name)
	if len(name) > MaxNameLength {
		name = name[:MaxNameLength]
	}
	ra, err := s.throttle(ctx, name, a.Addr, now)
	if err != nil {
		return LoginResult{}, err
	}
	if ra > 0 {
		return LoginResult{Outcome: Throttled, RetryAfter: ra, Reason: "throttled"}, nil
	}
	u, err := s.store.UserByName(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, err
	}
	ok, err := s.CheckPassword(ctx, u, a.Password)
	if err != nil {
		return LoginResult{}, err
	}
	switch {
	case u.ID == 0:
		return LoginResult{Outcome: BadCredentials, Reason: "unknown user"}, nil
	case !ok:
		return LoginResult{Outcome: BadCredentials, Reason: "wrong password"}, nil
	case u.Disabled:
		return LoginResult{Outcome: BadCredentials, Reason: "user disabled"}, nil
	}
	f, err := s.factorOf(ctx, u)
	if err != nil {
		return LoginResult{}, err
	}
	if f == factorNone {
		return LoginResult{Outcome: OK, User: u}, s.succeeded(ctx, name, a.Addr, true)
	}
	if strings.TrimSpace(a.Code) == "" {
		// The right password alone is not a success for the account: its
		// attempt is taken back, not the earlier failures.
		return LoginResult{Outcome: CodeRequired, User: u, FromFile: f == factorFile}, s.succeeded(ctx, name, a.Addr, false)
	}
	if f == factorFile {
		return s.checkFileCode(ctx, u, strings.TrimSpace(a.Code), name, a.Addr, now)
	}
	return s.checkCode(ctx, u, a.Code, name, a.Addr, now)
}

// SecondFactor checks the code of a user whose password was checked before
// (the second login page), with the same throttling and replay rules.
func (s *Service) SecondFactor(ctx context.Context, userID int64, code, addr string) (LoginResult, error) {
	now := s.now()
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return LoginResult{}, err
	}
	ra, err := s.throttle(ctx, u.Name, addr, now)
	if err != nil {
		return LoginResult{}, err
	}
	if ra > 0 {
		return LoginResult{Outcome: Throttled, RetryAfter: ra, Reason: "throttled"}, nil
	}
	if u.Disabled {
		return LoginResult{Outcome: BadCredentials, Reason: "user disabled"}, nil
	}
	if s.files != nil {
		// Without files, checkCode alone decides (it reads the
		// authenticators itself); with them, the file counts only for a
		// user without a confirmed authenticator.
		f, err := s.factorOf(ctx, u)
		if err != nil {
			return LoginResult{}, err
		}
		if f == factorFile {
			return s.checkFileCode(ctx, u, strings.TrimSpace(code), u.Name, addr, now)
		}
	}
	return s.checkCode(ctx, u, code, u.Name, addr, now)
}

// checkCode tries code as a TOTP code of each confirmed authenticator, then
// as a recovery code; an accepted one is used up.
func (s *Service) checkCode(ctx context.Context, u User, code, name, addr string, now time.Time) (LoginResult, error) {
	code = strings.TrimSpace(code)
	if rc, ok := normalizeRecoveryCode(code); ok {
		err := s.store.UseRecoveryCode(ctx, u.ID, s.cipher.RecoveryHash(u.ID, rc), now)
		switch {
		case err == nil:
			return LoginResult{Outcome: OK, User: u, HasTOTP: true, Reason: "recovery code"}, s.succeeded(ctx, name, addr, true)
		case !errors.Is(err, ErrNotFound):
			return LoginResult{}, err
		case len(rc) != 8:
			return LoginResult{Outcome: BadCode, Reason: "wrong or used recovery code"}, nil
		}
		// Eight digits may also be the code of an 8-digit authenticator.
	}
	auths, err := s.store.Authenticators(ctx, u.ID)
	if err != nil {
		return LoginResult{}, err
	}
	reason := "wrong code"
	for _, a := range auths {
		if a.Confirmed.IsZero() {
			continue
		}
		key, err := s.key(a)
		if err != nil {
			return LoginResult{}, err
		}
		step, err := key.Verify(code, now, s.opts.Window)
		if errors.Is(err, otp.ErrMalformedCode) {
			reason = "malformed code"
			break
		}
		if err != nil {
			continue
		}
		err = s.store.UseStep(ctx, u.ID, a.ID, step, now)
		if errors.Is(err, ErrReplay) {
			reason = "code already used"
			continue
		}
		if err != nil {
			return LoginResult{}, err
		}
		return LoginResult{Outcome: OK, User: u, HasTOTP: true}, s.succeeded(ctx, name, addr, true)
	}
	return LoginResult{Outcome: BadCode, Reason: reason}, nil
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

// Enrollment is a TOTP setup in progress: the key to show as a QR code and
// as text, until the user confirms it with a code.
type Enrollment struct {
	// ID is the pending authenticator's ID.
	ID string
	// URI holds the issuer, the account and the key.
	URI otp.URI
}

// maxPending bounds a user's unconfirmed setups: starting another removes
// the oldest, so that repeated clicks cannot fill the store.
const maxPending = 3

// BeginEnrollment creates a pending authenticator with a new secret (SHA-1,
// 6 digits, 30 s, 160 bits: what every app supports).
func (s *Service) BeginEnrollment(ctx context.Context, u User) (Enrollment, error) {
	auths, err := s.store.Authenticators(ctx, u.ID)
	if err != nil {
		return Enrollment{}, err
	}
	var pending []Authenticator
	for _, a := range auths {
		if a.Confirmed.IsZero() {
			pending = append(pending, a)
		}
	}
	for len(pending) >= maxPending {
		if err := s.store.DeleteAuthenticator(ctx, u.ID, pending[0].ID); err != nil && !errors.Is(err, ErrNotFound) {
			return Enrollment{}, err
		}
		pending = pending[1:]
	}
	idb := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, idb); err != nil {
		return Enrollment{}, fmt.Errorf("authenticator id: %w", err)
	}
	secret, err := otp.NewSecret(s.rand, 0)
	if err != nil {
		return Enrollment{}, err
	}
	a := Authenticator{ID: hex.EncodeToString(idb), UserID: u.ID, Name: "Authenticator app",
		Algorithm: otp.SHA1, Digits: otp.DefaultDigits, Period: otp.DefaultPeriod, Created: s.now()}
	if a.SealedSecret, err = s.cipher.Seal(secret, u.ID, a.ID); err != nil {
		return Enrollment{}, err
	}
	if err := s.store.CreateAuthenticator(ctx, a); err != nil {
		return Enrollment{}, err
	}
	return s.enrollment(u, a, secret), nil
}

func (s *Service) enrollment(u User, a Authenticator, secret []byte) Enrollment {
	return Enrollment{ID: a.ID, URI: otp.URI{Type: "totp", Issuer: s.opts.Issuer, Account: u.Name,
		Key: otp.Key{Secret: secret, Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period}}}
}

// pending returns the user's unexpired pending authenticator with that ID.
func (s *Service) pending(ctx context.Context, userID int64, id string) (Authenticator, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return Authenticator{}, err
	}
	for _, a := range auths {
		if a.ID == id && a.Confirmed.IsZero() && s.now().Sub(a.Created) < s.opts.EnrollmentTTL {
			return a, nil
		}
	}
	return Authenticator{}, fmt.Errorf("pending authenticator: %w", ErrNotFound)
}

// PendingEnrollment returns a setup in progress again (to show the page
// after a wrong code); ErrNotFound when it expired.
func (s *Service) PendingEnrollment(ctx context.Context, u User, id string) (Enrollment, error) {
	a, err := s.pending(ctx, u.ID, id)
	if err != nil {
		return Enrollment{}, err
	}
	key, err := s.key(a)
	if err != nil {
		return Enrollment{}, err
	}
	return s.enrollment(u, a, key.Secret), nil
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

// ErrWrongCode is returned by ConfirmEnrollment and DisableTOTP for a code
// that does not match.
var ErrWrongCode = errors.New("wrong code")

// ConfirmEnrollment checks a code from the pending authenticator and
// confirms it; the matched step counts as used.
func (s *Service) ConfirmEnrollment(ctx context.Context, u User, id, code string) (Confirmation, error) {
	a, err := s.pending(ctx, u.ID, id)
	if err != nil {
		return Confirmation{}, err
	}
	key, err := s.key(a)
	if err != nil {
		return Confirmation{}, err
	}
	now := s.now()
	step, err := key.Verify(strings.TrimSpace(code), now, s.opts.Window)
	if err != nil {
		return Confirmation{}, ErrWrongCode
	}
	codes, hashes, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return Confirmation{}, err
	}
	first, err := s.store.ConfirmAuthenticator(ctx, u.ID, a.ID, step, now, hashes)
	if err != nil {
		return Confirmation{}, err
	}
	c := Confirmation{Drift: int(int64(step) - int64(key.Step(now)))}
	if first {
		c.RecoveryCodes = codes
	}
	return c, nil
}

// DisableTOTP removes the user's authenticators and recovery codes after
// checking the password or a current code (throttled like a sign-in).
func (s *Service) DisableTOTP(ctx context.Context, u User, password, code, addr string) (LoginResult, error) {
	now := s.now()
	ra, err := s.throttle(ctx, u.Name, addr, now)
	if err != nil {
		return LoginResult{}, err
	}
	if ra > 0 {
		return LoginResult{Outcome: Throttled, RetryAfter: ra}, nil
	}
	var r LoginResult
	if password != "" {
		ok, err := s.CheckPassword(ctx, u, password)
		if err != nil {
			return LoginResult{}, err
		}
		r = LoginResult{Outcome: BadCredentials, Reason: "wrong password"}
		if ok {
			r = LoginResult{Outcome: OK, User: u}
			err = s.succeeded(ctx, u.Name, addr, true)
		}
	} else {
		r, err = s.checkCode(ctx, u, code, u.Name, addr, now)
	}
	if err != nil || r.Outcome != OK {
		return r, err
	}
	return r, s.store.DeleteAuthenticators(ctx, u.ID)
}

// RegenerateRecoveryCodes replaces the user's recovery codes with
// RecoveryCodeCount new ones and returns them; only their hashes are kept.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID int64) ([]string, error) {
	codes, hashes, err := s.newRecoveryCodes(userID)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// newRecoveryCodes returns RecoveryCodeCount new recovery codes for the
// user and the hashes the store keeps of them.
func (s *Service) newRecoveryCodes(userID int64) (codes []string, hashes [][]byte, err error) {
	codes = make([]string, RecoveryCodeCount)
	hashes = make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c, err := newRecoveryCode(s.rand)
		if err != nil {
			return nil, nil, err
		}
		n, _ := normalizeRecoveryCode(c)
		codes[i], hashes[i] = c, s.cipher.RecoveryHash(userID, n)
	}
	return codes, hashes, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}

// NewSession starts a session for the user at the given level and returns
// the token for the cookie.
func (s *Service) NewSession(ctx context.Context, userID int64, level Level) (string, error) {
	token, err := newToken(s.rand)
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.store.CreateSession(ctx, Session{TokenHash: HashToken(token), UserID: userID, Level: level, Created: now, LastSeen: now})
	return token, err
}

// Session returns the live session of token and its user; ErrNotFound when
// it is unknown, expired (idle or absolute) or its user is disabled. A
// session signed in with the password alone (LevelNoSecondFactor) whose
// user has set up a second factor since comes back at LevelPassword: the
// factor must be passed first.
func (s *Service) Session(ctx context.Context, token string) (Session, User, error) {
	h := HashToken(token)
	sess, err := s.store.Session(ctx, h)
	if err != nil {
		return Session{}, User{}, err
	}
	now := s.now()
	if now.Sub(sess.Created) >= s.opts.SessionMax || now.Sub(sess.LastSeen) >= s.opts.SessionIdle {
		if err := s.store.DeleteSession(ctx, h); err != nil {
			return Session{}, User{}, err
		}
		return Session{}, User{}, fmt.Errorf("session expired: %w", ErrNotFound)
	}
	u, err := s.store.User(ctx, sess.UserID)
	if err != nil {
		return Session{}, User{}, err
	}
	if u.Disabled {
		return Session{}, User{}, fmt.Errorf("user disabled: %w", ErrNotFound)
	}
	if sess.Level == LevelNoSecondFactor {
		has, err := s.HasSecondFactor(ctx, u)
		if err != nil {
			return Session{}, User{}, err
		}
		if has {
			sess.Level = LevelPassword
		}
	}
	// Writing on every request would serialise readers; a minute of
	// precision is enough for an idle timeout.
	if now.Sub(sess.LastSeen) >= time.Minute {
		if err := s.store.TouchSession(ctx, h, now); err != nil {
			return Session{}, User{}, err
		}
		sess.LastSeen = now
	}
	return sess, u, nil
}

// EndSession signs a token out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, HashToken(token))
}

// EndAllSessions signs the user out everywhere.
func (s *Service) EndAllSessions(ctx context.Context, userID int64) error {
	return s.store.DeleteUserSessions(ctx, userID)
}

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

// CreateFirstAdmin uses the setup token to create the first administrator.
func (s *Service) CreateFirstAdmin(ctx context.Context, token string, nu NewUser) (User, error) {
	nu.Admin = true
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return User{}, err
	}
	return s.store.CreateFirstAdmin(ctx, HashToken(token), u, s.now())
}

// Cleanup removes expired sessions and abandoned TOTP setups.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	if err := s.store.DeleteExpiredSessions(ctx, now.Add(-s.opts.SessionMax), now.Add(-s.opts.SessionIdle)); err != nil {
		return err
	}
	return s.store.DeletePendingAuthenticators(ctx, now.Add(-s.opts.EnrollmentTTL))
}

// ChangePassword sets a new password after checking the current one
// (throttled like a sign-in) and ends all of the user's sessions.
func (s *Service) ChangePassword(ctx context.Context, u User, current, password, addr string) (LoginResult, error) {
	if err := ValidatePassword(password); err != nil {
		return LoginResult{}, err
	}
	ra, err := s.throttle(ctx, u.Name, addr, s.now())
	if err != nil {
		return LoginResult{}, err
	}
	if ra > 0 {
		return LoginResult{Outcome: Throttled, RetryAfter: ra, Reason: "throttled"}, nil
	}
	ok, err := s.CheckPassword(ctx, u, current)
	if err != nil {
		return LoginResult{}, err
	}
	if !ok {
		return LoginResult{Outcome: BadCredentials, Reason: "wrong password"}, nil
	}
	if err := s.succeeded(ctx, u.Name, addr, true); err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Outcome: OK, User: u}, s.SetPassword(ctx, u.ID, password)
}
