package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/otpgate/otpgate/internal/mfa"
)

var _ mfa.KeyCheckStore = (*Store)(nil)

// KeyCheck implements mfa.KeyCheckStore.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, mfa.Authenticator, error) {
	var value []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'key_check'`).Scan(&value)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Authenticator{}, dbError("key check", err)
	}
	if value != nil {
		return value, mfa.Authenticator{}, nil
	}
	a, err := scanAuthenticator(s.db.QueryRowContext(ctx, `SELECT `+authenticatorColumns+` FROM authenticators
		WHERE confirmed_at IS NOT NULL LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Authenticator{}, nil
	}
	return nil, a, dbError("key check", err)
}

// SetKeyCheck implements mfa.KeyCheckStore.
func (s *Store) SetKeyCheck(ctx context.Context, value []byte) ([]byte, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('key_check', $1)
		ON CONFLICT (name) DO NOTHING`, value); err != nil {
		return nil, dbError("set key check", err)
	}
	var stored []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'key_check'`).Scan(&stored)
	return stored, dbError("key check", err)
}
