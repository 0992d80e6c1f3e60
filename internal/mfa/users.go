package mfa

import (
	"context"
)

// NewUser is what CreateUser needs.
type NewUser struct {
	Name     string
	Password string
	Admin    bool
	// DisplayName and Groups are optional (see User).
	DisplayName string
	Groups      []string
	// Mail is the e-mail address for notifications (see ValidateMail).
	Mail string
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
	if err := ValidateMail(nu.Mail); err != nil {
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
	return User{Name: name, PasswordHash: hash, Admin: nu.Admin, DisplayName: nu.DisplayName, Groups: groups, Mail: nu.Mail, Created: s.now()}, nil
}

// User returns the user with that ID, or ErrNotFound.
func (s *Service) User(ctx context.Context, id int64) (User, error) { return s.store.User(ctx, id) }

// UserByName returns the user with that (normalized) name, or ErrNotFound.
func (s *Service) UserByName(ctx context.Context, name string) (User, error) {
	return s.store.UserByName(ctx, NormalizeName(name))
}

// Users returns every user, ordered by name.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.Users(ctx) }

// DeleteUser removes the user and everything it owns.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	u, err := s.store.User(ctx, id)
	if err != nil {
		return err
	}
	// Told first: the user's records, its applications' sessions
	// included, go with it.
	s.sessionsEnded(ctx, SessionEnd{UserID: id})
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, AuditEntry{User: u.Name, Action: ActionDelete, Result: "ok"})
	return nil
}

// Profile is what SetProfile changes; a nil field is left as it is.
type Profile struct {
	DisplayName *string
	Groups      *[]string
	Mail        *string
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
	if p.Mail != nil {
		if err := ValidateMail(*p.Mail); err != nil {
			return User{}, err
		}
		u.Mail = *p.Mail
	}
	return u, s.store.UpdateUser(ctx, u)
}

// SetPassword changes a local user's password, forgets its trusted
// browsers and ends all of its sessions; a user of the centre's gets
// ErrSourcePassword. It is an administrator's action, and recorded so.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := s.setPassword(ctx, userID, password); err != nil {
		return err
	}
	s.audit(ctx, AuditEntry{User: s.nameOf(ctx, userID), Action: ActionSetPassword, Result: "ok"})
	return nil
}

// nameOf is the name of a user, for the audit log; empty when unknown.
func (s *Service) nameOf(ctx context.Context, userID int64) string {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return ""
	}
	return u.Name
}

func (s *Service) setPassword(ctx context.Context, userID int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if !u.IsLocal() {
		return ErrSourcePassword
	}
	if u.PasswordHash, err = s.hasher.Hash(ctx, password); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := s.store.DeleteTrustedBrowsers(ctx, userID); err != nil {
		return err
	}
	return s.endUserSessions(ctx, userID)
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
	action := ActionEnable
	if disabled {
		action = ActionDisable
	}
	s.audit(ctx, AuditEntry{User: u.Name, Action: action, Result: "ok"})
	if disabled {
		if err := s.store.DeleteTrustedBrowsers(ctx, userID); err != nil {
			return err
		}
		return s.endUserSessions(ctx, userID)
	}
	return nil
}

// ResetTOTP removes all of a user's authenticators and recovery codes (a
// lost phone), forgets its trusted browsers and ends its sessions.
func (s *Service) ResetTOTP(ctx context.Context, userID int64) error {
	if err := s.store.DeleteAuthenticators(ctx, userID); err != nil {
		return err
	}
	if err := s.store.DeleteTrustedBrowsers(ctx, userID); err != nil {
		return err
	}
	if u, err := s.store.User(ctx, userID); err == nil {
		s.audit(ctx, AuditEntry{User: u.Name, Action: ActionReset, Result: "ok"})
		s.notify(ctx, Event{Kind: EventFactorReset, User: u})
	}
	return s.endUserSessions(ctx, userID)
}
