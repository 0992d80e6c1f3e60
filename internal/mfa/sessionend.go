package mfa

import "context"

// SessionEnd names sessions that were ended, for Deps.SessionEnded: one
// session of the user (TokenHash, the HashToken of its cookie) or, with
// TokenHash nil, every session of the user. A session that merely expired
// is not told of.
type SessionEnd struct {
	UserID    int64
	TokenHash []byte
}

// endSession deletes one session of the user and tells the hook.
func (s *Service) endSession(ctx context.Context, userID int64, tokenHash []byte) error {
	if err := s.store.DeleteSession(ctx, tokenHash); err != nil {
		return err
	}
	s.sessionsEnded(ctx, SessionEnd{UserID: userID, TokenHash: tokenHash})
	return nil
}

// endUserSessions deletes every session of the user and tells the hook.
func (s *Service) endUserSessions(ctx context.Context, userID int64) error {
	if err := s.store.DeleteUserSessions(ctx, userID); err != nil {
		return err
	}
	s.sessionsEnded(ctx, SessionEnd{UserID: userID})
	return nil
}

// sessionsEnded hands e to the SessionEnded hook, if any.
func (s *Service) sessionsEnded(ctx context.Context, e SessionEnd) {
	if s.ended != nil {
		s.ended(ctx, e)
	}
}
