package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// CreateSession implements mfa.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess mfa.Session) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
			sess.TokenHash, sess.UserID, int(sess.Level), sess.Created.UnixNano(), sess.LastSeen.UnixNano())
		if isForeignKey(err) {
			return fmt.Errorf("user %d: %w", sess.UserID, mfa.ErrNotFound)
		}
		if isUnique(err) {
			return fmt.Errorf("session: %w", mfa.ErrConflict)
		}
		return notFound(err, "create session")
	})
}

// Session implements mfa.SessionStore.
func (s *Store) Session(ctx context.Context, tokenHash []byte) (mfa.Session, error) {
	sess := mfa.Session{TokenHash: tokenHash}
	var level int
	var created, seen sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, level, created_at, last_seen_at FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&sess.UserID, &level, &created, &seen)
	sess.Level, sess.Created, sess.LastSeen = mfa.Level(level), fromDB(created), fromDB(seen)
	return sess, notFound(err, "session")
}

// TouchSession implements mfa.SessionStore.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, now.UnixNano(), tokenHash)
		return affected(res, err, "session")
	})
}

// DeleteSession implements mfa.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return notFound(err, "delete session")
	})
}

// DeleteUserSessions implements mfa.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return notFound(err, "delete sessions")
	})
}

// DeleteExpiredSessions implements mfa.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, created, seen time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?`, created.UnixNano(), seen.UnixNano())
		return notFound(err, "delete expired sessions")
	})
}

// Attempt implements mfa.ThrottleStore. The transaction takes SQLite's
// write lock at BEGIN (_txlock=immediate), so concurrent attempts on one
// key are counted one after the other.
func (s *Store) Attempt(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (time.Duration, error) {
	var retry time.Duration
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var failures int
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM throttle WHERE key = ?`, key).Scan(&failures, &last)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("sqlite: throttle: %w", err)
		}
		// Free failures never wait, even when a concurrent attempt that
		// read the clock later was counted first.
		failures, retry = mfa.ThrottleWait(p, failures, time.Unix(0, last), now)
		if retry > 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO throttle (key, failures, last_failure_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at`,
			key, failures+1, now.UnixNano())
		return notFound(err, "throttle")
	})
	return retry, err
}

// Forgive implements mfa.ThrottleStore.
func (s *Store) Forgive(ctx context.Context, key string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE throttle SET failures = max(failures - 1, 0) WHERE key = ?`, key)
		return notFound(err, "throttle")
	})
}

// ResetThrottle implements mfa.ThrottleStore.
func (s *Store) ResetThrottle(ctx context.Context, key string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM throttle WHERE key = ?`, key)
		return notFound(err, "throttle")
	})
}

// ThrottleState implements mfa.ThrottleStore.
func (s *Store) ThrottleState(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (int, time.Duration, error) {
	var failures int
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM throttle WHERE key = ?`, key).Scan(&failures, &last)
	if err == sql.ErrNoRows {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: throttle: %w", err)
	}
	f, wait := mfa.ThrottleWait(p, failures, time.Unix(0, last), now)
	return f, wait, nil
}

// DeleteStaleThrottles implements mfa.ThrottleStore.
func (s *Store) DeleteStaleThrottles(ctx context.Context, before time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM throttle WHERE last_failure_at < ?`, before.UnixNano())
		return notFound(err, "throttle")
	})
}
