package sqlite

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
	var created sql.NullInt64
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
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = createUser(ctx, tx, u)
		return err
	})
	return u, err
}

func createUser(ctx context.Context, tx *sql.Tx, u mfa.User) (mfa.User, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, admin, disabled, created_at, display_name, group_names, source, external_id, mail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Name, u.PasswordHash, u.Admin, u.Disabled, toDB(u.Created), u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail)
	if isUnique(err) {
		return mfa.User{}, fmt.Errorf("user %q: %w", u.Name, mfa.ErrConflict)
	}
	if err != nil {
		return mfa.User{}, fmt.Errorf("sqlite: create user: %w", err)
	}
	u.ID, err = res.LastInsertId()
	return u, err
}

// User implements mfa.UserStore.
func (s *Store) User(ctx context.Context, id int64) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, notFound(err, fmt.Sprintf("user %d", id))
}

// UserByExternalID implements mfa.UserStore.
func (s *Store) UserByExternalID(ctx context.Context, source, id string) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE source = ? AND external_id = ?`, source, id))
	return u, notFound(err, fmt.Sprintf("user %s:%s", source, id))
}

// UserByName implements mfa.UserStore.
func (s *Store) UserByName(ctx context.Context, name string) (mfa.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	return u, notFound(err, fmt.Sprintf("user %q", name))
}

// Users implements mfa.UserStore.
func (s *Store) Users(ctx context.Context) ([]mfa.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var users []mfa.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// UpdateUser implements mfa.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u mfa.User) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, password_hash = ?, admin = ?, disabled = ?, display_name = ?, group_names = ?,
			source = ?, external_id = ?, mail = ? WHERE id = ?`,
			u.Name, u.PasswordHash, u.Admin, u.Disabled, u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail, u.ID)
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", u.Name, mfa.ErrConflict)
		}
		return affected(res, err, fmt.Sprintf("user %d", u.ID))
	})
}

// DeleteUser implements mfa.UserStore.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return affected(res, err, fmt.Sprintf("user %d", id))
	})
}

// affected turns an update of no row into mfa.ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, mfa.ErrNotFound)
	}
	return nil
}

// CreateSetupToken implements mfa.SetupStore.
func (s *Store) CreateSetupToken(ctx context.Context, hash []byte, expires time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if err := noUsers(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("sqlite: setup token: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (hash, expires_at) VALUES (?, ?)`, hash, toDB(expires))
		return notFound(err, "setup token")
	})
}

func noUsers(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: count users: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("users exist already: %w", mfa.ErrConflict)
	}
	return nil
}

// CreateFirstAdmin implements mfa.SetupStore.
func (s *Store) CreateFirstAdmin(ctx context.Context, hash []byte, u mfa.User, now time.Time) (mfa.User, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE hash = ? AND expires_at > ?`, hash, now.UnixNano())
		if err := affected(res, err, "setup token"); err != nil {
			return err
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
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE hash = ? AND expires_at > ?)
		AND NOT EXISTS (SELECT 1 FROM users)`, hash, now.UnixNano()).Scan(&valid)
	if err != nil {
		return false, fmt.Errorf("sqlite: setup token: %w", err)
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
