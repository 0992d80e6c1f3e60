package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// CreateTrustedBrowser implements mfa.TrustStore.
func (s *Store) CreateTrustedBrowser(ctx context.Context, b mfa.TrustedBrowser) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trusted_browsers (token_hash, user_id, created_at, expires_at, last_used_at, user_agent, addr)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.TokenHash, b.UserID, b.Created.UnixNano(), b.Expires.UnixNano(), b.LastUsed.UnixNano(), b.UserAgent, b.Addr)
		if isForeignKey(err) {
			return fmt.Errorf("user %d: %w", b.UserID, mfa.ErrNotFound)
		}
		if isUnique(err) {
			return fmt.Errorf("trusted browser: %w", mfa.ErrConflict)
		}
		return notFound(err, "create trusted browser")
	})
}

const trustedColumns = `token_hash, user_id, created_at, expires_at, last_used_at, user_agent, addr`

func scanTrusted(sc interface{ Scan(...any) error }) (mfa.TrustedBrowser, error) {
	var b mfa.TrustedBrowser
	var created, expires, used sql.NullInt64
	err := sc.Scan(&b.TokenHash, &b.UserID, &created, &expires, &used, &b.UserAgent, &b.Addr)
	b.Created, b.Expires, b.LastUsed = fromDB(created), fromDB(expires), fromDB(used)
	return b, err
}

// TrustedBrowser implements mfa.TrustStore.
func (s *Store) TrustedBrowser(ctx context.Context, tokenHash []byte) (mfa.TrustedBrowser, error) {
	b, err := scanTrusted(s.db.QueryRowContext(ctx, `SELECT `+trustedColumns+` FROM trusted_browsers WHERE token_hash = ?`, tokenHash))
	return b, notFound(err, "trusted browser")
}

// TouchTrustedBrowser implements mfa.TrustStore.
func (s *Store) TouchTrustedBrowser(ctx context.Context, tokenHash []byte, now time.Time, addr string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE trusted_browsers SET last_used_at = ?, addr = ? WHERE token_hash = ?`, now.UnixNano(), addr, tokenHash)
		return affected(res, err, "trusted browser")
	})
}

// TrustedBrowsers implements mfa.TrustStore.
func (s *Store) TrustedBrowsers(ctx context.Context, userID int64) ([]mfa.TrustedBrowser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+trustedColumns+` FROM trusted_browsers WHERE user_id = ? ORDER BY created_at DESC, token_hash`, userID)
	if err != nil {
		return nil, notFound(err, "trusted browsers")
	}
	defer rows.Close()
	var out []mfa.TrustedBrowser
	for rows.Next() {
		b, err := scanTrusted(rows)
		if err != nil {
			return nil, notFound(err, "trusted browsers")
		}
		out = append(out, b)
	}
	return out, notFound(rows.Err(), "trusted browsers")
}

// DeleteTrustedBrowser implements mfa.TrustStore.
func (s *Store) DeleteTrustedBrowser(ctx context.Context, userID int64, tokenHash []byte) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = ? AND token_hash = ?`, userID, tokenHash)
		return affected(res, err, "trusted browser")
	})
}

// DeleteTrustedBrowsers implements mfa.TrustStore.
func (s *Store) DeleteTrustedBrowsers(ctx context.Context, userID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = ?`, userID)
		return notFound(err, "delete trusted browsers")
	})
}

// DeleteExpiredTrustedBrowsers implements mfa.TrustStore.
func (s *Store) DeleteExpiredTrustedBrowsers(ctx context.Context, expires, created time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE expires_at <= ? OR created_at < ?`, expires.UnixNano(), created.UnixNano())
		return notFound(err, "delete expired trusted browsers")
	})
}
