package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// CreateTrustedBrowser implements mfa.TrustStore.
func (s *Store) CreateTrustedBrowser(ctx context.Context, b mfa.TrustedBrowser) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO trusted_browsers (token_hash, user_id, created_at, expires_at, last_used_at, user_agent, addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, b.TokenHash, b.UserID, b.Created, b.Expires, b.LastUsed, b.UserAgent, b.Addr)
	return dbError("create trusted browser", err)
}

const trustedColumns = `token_hash, user_id, created_at, expires_at, last_used_at, user_agent, addr`

func scanTrusted(sc interface{ Scan(...any) error }) (mfa.TrustedBrowser, error) {
	var b mfa.TrustedBrowser
	var created, expires, used sql.NullTime
	err := sc.Scan(&b.TokenHash, &b.UserID, &created, &expires, &used, &b.UserAgent, &b.Addr)
	b.Created, b.Expires, b.LastUsed = fromDB(created), fromDB(expires), fromDB(used)
	return b, err
}

// TrustedBrowser implements mfa.TrustStore.
func (s *Store) TrustedBrowser(ctx context.Context, tokenHash []byte) (mfa.TrustedBrowser, error) {
	b, err := scanTrusted(s.db.QueryRowContext(ctx, `SELECT `+trustedColumns+` FROM trusted_browsers WHERE token_hash = $1`, tokenHash))
	return b, dbError("trusted browser", err)
}

// TouchTrustedBrowser implements mfa.TrustStore.
func (s *Store) TouchTrustedBrowser(ctx context.Context, tokenHash []byte, now time.Time, addr string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE trusted_browsers SET last_used_at = $1, addr = $2 WHERE token_hash = $3`, now, addr, tokenHash)
	return affected(res, err, "trusted browser")
}

// TrustedBrowsers implements mfa.TrustStore.
func (s *Store) TrustedBrowsers(ctx context.Context, userID int64) ([]mfa.TrustedBrowser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+trustedColumns+` FROM trusted_browsers WHERE user_id = $1 ORDER BY created_at DESC, token_hash`, userID)
	if err != nil {
		return nil, dbError("trusted browsers", err)
	}
	defer rows.Close()
	var out []mfa.TrustedBrowser
	for rows.Next() {
		b, err := scanTrusted(rows)
		if err != nil {
			return nil, dbError("trusted browsers", err)
		}
		out = append(out, b)
	}
	return out, dbError("trusted browsers", rows.Err())
}

// DeleteTrustedBrowser implements mfa.TrustStore.
func (s *Store) DeleteTrustedBrowser(ctx context.Context, userID int64, tokenHash []byte) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = $1 AND token_hash = $2`, userID, tokenHash)
	return affected(res, err, "trusted browser")
}

// DeleteTrustedBrowsers implements mfa.TrustStore.
func (s *Store) DeleteTrustedBrowsers(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = $1`, userID)
	return dbError("delete trusted browsers", err)
}

// DeleteExpiredTrustedBrowsers implements mfa.TrustStore.
func (s *Store) DeleteExpiredTrustedBrowsers(ctx context.Context, expires, created time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE expires_at <= $1 OR created_at < $2`, expires, created)
	return dbError("delete expired trusted browsers", err)
}
