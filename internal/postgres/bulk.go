package postgres

import (
	"context"
	"time"

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
			{"authenticators", []string{"id", "user_id", "name", "sealed_secret", "algorithm", "digits", "period_seconds",
				"created_at", "confirmed_at", "last_used_at", "last_step"}, len(auths),
				func(i int) ([]any, error) {
					a := auths[i]
					step, err := stepToDB(a.LastStep)
					var last any = step
					if a.Confirmed.IsZero() && a.LastUsed.IsZero() {
						last = nil
					}
					return []any{a.ID, a.UserID, a.Name, a.SealedSecret, a.Algorithm.String(), a.Digits,
						int64(a.Period / time.Second), a.Created, toDB(a.Confirmed), toDB(a.LastUsed), last}, err
				}},
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
