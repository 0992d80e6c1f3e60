package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// CreateAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) CreateAuthenticator(ctx context.Context, a mfa.Authenticator) error {
	return s.withTx(ctx, func(tx *sql.Tx) error { return insertAuthenticator(ctx, tx, a) })
}

// insertAuthenticatorSQL inserts the row of authenticatorRow.
const insertAuthenticatorSQL = `INSERT INTO authenticators (id, user_id, name, sealed_secret, algorithm, digits,
	period_seconds, created_at, confirmed_at, last_used_at, last_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// authenticatorRow is a's row; last_step is NULL for an authenticator
// never confirmed nor used.
func authenticatorRow(a mfa.Authenticator) []any {
	var step any
	if !a.Confirmed.IsZero() || !a.LastUsed.IsZero() {
		step = int64(a.LastStep)
	}
	return []any{a.ID, a.UserID, a.Name, a.SealedSecret, a.Algorithm.String(), a.Digits, int64(a.Period / time.Second),
		toDB(a.Created), toDB(a.Confirmed), toDB(a.LastUsed), step}
}

// insertAuthenticator stores a, pending when a.Confirmed is zero.
func insertAuthenticator(ctx context.Context, tx *sql.Tx, a mfa.Authenticator) error {
	_, err := tx.ExecContext(ctx, insertAuthenticatorSQL, authenticatorRow(a)...)
	if isUnique(err) {
		return fmt.Errorf("authenticator %s: %w", a.ID, mfa.ErrConflict)
	}
	if isForeignKey(err) {
		return fmt.Errorf("user %d: %w", a.UserID, mfa.ErrNotFound)
	}
	return notFound(err, "create authenticator")
}

// ImportAuthenticator implements mfa.AuthenticatorStore. The transaction
// holds SQLite's write lock from its start (_txlock=immediate), so that
// concurrent imports run one after the other.
func (s *Store) ImportAuthenticator(ctx context.Context, a mfa.Authenticator, recoveryHashes [][]byte) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var confirmed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM authenticators WHERE user_id = ? AND confirmed_at IS NOT NULL`,
			a.UserID).Scan(&confirmed); err != nil {
			return fmt.Errorf("sqlite: import authenticator: %w", err)
		}
		if confirmed > 0 {
			return fmt.Errorf("user %d has a confirmed authenticator: %w", a.UserID, mfa.ErrConflict)
		}
		if err := insertAuthenticator(ctx, tx, a); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, a.UserID, recoveryHashes, a.Confirmed)
	})
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code() == 787 // SQLITE_CONSTRAINT_FOREIGNKEY
}

// Authenticators implements mfa.AuthenticatorStore.
func (s *Store) Authenticators(ctx context.Context, userID int64) ([]mfa.Authenticator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, sealed_secret, algorithm, digits, period_seconds,
		created_at, confirmed_at, last_used_at, last_step
		FROM authenticators WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: authenticators: %w", err)
	}
	defer rows.Close()
	var list []mfa.Authenticator
	for rows.Next() {
		var a mfa.Authenticator
		var alg string
		var period int64
		var created, confirmed, used, step sql.NullInt64
		if err := rows.Scan(&a.ID, &a.UserID, &a.Name, &a.SealedSecret, &alg, &a.Digits, &period,
			&created, &confirmed, &used, &step); err != nil {
			return nil, fmt.Errorf("sqlite: authenticators: %w", err)
		}
		if a.Algorithm, err = otp.ParseAlgorithm(alg); err != nil {
			return nil, fmt.Errorf("sqlite: authenticator %s: %w", a.ID, err)
		}
		a.Period = time.Duration(period) * time.Second
		a.Created, a.Confirmed, a.LastUsed = fromDB(created), fromDB(confirmed), fromDB(used)
		a.LastStep = uint64(step.Int64)
		list = append(list, a)
	}
	return list, rows.Err()
}

// ConfirmAuthenticator implements mfa.AuthenticatorStore. Transactions
// take the write lock when they begin, so confirmations run one after the
// other and each sees whether another came first.
func (s *Store) ConfirmAuthenticator(ctx context.Context, userID int64, id string, step uint64, now time.Time, firstCodes [][]byte) (bool, error) {
	var first bool
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM authenticators
			WHERE user_id = ? AND confirmed_at IS NOT NULL)`, userID).Scan(&first); err != nil {
			return fmt.Errorf("sqlite: confirm authenticator: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE authenticators SET confirmed_at = ?, last_used_at = ?, last_step = ?
			WHERE id = ? AND user_id = ? AND confirmed_at IS NULL`,
			now.UnixNano(), now.UnixNano(), int64(step), id, userID)
		if err := affected(res, err, "pending authenticator "+id); err != nil {
			return err
		}
		if !first {
			return nil
		}
		return replaceRecoveryCodes(ctx, tx, userID, firstCodes, now)
	})
	return first && err == nil, err
}

// UseStep implements mfa.AuthenticatorStore. The guarantee is the WHERE
// clause of one UPDATE: of concurrent calls with one step, SQLite runs them
// one after the other and only the first finds last_step smaller.
func (s *Store) UseStep(ctx context.Context, userID int64, id string, step uint64, now time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE authenticators SET last_step = ?, last_used_at = ?
			WHERE id = ? AND user_id = ? AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < ?)`,
			int64(step), now.UnixNano(), id, userID, int64(step))
		if err != nil {
			return fmt.Errorf("sqlite: use step: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM authenticators
			WHERE id = ? AND user_id = ? AND confirmed_at IS NOT NULL`, id, userID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: use step: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("authenticator %s: %w", id, mfa.ErrNotFound)
		}
		return mfa.ErrReplay
	})
}

// RenameAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) RenameAuthenticator(ctx context.Context, userID int64, id, name string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE authenticators SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
		return affected(res, err, "authenticator "+id)
	})
}

// DeleteAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) DeleteAuthenticator(ctx context.Context, userID int64, id string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM authenticators WHERE id = ? AND user_id = ?`, id, userID)
		return affected(res, err, "authenticator "+id)
	})
}

// DeleteAuthenticators implements mfa.AuthenticatorStore.
func (s *Store) DeleteAuthenticators(ctx context.Context, userID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM authenticators WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: delete authenticators: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: delete recovery codes: %w", err)
		}
		return nil
	})
}

// DeletePendingAuthenticators implements mfa.AuthenticatorStore.
func (s *Store) DeletePendingAuthenticators(ctx context.Context, before time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM authenticators WHERE confirmed_at IS NULL AND created_at < ?`, before.UnixNano())
		return notFound(err, "delete pending authenticators")
	})
}

// ReplaceRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte, now time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error { return replaceRecoveryCodes(ctx, tx, userID, hashes, now) })
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, hashes [][]byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: recovery codes: %w", err)
	}
	for _, h := range hashes {
		_, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)`, userID, h, now.UnixNano())
		if isForeignKey(err) {
			return fmt.Errorf("user %d: %w", userID, mfa.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: recovery codes: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode implements mfa.RecoveryStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
			now.UnixNano(), userID, hash)
		return affected(res, err, "recovery code")
	})
}

// RecoveryCodesLeft implements mfa.RecoveryStore.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, notFound(err, "recovery codes")
}
