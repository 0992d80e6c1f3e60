package mfa

import (
	"context"
	"fmt"
	"time"
)

// AdminStore is what the admin pages need beyond the other stores.
type AdminStore interface {
	// SearchUsers returns at most limit users whose names start with
	// prefix and sort after after (the last name of the page before; ""
	// for the first), ordered by name: a paged prefix search on the name's
	// index.
	SearchUsers(ctx context.Context, prefix, after string, limit int) ([]User, error)
	// UserSessions returns the user's sessions, newest first.
	UserSessions(ctx context.Context, userID int64) ([]Session, error)
}

// Factor names where a user's second factor comes from.
type Factor string

// The kinds of Factor.
const (
	FactorStore Factor = "store"
	FactorFile  Factor = "file"
	// FactorFileBroken is a file a sign-in cannot use (FileBroken): the
	// user is asked for a code and every one is refused.
	FactorFileBroken Factor = "file (unusable)"
	FactorNone       Factor = "none"
)

// UserSummary is one line of the admin pages' user list.
type UserSummary struct {
	User
	Factor Factor
	// LastSignIn is the user's last successful sign-in step in the audit
	// log; zero when none is kept.
	LastSignIn time.Time
	// RecentFailures counts the user's refused sign-in steps of the last
	// 24 hours in the audit log (at most 100).
	RecentFailures int
}

// MaxSearch is the most users one page of SearchUsers holds.
const MaxSearch = 200

// SearchUsers returns a page of the users whose names start with prefix
// (normalized), after the name after, with their second factor and their
// sign-ins from the audit log.
func (s *Service) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]UserSummary, error) {
	limit = min(max(limit, 1), MaxSearch)
	users, err := s.store.SearchUsers(ctx, NormalizeName(prefix), after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]UserSummary, 0, len(users))
	for _, u := range users {
		sum, err := s.summary(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// Summary returns what the admin pages show of one user.
func (s *Service) Summary(ctx context.Context, u User) (UserSummary, error) { return s.summary(ctx, u) }

func (s *Service) summary(ctx context.Context, u User) (UserSummary, error) {
	sum := UserSummary{User: u, Factor: FactorNone}
	has, err := s.HasTOTP(ctx, u.ID)
	if err != nil {
		return sum, err
	}
	// The file judged as the coverage judges it (Coverage).
	switch {
	case has:
		sum.Factor = FactorStore
	case s.files != nil:
		switch s.files.CheckFile(ctx, u.Name) {
		case FileUsable:
			sum.Factor = FactorFile
		case FileBroken:
			sum.Factor = FactorFileBroken
		}
	}
	last, err := s.store.AuditLog(ctx, AuditFilter{User: u.Name, Result: OK.String(), Action: ActionSignIn, Limit: 1})
	if err != nil {
		return sum, err
	}
	if len(last) > 0 {
		sum.LastSignIn = last[0].Time
	}
	failed, err := s.store.AuditLog(ctx, AuditFilter{User: u.Name, Failed: true, Since: s.now().Add(-24 * time.Hour), Limit: 100})
	sum.RecentFailures = len(failed)
	return sum, err
}

// UserSessions returns the user's sessions, newest first.
func (s *Service) UserSessions(ctx context.Context, userID int64) ([]Session, error) {
	return s.store.UserSessions(ctx, userID)
}

// EndUserSession ends one session of the user, by its token's hash;
// ErrNotFound when the user has no such session.
func (s *Service) EndUserSession(ctx context.Context, userID int64, tokenHash []byte) error {
	sess, err := s.store.Session(ctx, tokenHash)
	if err != nil {
		return err
	}
	if sess.UserID != userID {
		return fmt.Errorf("session: %w", ErrNotFound)
	}
	if err := s.endSession(ctx, userID, tokenHash); err != nil {
		return err
	}
	s.audit(ctx, AuditEntry{User: s.nameOf(ctx, userID), Action: ActionEndSessions, Result: "ok", Reason: "one session"})
	return nil
}

// EndUserSessions ends every session of the user (an administrator's
// action).
func (s *Service) EndUserSessions(ctx context.Context, userID int64) error {
	if err := s.endUserSessions(ctx, userID); err != nil {
		return err
	}
	s.audit(ctx, AuditEntry{User: s.nameOf(ctx, userID), Action: ActionEndSessions, Result: "ok", Reason: "every session"})
	return nil
}

// AuditLog returns the audit log's entries f selects, newest first.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	return s.store.AuditLog(ctx, f)
}
