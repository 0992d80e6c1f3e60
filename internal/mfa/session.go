package mfa

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// NewSession starts a session for the user at the given level and returns
// the token for the cookie.
func (s *Service) NewSession(ctx context.Context, userID int64, level Level) (string, error) {
	return s.RenewSession(ctx, userID, level, time.Time{})
}

// RenewSession starts a session as NewSession does, but created at created
// (zero means now): a new token for a session that goes on (a changed
// password, say), whose absolute expiry and freshness (see Fresh) stay
// those of the sign-in.
func (s *Service) RenewSession(ctx context.Context, userID int64, level Level, created time.Time) (string, error) {
	token, err := newToken(s.rand)
	if err != nil {
		return "", err
	}
	now := s.now()
	if created.IsZero() || created.After(now) {
		created = now
	}
	err = s.store.CreateSession(ctx, Session{TokenHash: HashToken(token), UserID: userID, Level: level, Created: created, LastSeen: now})
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
	// An account of the centre's removed or locked at its source loses
	// its sessions (forward-auth asks within its cache's TTL).
	known, err := s.stillKnown(ctx, u)
	if err != nil {
		return Session{}, User{}, err
	}
	if !known {
		if err := s.endUserSessions(ctx, u.ID); err != nil {
			return Session{}, User{}, err
		}
		return Session{}, User{}, fmt.Errorf("user gone from its source: %w", ErrNotFound)
	}
	if sess.Level == LevelNoSecondFactor {
		has, err := s.HasSecondFactor(ctx, u)
		if err != nil {
			return Session{}, User{}, err
		}
		due, err := s.due(ctx, u)
		if err != nil {
			return Session{}, User{}, err
		}
		// A session that went on without one before its user's deadline
		// must set one up once the deadline has come.
		if has || due.Required(now) {
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

// MaySetUp reports whether a session at LevelPassword of u may reach the
// TOTP setup pages: when the site requires a second factor of u now (see
// Enforcement) and u has none.
func (s *Service) MaySetUp(ctx context.Context, u User) (bool, error) {
	due, err := s.due(ctx, u)
	if err != nil || !due.Required(s.now()) {
		return false, err
	}
	has, err := s.HasSecondFactor(ctx, u)
	return !has, err
}

// EndSession signs a token out; an unknown token is not an error.
func (s *Service) EndSession(ctx context.Context, token string) error {
	h := HashToken(token)
	sess, err := s.store.Session(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.endSession(ctx, sess.UserID, h)
}

// EndAllSessions signs the user out everywhere.
func (s *Service) EndAllSessions(ctx context.Context, userID int64) error {
	return s.endUserSessions(ctx, userID)
}

// oidcCleaner is a store that also keeps the OpenID Connect provider's
// state (package oidcstate): what Cleanup deletes of it.
type oidcCleaner interface {
	DeleteExpiredTokens(ctx context.Context, now time.Time) error
	DeleteExpiredAuthRequests(ctx context.Context, before time.Time) error
	DeleteStaleSessionClients(ctx context.Context, before time.Time) error
}

// Cleanup removes expired sessions, abandoned TOTP setups, expired trusted
// browsers and throttle counters that count nothing any more; on a store
// with the OpenID Connect provider's state, expired tokens, and the
// authorization requests and session links older than the longest session
// (SessionMax): no sign-in waits longer, and a link recorded before that
// belongs to a session that has ended. The provider may delete its
// requests sooner.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	if o, ok := s.store.(oidcCleaner); ok {
		if err := o.DeleteExpiredTokens(ctx, now); err != nil {
			return err
		}
		if err := o.DeleteExpiredAuthRequests(ctx, now.Add(-s.opts.SessionMax)); err != nil {
			return err
		}
		if err := o.DeleteStaleSessionClients(ctx, now.Add(-s.opts.SessionMax)); err != nil {
			return err
		}
	}
	if err := s.store.DeleteExpiredSessions(ctx, now.Add(-s.opts.SessionMax), now.Add(-s.opts.SessionIdle)); err != nil {
		return err
	}
	if err := s.store.DeleteStaleThrottles(ctx, now.Add(-s.staleAfter())); err != nil {
		return err
	}
	if err := s.store.DeleteExpiredTrustedBrowsers(ctx, now, now.Add(-s.opts.TrustFor)); err != nil {
		return err
	}
	return s.store.DeletePendingAuthenticators(ctx, now.Add(-s.opts.EnrolmentTTL))
}
