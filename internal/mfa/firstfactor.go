package mfa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
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

// sourceGroups makes a source's groups fit User.Groups: normalized, the
// names that are no valid group name (spaces, say) left out, at most
// MaxGroups.
func sourceGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		g = NormalizeName(g)
		if ValidateGroup(g) == nil && len(out) < MaxGroups {
			out = append(out, g)
		}
	}
	out, _ = NormalizeGroups(out)
	return out
}

// errNameTaken is why a source's account is refused whose name a user of
// another source holds here.
var errNameTaken = errors.New("the name belongs to another source's user")

// provision finds or makes the record of an account a first factor
// vouched for: by its ExternalID first (a renamed account keeps its
// record, and its second factor), else by name, else a new record without
// a password. Display name and groups follow the source. A name held by a
// user of another source is refused with ErrBadCredentials.
func (s *Service) provision(ctx context.Context, id Identity) (User, error) {
	name := NormalizeName(id.Name)
	if err := ValidateName(name); err != nil {
		return User{}, fmt.Errorf("%w: %s account %q: %w", ErrBadCredentials, id.Source, id.Name, err)
	}
	var u User
	err := ErrNotFound
	if id.ExternalID != "" {
		u, err = s.store.UserByExternalID(ctx, id.Source, id.ExternalID)
	}
	if errors.Is(err, ErrNotFound) {
		u, err = s.store.UserByName(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			u = User{Name: name, Source: id.Source, ExternalID: id.ExternalID, Created: s.now()}
			follow(&u, id)
			return s.store.CreateUser(ctx, u)
		case err != nil:
			return User{}, err
		case u.Source != id.Source || (u.ExternalID != "" && u.ExternalID != id.ExternalID):
			return User{}, fmt.Errorf("%w: %s account %q: %w", ErrBadCredentials, id.Source, name, errNameTaken)
		}
	} else if err != nil {
		return User{}, err
	}
	before := u
	u.Name, u.ExternalID = name, id.ExternalID
	follow(&u, id)
	if u.Name == before.Name && u.ExternalID == before.ExternalID && u.DisplayName == before.DisplayName && slices.Equal(u.Groups, before.Groups) &&
		u.Mail == before.Mail {
		return u, nil
	}
	err = s.store.UpdateUser(ctx, u)
	if errors.Is(err, ErrConflict) {
		return User{}, fmt.Errorf("%w: %s account renamed to %q: %w", ErrBadCredentials, id.Source, name, errNameTaken)
	}
	return u, err
}

// follow copies into u what the source says of the account: its display
// name and mail address (when valid) and its groups (when it says any).
func follow(u *User, id Identity) {
	if id.DisplayName != "" && ValidateDisplayName(id.DisplayName) == nil {
		u.DisplayName = id.DisplayName
	}
	if id.Groups != nil {
		u.Groups = sourceGroups(id.Groups)
	}
	if id.Mail != "" && ValidateMail(id.Mail) == nil {
		u.Mail = id.Mail
	}
}

// checked is what the first factors said of a sign-in.
type checked struct {
	// user is the account's record (made or updated for an account of
	// the centre's); only its Name is set for a refused known account.
	user User
	// reason is why the sign-in was refused, ReasonNone when not.
	reason Reason
	// cause is the first factor's own words on a refusal, for the log.
	cause string
	// hashed tells that an argon2id hash was computed.
	hashed bool
}

// firstFactor checks name's password with the site's first factors in
// order: the first that knows the name decides. A source that cannot be
// asked is passed over; when none of the others knows the name, the
// attempt fails with ErrUnavailable (closed), since that source might
// have.
func (s *Service) firstFactor(ctx context.Context, name, password string) (checked, error) {
	var unavailable error
	for _, ff := range s.firstFactors {
		if ff == LocalPasswords {
			u, err := s.store.UserByName(ctx, name)
			if errors.Is(err, ErrNotFound) || (err == nil && !u.IsLocal()) {
				continue
			}
			if err != nil {
				return checked{}, err
			}
			right, err := s.CheckPassword(ctx, u, password)
			if err != nil {
				return checked{}, err
			}
			if !right {
				return checked{user: User{Name: u.Name}, reason: ReasonWrongPassword, hashed: true}, nil
			}
			return checked{user: u, hashed: true}, nil
		}
		id, err := ff.Authenticate(ctx, name, password)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case errors.Is(err, ErrBadCredentials):
			u, _ := s.store.UserByName(ctx, name)
			return checked{user: User{Name: u.Name}, reason: ReasonWrongPassword, cause: err.Error()}, nil
		case err != nil:
			unavailable = fmt.Errorf("first factor %s: %w", ff.Name(), errors.Join(ErrUnavailable, err))
			continue
		}
		id.Source = ff.Name()
		u, err := s.provision(ctx, id)
		if errors.Is(err, ErrBadCredentials) {
			return checked{reason: ReasonWrongPassword, cause: err.Error()}, nil
		}
		return checked{user: u}, err
	}
	if unavailable != nil {
		return checked{}, unavailable
	}
	return checked{reason: ReasonUnknownUser}, nil
}

