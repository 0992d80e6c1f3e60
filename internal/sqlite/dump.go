package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/migrate"
	"github.com/otpgate/otpgate/otp"
)

// Export reads every row of the store, in one snapshot (a read-only
// transaction sees the database as it was at its first read).
func (s *Store) Export(ctx context.Context) (migrate.Dump, error) {
	var d migrate.Dump
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, fmt.Errorf("sqlite: export: %w", unavailable(err))
	}
	defer tx.Rollback()
	err = each(ctx, tx, `SELECT `+userColumns+` FROM users`, func(r *sql.Rows) error {
		u, err := scanUser(r)
		d.Users = append(d.Users, u)
		return err
	})
	if err == nil {
		err = each(ctx, tx, `SELECT id, user_id, name, sealed_secret, algorithm, digits, period_seconds,
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
			a.Created, a.Confirmed, a.LastUsed = fromDB(created), fromDB(confirmed), fromDB(used)
			a.LastStep = uint64(step.Int64)
			d.Authenticators = append(d.Authenticators, a)
			return nil
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT user_id, hash, created_at, used_at FROM recovery_codes`, func(r *sql.Rows) error {
			var c migrate.RecoveryCode
			var created, used sql.NullInt64
			err := r.Scan(&c.UserID, &c.Hash, &created, &used)
			c.Created, c.Used = fromDB(created), fromDB(used)
			d.RecoveryCodes = append(d.RecoveryCodes, c)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT token_hash, user_id, level, created_at, last_seen_at FROM sessions`, func(r *sql.Rows) error {
			var x mfa.Session
			var level int
			var created, seen sql.NullInt64
			err := r.Scan(&x.TokenHash, &x.UserID, &level, &created, &seen)
			x.Level, x.Created, x.LastSeen = mfa.Level(level), fromDB(created), fromDB(seen)
			d.Sessions = append(d.Sessions, x)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT hash, expires_at FROM setup_tokens`, func(r *sql.Rows) error {
			var t migrate.SetupToken
			var expires sql.NullInt64
			err := r.Scan(&t.Hash, &expires)
			t.Expires = fromDB(expires)
			d.SetupTokens = append(d.SetupTokens, t)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT key, failures, last_failure_at FROM throttle`, func(r *sql.Rows) error {
			var e migrate.ThrottleEntry
			var last sql.NullInt64
			err := r.Scan(&e.Key, &e.Failures, &last)
			e.LastFailure = fromDB(last)
			d.Throttle = append(d.Throttle, e)
			return err
		})
	}
	if err != nil {
		return migrate.Dump{}, err
	}
	return d, nil
}

// each runs query in tx and calls f for every row.
func each(ctx context.Context, tx *sql.Tx, query string, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlite: export: %w", unavailable(err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return fmt.Errorf("sqlite: export: %w", unavailable(err))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export: %w", unavailable(err))
	}
	return nil
}
