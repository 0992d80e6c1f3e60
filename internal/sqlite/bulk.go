package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/otpgate/otpgate/internal/mfa"
)

// MaxUserID returns the largest user ID, 0 when there is no user (for
// seeding, see internal/seed).
func (s *Store) MaxUserID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM users`).Scan(&id)
	return id, notFound(err, "max user id")
}

// InsertAccounts stores users with their given IDs, authenticators and
// sessions in one transaction with prepared statements (for seeding, see
// internal/seed). A name or ID taken gives mfa.ErrConflict and stores
// nothing.
func (s *Store) InsertAccounts(ctx context.Context, users []mfa.User, auths []mfa.Authenticator, sessions []mfa.Session) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		insert := func(query string, n int, args func(i int) []any) error {
			st, err := tx.PrepareContext(ctx, query)
			if err != nil {
				return notFound(err, "insert accounts")
			}
			defer st.Close()
			for i := range n {
				_, err := st.ExecContext(ctx, args(i)...)
				if isUnique(err) {
					return fmt.Errorf("insert accounts: %w", mfa.ErrConflict)
				}
				if isForeignKey(err) {
					return fmt.Errorf("insert accounts: owner: %w", mfa.ErrNotFound)
				}
				if err != nil {
					return notFound(err, "insert accounts")
				}
			}
			return nil
		}
		if err := insert(`INSERT INTO users (id, name, password_hash, admin, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			len(users), func(i int) []any {
				u := users[i]
				return []any{u.ID, u.Name, u.PasswordHash, u.Admin, u.Disabled, toDB(u.Created)}
			}); err != nil {
			return err
		}
		if err := insert(insertAuthenticatorSQL, len(auths), func(i int) []any { return authenticatorRow(auths[i]) }); err != nil {
			return err
		}
		return insert(`INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
			len(sessions), func(i int) []any {
				x := sessions[i]
				return []any{x.TokenHash, x.UserID, int(x.Level), x.Created.UnixNano(), x.LastSeen.UnixNano()}
			})
	})
}
