package postgres

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
	var created sql.NullTime
	err := row.Scan(&h.ID, &h.Name, &h.TokenHash, &h.AllowPassword, &created)
	h.Created = fromDB(created)
	return h, err
}

// CreateHost implements mfa.HostStore.
func (s *Store) CreateHost(ctx context.Context, h mfa.Host) (mfa.Host, error) {
	err := s.db.QueryRowContext(ctx, `INSERT INTO hosts (name, token_hash, allow_password, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		h.Name, h.TokenHash, h.AllowPassword, h.Created).Scan(&h.ID)
	if err != nil {
		return mfa.Host{}, dbError(fmt.Sprintf("create host %q", h.Name), err)
	}
	return h, nil
}

// Hosts implements mfa.HostStore.
func (s *Store) Hosts(ctx context.Context) ([]mfa.Host, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+hostColumns+` FROM hosts ORDER BY name`)
	if err != nil {
		return nil, dbError("hosts", err)
	}
	defer rows.Close()
	var hosts []mfa.Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, dbError("hosts", err)
		}
		hosts = append(hosts, h)
	}
	return hosts, dbError("hosts", rows.Err())
}

// HostByTokenHash implements mfa.HostStore.
func (s *Store) HostByTokenHash(ctx context.Context, hash []byte) (mfa.Host, error) {
	h, err := scanHost(s.db.QueryRowContext(ctx, `SELECT `+hostColumns+` FROM hosts WHERE token_hash = $1`, hash))
	return h, dbError("host by token", err)
}

// DeleteHost implements mfa.HostStore.
func (s *Store) DeleteHost(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM hosts WHERE name = $1`, name)
	return affected(res, err, fmt.Sprintf("host %q", name))
}
