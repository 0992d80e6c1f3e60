package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/otpgate/otpgate/internal/mfa"
)

var _ mfa.HostStore = (*Store)(nil)

const hostColumns = `id, name, token_hash, allow_password, created_at`

func scanHost(row scanner) (mfa.Host, error) {
	var h mfa.Host
	var created sql.NullInt64
	err := row.Scan(&h.ID, &h.Name, &h.TokenHash, &h.AllowPassword, &created)
	h.Created = fromDB(created)
	return h, err
}

// CreateHost implements mfa.HostStore.
func (s *Store) CreateHost(ctx context.Context, h mfa.Host) (mfa.Host, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO hosts (name, token_hash, allow_password, created_at) VALUES (?, ?, ?, ?)`,
			h.Name, h.TokenHash, h.AllowPassword, toDB(h.Created))
		if isUnique(err) {
			return fmt.Errorf("host %q: %w", h.Name, mfa.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create host: %w", unavailable(err))
		}
		h.ID, err = res.LastInsertId()
		return err
	})
	return h, err
}

// Hosts implements mfa.HostStore.
func (s *Store) Hosts(ctx context.Context) ([]mfa.Host, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+hostColumns+` FROM hosts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: hosts: %w", unavailable(err))
	}
	defer rows.Close()
	var hosts []mfa.Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: hosts: %w", unavailable(err))
		}
		hosts = append(hosts, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: hosts: %w", unavailable(err))
	}
	return hosts, nil
}

// HostByTokenHash implements mfa.HostStore.
func (s *Store) HostByTokenHash(ctx context.Context, hash []byte) (mfa.Host, error) {
	h, err := scanHost(s.db.QueryRowContext(ctx, `SELECT `+hostColumns+` FROM hosts WHERE token_hash = ?`, hash))
	return h, notFound(err, "host by token")
}

// DeleteHost implements mfa.HostStore.
func (s *Store) DeleteHost(ctx context.Context, name string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM hosts WHERE name = ?`, name)
		return affected(res, err, fmt.Sprintf("host %q", name))
	})
}
