package postgres

import (
	"context"
	"database/sql"
	"errors"
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

// Attempt implements mfa.ThrottleStore with one call of the function
// throttle_attempt (migrations/0002_throttle_attempt.sql). Its upsert
// creates the key's row or locks the existing one until the statement's
// transaction ends, so concurrent attempts on the same key, from any
// instance, are decided one after the other on the count the previous one
// left.
func (s *Store) Attempt(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (time.Duration, error) {
	var wait int64
	free := max(p.Free, 0)
	err := s.db.QueryRowContext(ctx, `SELECT throttle_attempt($1, $2, $3, $4, $5)`,
		key, now, p.Forget.Microseconds(), free, delays(p, free)).Scan(&wait)
	if err != nil {
		return 0, dbError("throttle", err)
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// delays lists p.Delay(f) in microseconds for f = free, free+1, ... up to
// the first count whose delay is the maximum, which every larger count also
// gets (the doubling reaches it within 64 steps of any sane policy).
func delays(p mfa.ThrottlePolicy, free int) []int64 {
	var us []int64
	for f := free; ; f++ {
		d := p.Delay(f)
		us = append(us, d.Microseconds())
		if d >= p.Max || f >= free+64 {
			return us
		}
	}
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

// ThrottleState implements mfa.ThrottleStore.
func (s *Store) ThrottleState(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (int, time.Duration, error) {
	var failures int
	var last time.Time
	err := s.db.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM throttle WHERE key = $1`, key).Scan(&failures, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, dbError("throttle", err)
	}
	f, wait := mfa.ThrottleWait(p, failures, last, now)
	return f, wait, nil
}

// DeleteStaleThrottles implements mfa.ThrottleStore.
func (s *Store) DeleteStaleThrottles(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM throttle WHERE last_failure_at < $1`, before)
	return dbError("throttle", err)
}