// LocalPasswords stands, in Deps.FirstFactors, for the local argon2id
// passwords (users whose Source is "local"), which Service checks itself.
var LocalPasswords FirstFactor = localPasswords{}

type localPasswords struct{}

var errLocal = errors.New("mfa: the local passwords are checked by Service itself")

func (localPasswords) Name() string { return SourceLocal }

func (localPasswords) Authenticate(context.Context, string, string) (Identity, error) {
	return Identity{}, errLocal
}

func (localPasswords) Lookup(context.Context, string) (Identity, error) { return Identity{}, errLocal }

// source returns the first factor that vouches for u, or nil when the site
// no longer lists it.
func (s *Service) source(u User) FirstFactor {
	for _, ff := range s.firstFactors {
		if ff.Name() == u.Source || (u.IsLocal() && ff == LocalPasswords) {
			return ff
		}
	}
	return nil
}

// ErrSourcePassword is returned for a password change of a user whose
// password is the centre's (an LDAP directory, the system's accounts):
// it is changed there.
var ErrSourcePassword = fmt.Errorf("%w: this account's password is the centre's; change it where you change it for the other services", ErrInvalid)

// checkOwnPassword checks the password of a signed-in user with the user's
// own source; a source no longer listed refuses.
func (s *Service) checkOwnPassword(ctx context.Context, u User, password string) (bool, error) {
	if u.IsLocal() {
		return s.CheckPassword(ctx, u, password)
	}
	return s.askSource(u, func(ff FirstFactor) (Identity, error) { return ff.Authenticate(ctx, u.Name, password) })
}

// stillKnown reports whether the source of a user of the centre's still
// has the account (and has not locked it), so that a session of a user
// removed there ends; a source that cannot be asked fails closed.
func (s *Service) stillKnown(ctx context.Context, u User) (bool, error) {
	if u.IsLocal() {
		return true, nil
	}
	return s.askSource(u, func(ff FirstFactor) (Identity, error) { return ff.Lookup(ctx, u.Name) })
}

// askSource asks the source of u (not a local user) about the account and
// reports whether it vouches for this very account (the same ID there); a
// source no longer listed, an unknown or a refused account say no, and a
// source that cannot be asked gives ErrUnavailable.
func (s *Service) askSource(u User, ask func(FirstFactor) (Identity, error)) (bool, error) {
	ff := s.source(u)
	if ff == nil {
		return false, nil
	}
	id, err := ask(ff)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrBadCredentials):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("first factor %s: %w", ff.Name(), errors.Join(ErrUnavailable, err))
	}
	return id.ExternalID == u.ExternalID, nil
}

// The time a sign-in's first factors take tells, unless evened out, an
// unknown name (a quick miss) from a wrong password (a bind, a PAM stack's
// hash) and a locked account from either. So every refusal of the
// password stage lasts at least as long as a check that a source decided
// usually takes: decided keeps a moving average of those, in nanoseconds,
// and padRefusal waits out the rest. This is time as the client sees it,
// so it is the real clock, not Service.now.

// noteDecided adds the duration of a check that a source decided (the
// password right or wrong) to the average.
func (s *Service) noteDecided(took time.Duration) {
	for {
		old := s.decided.Load()
		avg := old + (int64(took)-old)/8
		if old == 0 {
			avg = int64(took)
		}
		if s.decided.CompareAndSwap(old, avg) {
			return
		}
	}
}

// padRefusal waits until a refused check that started at start has lasted
// as long as a decided one usually does, or ctx ends.
func (s *Service) padRefusal(ctx context.Context, start time.Time) {
	wait := time.Duration(s.decided.Load()) - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
