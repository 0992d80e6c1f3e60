package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/otpgate/otpgate/internal/mfa"
)

var _ mfa.KeyCheckStore = (*Store)(nil)

// KeyCheck implements mfa.KeyCheckStore. The sample authenticator carries
// only what a key is tried on: its ID, user and sealed secret.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, mfa.Authenticator, error) {
	var value []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'key_check'`).Scan(&value)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Authenticator{}, fmt.Errorf("sqlite: key check: %w", err)
	}
	if value != nil {
		return value, mfa.Authenticator{}, nil
	}
	var a mfa.Authenticator
	err = s.db.QueryRowContext(ctx, `SELECT id, user_id, sealed_secret FROM authenticators
		WHERE confirmed_at IS NOT NULL LIMIT 1`).Scan(&a.ID, &a.UserID, &a.SealedSecret)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Authenticator{}, fmt.Errorf("sqlite: key check: %w", err)
	}
	return nil, a, nil
}

// SetKeyCheck implements mfa.KeyCheckStore.
func (s *Store) SetKeyCheck(ctx context.Context, value []byte) ([]byte, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('key_check', ?)
		ON CONFLICT (name) DO NOTHING`, value); err != nil {
		return nil, fmt.Errorf("sqlite: set key check: %w", err)
	}
	var stored []byte
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'key_check'`).Scan(&stored); err != nil {
		return nil, fmt.Errorf("sqlite: key check: %w", err)
	}
	return stored, nil
}
