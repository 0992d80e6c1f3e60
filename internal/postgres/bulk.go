package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/otpgate/otpgate/internal/mfa"
)

// MaxUserID returns the largest user ID, 0 when there is no user (for
// seeding, see internal/seed).
func (s *Store) MaxUserID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM users`).Scan(&id)
	return id, dbError("max user id", err)
}

// InsertAccounts stores users with their given IDs, authenticators and
// sessions in one transaction with COPY, then numbers new users after the
// largest ID (for seeding, see internal/seed). A name or ID taken gives
// mfa.ErrConflict and stores nothing.
func (s *Store) InsertAccounts(ctx context.Context, users []mfa.User, auths []mfa.Authenticator, sessions []mfa.Session) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return dbError("insert accounts", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return dbError("insert accounts: begin", err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return dbError("insert accounts", err)
		}
		copies := []tableCopy{
			{"users", []string{"id", "name", "password_hash", "admin", "disabled", "created_at"}, len(users),
				func(i int) ([]any, error) {
					u := users[i]
					return []any{u.ID, u.Name, u.PasswordHash, u.Admin, u.Disabled, u.Created}, nil
				}},
			{"authenticators", authenticatorColumnList, len(auths), func(i int) ([]any, error) { return authenticatorRow(auths[i]) }},
			{"sessions", []string{"token_hash", "user_id", "level", "created_at", "last_seen_at"}, len(sessions),
				func(i int) ([]any, error) {
					x := sessions[i]
					return []any{x.TokenHash, x.UserID, int16(x.Level), x.Created, x.LastSeen}, nil
				}},
		}
		if err := copyTables(ctx, tx, "insert accounts", copies); err != nil {
			return err
		}
		return dbError("insert accounts: commit", tx.Commit(ctx))
	})
}
