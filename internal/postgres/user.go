package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

const userColumns = `id, name, password_hash, admin, disabled, created_at, display_name, group_names, source, external_id, mail`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (mfa.User, error) {
	var u mfa.User
	var created sql.NullTime
	var groups string
	var external sql.NullString
	err := row.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.Admin, &u.Disabled, &created, &u.DisplayName, &groups, &u.Source, &external, &u.Mail)
	u.ExternalID = external.String
	if u.Source == mfa.SourceLocal {
		u.Source = "" // the zero Source means local
	}
	u.Groups = splitGroups(groups)
	u.Created = fromDB(created)
	return u, err
}

// CreateUser implements mfa.UserStore.
func (s *Store) CreateUser(ctx context.Context, u mfa.User) (mfa.User, error) {
	return createUser(ctx, s.db, u)
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func createUser(ctx context.Context, q querier, u mfa.User) (mfa.User, error) {
	err := q.QueryRowContext(ctx, `INSERT INTO users (name, password_hash, admin, disabled, created_at, display_name, group_names, source, external_id, mail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		u.Name, u.PasswordHash, u.Admin, u.Disabled, u.Created, u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail).Scan(&u.ID)
	if err != nil {
		return mfa.User{}, dbError(fmt.Sprintf("create user %q", u.Name), err)
	}
	return u, nil
}

// User implements mfa.UserStore.
func (s *Store) User(ctx context.Context, id int64) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, dbError(fmt.Sprintf("user %d", id), err)
}

// UserByExternalID implements mfa.UserStore.
func (s *Store) UserByExternalID(ctx context.Context, source, id string) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE source = $1 AND external_id = $2`, source, id))
	return u, dbError(fmt.Sprintf("user %s:%s", source, id), err)
}

// UserByName implements mfa.UserStore.
func (s *Store) UserByName(ctx context.Context, name string) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	return u, dbError(fmt.Sprintf("user %q", name), err)
}

// Users implements mfa.UserStore.
func (s *Store) Users(ctx context.Context) ([]mfa.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, dbError("users", err)
	}
	defer rows.Close()
	var users []mfa.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbError("users", err)
		}
		users = append(users, u)
	}
	return users, dbError("users", rows.Err())
}

// UpdateUser implements mfa.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u mfa.User) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET name = $1, password_hash = $2, admin = $3, disabled = $4, display_name = $5, group_names = $6,
		source = $7, external_id = $8, mail = $9 WHERE id = $10`,
		u.Name, u.PasswordHash, u.Admin, u.Disabled, u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail, u.ID)
	return affected(res, err, fmt.Sprintf("user %d", u.ID))
}

// DeleteUser implements mfa.UserStore. The user's authenticators, recovery
// codes and sessions go with it (ON DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	return affected(res, err, fmt.Sprintf("user %d", id))
}

// CreateSetupToken implements mfa.SetupStore.
func (s *Store) CreateSetupToken(ctx context.Context, hash []byte, expires time.Time) error {
	return s.withTx(ctx, "setup token", func(tx *sql.Tx) error {
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return dbError("setup token", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (hash, expires_at) VALUES ($1, $2)`, hash, expires)
		return dbError("setup token", err)
	})
}

func noUsers(ctx context.Context, tx *sql.Tx) error {
	var exist bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exist); err != nil {
		return dbError("count users", err)
	}
	if exist {
		return fmt.Errorf("users exist already: %w", mfa.ErrConflict)
	}
	return nil
}

// CreateFirstAdmin implements mfa.SetupStore. The token's row is deleted
// by one conditional statement, so that of concurrent uses one succeeds,
// and the users table is locked against inserts until the transaction ends,
// so that no other user can be created between the check and the insert.
func (s *Store) CreateFirstAdmin(ctx context.Context, hash []byte, u mfa.User, now time.Time) (mfa.User, error) {
	err := s.withTx(ctx, "first admin", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE hash = $1 AND expires_at > $2`, hash, now)
		if err := affected(res, err, "setup token"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return dbError("lock users", err)
		}
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		u, err = createUser(ctx, tx, u)
		return err
	})
	return u, err
}

// joinGroups and splitGroups convert between User.Groups and the
// group_names column: valid group names hold no comma.
func joinGroups(groups []string) string { return strings.Join(groups, ",") }

func splitGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// SetupTokenValid implements mfa.SetupStore.
func (s *Store) SetupTokenValid(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	var valid bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE hash = $1 AND expires_at > $2)
		AND NOT EXISTS (SELECT 1 FROM users)`, hash, now).Scan(&valid)
	if err != nil {
		return false, dbError("setup token", err)
	}
	return valid, nil
}

// sourceOf and externalOf are the source and external_id columns of u:
// "local" for no source, NULL for no external ID (so that the unique index
// on both ignores local users).
func sourceOf(u mfa.User) string {
	if u.Source == "" {
		return mfa.SourceLocal
	}
	return u.Source
}

func externalOf(u mfa.User) sql.NullString {
	return sql.NullString{String: u.ExternalID, Valid: u.ExternalID != ""}
}
