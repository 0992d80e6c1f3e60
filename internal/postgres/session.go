package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// CreateSession implements mfa.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess mfa.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5)`, sess.TokenHash, sess.UserID, int(sess.Level), sess.Created, sess.LastSeen)
	return dbError("create session", err)
}

// Session implements mfa.SessionStore.
func (s *Store) Session(ctx context.Context, tokenHash []byte) (mfa.Session, error) {
	sess := mfa.Session{TokenHash: tokenHash}
	var level int
	var created, seen sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT user_id, level, created_at, last_seen_at FROM sessions WHERE token_hash = $1`,
		tokenHash).Scan(&sess.UserID, &level, &created, &seen)
	if err != nil {
		return mfa.Session{}, dbError("session", err)
	}
	sess.Level, sess.Created, sess.LastSeen = mfa.Level(level), fromDB(created), fromDB(seen)
	return sess, nil
}

// TouchSession implements mfa.SessionStore.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`, now, tokenHash)
	return affected(res, err, "session")
}

// DeleteSession implements mfa.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return dbError("delete session", err)
}

// DeleteUserSessions implements mfa.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return dbError("delete user sessions", err)
}

// DeleteExpiredSessions implements mfa.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, created, seen time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2`, created, seen)
	return dbError("delete expired sessions", err)
}

// Attempt implements mfa.ThrottleStore. The upsert creates the key's row
// or locks the existing one until the transaction ends, so concurrent
// attempts on the same key, from any instance, are decided one after the
// other on the count the previous one left.
func (s *Store) Attempt(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (time.Duration, error) {
	var retryAfter time.Duration
	err := s.withTx(ctx, "throttle", func(tx *sql.Tx) error {
		var failures int
		var last time.Time
		err := tx.QueryRowContext(ctx, `INSERT INTO throttle (key, failures, last_failure_at) VALUES ($1, 0, $2)
			ON CONFLICT (key) DO UPDATE SET failures = throttle.failures
			RETURNING failures, last_failure_at`, key, now).Scan(&failures, &last)
		if err != nil {
			return dbError("throttle", err)
		}
		if failures > 0 && !now.Before(last.Add(p.Forget)) {
			failures = 0
		}
		if failures > 0 {
			if wait := last.Add(p.Delay(failures)).Sub(now); wait > 0 {
				retryAfter = wait
				return nil
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE throttle SET failures = $1, last_failure_at = $2 WHERE key = $3`,
			failures+1, now, key)
		return dbError("throttle", err)
	})
	return retryAfter, err
}

// Forgive implements mfa.ThrottleStore.
func (s *Store) Forgive(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0`, key)
	return dbError("throttle", err)
}

// ResetThrottle implements mfa.ThrottleStore.
func (s *Store) ResetThrottle(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM throttle WHERE key = $1`, key)
	return dbError("throttle", err)
}
