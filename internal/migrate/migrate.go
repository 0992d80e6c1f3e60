// Package migrate moves a site's data from the embedded SQLite store to
// PostgreSQL (otpgate migrate-store): every row of every table, users with
// their IDs (sealed TOTP secrets are bound to them), checked afterwards by
// counts and a checksum of what was read on one side and written on the
// other.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// sqliteSchema is the version of the SQLite schema (its migrations) that
// ReadSQLite knows how to read.
const sqliteSchema = 4

// SQLiteToPostgres copies every row of the SQLite database at path into
// to, which must be empty (mfa.ErrConflict otherwise), then reads to back
// and checks that it holds exactly what was read. The servers on the SQLite
// database should be stopped: what they change during the copy is not
// moved. It returns the summary of what was moved.
func SQLiteToPostgres(ctx context.Context, path string, to *postgres.Store) (postgres.Summary, error) {
	d, err := ReadSQLite(ctx, path)
	if err != nil {
		return postgres.Summary{}, err
	}
	want := d.Summary()
	if err := to.Import(ctx, d); err != nil {
		return postgres.Summary{}, err
	}
	back, err := to.Export(ctx)
	if err != nil {
		return postgres.Summary{}, err
	}
	if got := back.Summary(); got != want {
		return postgres.Summary{}, fmt.Errorf("migrate: PostgreSQL holds %v after the copy, want %v", got, want)
	}
	return want, nil
}

// ReadSQLite reads every row of the SQLite store at path, in one snapshot.
// The file must exist; its schema is first brought up to date as
// sqlite.Open does.
func ReadSQLite(ctx context.Context, path string) (postgres.Dump, error) {
	var d postgres.Dump
	if _, err := os.Stat(path); err != nil {
		return d, fmt.Errorf("migrate: %w", err)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return d, err
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return d, fmt.Errorf("migrate: %w", err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, fmt.Errorf("migrate: sqlite: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return d, fmt.Errorf("migrate: sqlite: %w", err)
	}
	if version != sqliteSchema {
		return d, fmt.Errorf("migrate: SQLite schema is at version %d; this otpgate copies version %d", version, sqliteSchema)
	}
	err = errors.Join(
		each(ctx, tx, `SELECT id, name, password_hash, admin, disabled, created_at, display_name, group_names FROM users`, func(r *sql.Rows) error {
			var u mfa.User
			var created int64
			var groups string
			err := r.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.Admin, &u.Disabled, &created, &u.DisplayName, &groups)
			if groups != "" {
				u.Groups = strings.Split(groups, ",")
			}
			u.Created = unixNano(sql.NullInt64{Int64: created, Valid: true})
			d.Users = append(d.Users, u)
			return err
		}),
		each(ctx, tx, `SELECT id, user_id, name, sealed_secret, algorithm, digits, period_seconds,
			created_at, confirmed_at, last_used_at, last_step FROM authenticators`, func(r *sql.Rows) error {
			var a mfa.Authenticator
			var alg string
			var period int64
			var created, confirmed, used, step sql.NullInt64
			if err := r.Scan(&a.ID, &a.UserID, &a.Name, &a.SealedSecret, &alg, &a.Digits, &period,
				&created, &confirmed, &used, &step); err != nil {
				return err
			}
			var err error
			if a.Algorithm, err = otp.ParseAlgorithm(alg); err != nil {
				return fmt.Errorf("authenticator %s: %w", a.ID, err)
			}
			if step.Int64 < 0 {
				return fmt.Errorf("authenticator %s: negative last step", a.ID)
			}
			a.Period = time.Duration(period) * time.Second
			a.Created, a.Confirmed, a.LastUsed = unixNano(created), unixNano(confirmed), unixNano(used)
			a.LastStep = uint64(step.Int64)
			d.Authenticators = append(d.Authenticators, a)
			return nil
		}),
		each(ctx, tx, `SELECT user_id, hash, created_at, used_at FROM recovery_codes`, func(r *sql.Rows) error {
			var c postgres.RecoveryCode
			var created, used sql.NullInt64
			err := r.Scan(&c.UserID, &c.Hash, &created, &used)
			c.Created, c.Used = unixNano(created), unixNano(used)
			d.RecoveryCodes = append(d.RecoveryCodes, c)
			return err
		}),
		each(ctx, tx, `SELECT token_hash, user_id, level, created_at, last_seen_at FROM sessions`, func(r *sql.Rows) error {
			var x mfa.Session
			var level int
			var created, seen sql.NullInt64
			err := r.Scan(&x.TokenHash, &x.UserID, &level, &created, &seen)
			x.Level, x.Created, x.LastSeen = mfa.Level(level), unixNano(created), unixNano(seen)
			d.Sessions = append(d.Sessions, x)
			return err
		}),
		each(ctx, tx, `SELECT hash, expires_at FROM setup_tokens`, func(r *sql.Rows) error {
			var t postgres.SetupToken
			var expires sql.NullInt64
			err := r.Scan(&t.Hash, &expires)
			t.Expires = unixNano(expires)
			d.SetupTokens = append(d.SetupTokens, t)
			return err
		}),
		each(ctx, tx, `SELECT key, failures, last_failure_at FROM throttle`, func(r *sql.Rows) error {
			var e postgres.ThrottleEntry
			var last sql.NullInt64
			err := r.Scan(&e.Key, &e.Failures, &last)
			e.LastFailure = unixNano(last)
			d.Throttle = append(d.Throttle, e)
			return err
		}),
	)
	if err != nil {
		return postgres.Dump{}, err
	}
	return d, nil
}

// each runs query and calls f for every row.
func each(ctx context.Context, tx *sql.Tx, query string, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("migrate: sqlite: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return fmt.Errorf("migrate: sqlite: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: sqlite: %w", err)
	}
	return nil
}

// unixNano reads a SQLite store's time (Unix nanoseconds; NULL is zero).
func unixNano(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
