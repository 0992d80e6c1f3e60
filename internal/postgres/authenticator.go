package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// authenticatorColumnList is the columns of an authenticator, in the order
// of scanAuthenticator and authenticatorRow; authenticatorColumns lists
// them for SQL.
var (
	authenticatorColumnList = []string{"id", "user_id", "name", "sealed_secret", "algorithm", "digits", "period_seconds",
		"created_at", "confirmed_at", "last_used_at", "last_step"}
	authenticatorColumns = strings.Join(authenticatorColumnList, ", ")
)

// authenticatorRow is a's row; last_step is NULL for an authenticator
// never confirmed nor used.
func authenticatorRow(a mfa.Authenticator) ([]any, error) {
	step, err := stepToDB(a.LastStep)
	var last any = step
	if a.Confirmed.IsZero() && a.LastUsed.IsZero() {
		last = nil
	}
	return []any{a.ID, a.UserID, a.Name, a.SealedSecret, a.Algorithm.String(), a.Digits,
		int64(a.Period / time.Second), a.Created, toDB(a.Confirmed), toDB(a.LastUsed), last}, err
}

func scanAuthenticator(row scanner) (mfa.Authenticator, error) {
	var a mfa.Authenticator
	var algorithm string
	var period int64
	var created, confirmed, lastUsed sql.NullTime
	var lastStep sql.NullInt64
	err := row.Scan(&a.ID, &a.UserID, &a.Name, &a.SealedSecret, &algorithm, &a.Digits, &period,
		&created, &confirmed, &lastUsed, &lastStep)
	if err != nil {
		return a, err
	}
	if a.Algorithm, err = otp.ParseAlgorithm(algorithm); err != nil {
		return a, fmt.Errorf("authenticator %s: %w", a.ID, err)
	}
	a.Period = time.Duration(period) * time.Second
	a.Created, a.Confirmed, a.LastUsed = fromDB(created), fromDB(confirmed), fromDB(lastUsed)
	a.LastStep = uint64(lastStep.Int64)
	return a, nil
}

// CreateAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) CreateAuthenticator(ctx context.Context, a mfa.Authenticator) error {
	return insertAuthenticator(ctx, s.db, a)
}

// insertAuthenticator stores a, pending when a.Confirmed is zero.
func insertAuthenticator(ctx context.Context, q querier, a mfa.Authenticator) error {
	if a.Period%time.Second != 0 {
		return fmt.Errorf("authenticator %s: %w: period %v is not whole seconds", a.ID, mfa.ErrInvalid, a.Period)
	}
	row, err := authenticatorRow(a)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO authenticators (`+authenticatorColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, row...)
	return dbError(fmt.Sprintf("create authenticator %s", a.ID), err)
}

// Authenticators implements mfa.AuthenticatorStore.
func (s *Store) Authenticators(ctx context.Context, userID int64) ([]mfa.Authenticator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+authenticatorColumns+` FROM authenticators
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbError("authenticators", err)
	}
	defer rows.Close()
	var as []mfa.Authenticator
	for rows.Next() {
		a, err := scanAuthenticator(rows)
		if err != nil {
			return nil, dbError("authenticators", err)
		}
		as = append(as, a)
	}
	return as, dbError("authenticators", rows.Err())
}

// ConfirmAuthenticator implements mfa.AuthenticatorStore. The user's row is
// locked first, as in ImportAuthenticator, so that confirmations for one
// user run one after the other and each sees whether another came first;
// the conditional UPDATE then finds the authenticator pending or not.
func (s *Store) ConfirmAuthenticator(ctx context.Context, userID int64, id string, step uint64, now time.Time, firstCodes [][]byte) (bool, error) {
	dbStep, err := stepToDB(step)
	if err != nil {
		return false, err
	}
	var first bool
	err = s.withTx(ctx, "confirm authenticator", func(tx *sql.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM authenticators
			WHERE user_id = $1 AND confirmed_at IS NOT NULL)`, userID).Scan(&first); err != nil {
			return dbError("confirm authenticator", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE authenticators SET confirmed_at = $1, last_used_at = $1, last_step = $2
			WHERE user_id = $3 AND id = $4 AND confirmed_at IS NULL`, now, dbStep, userID, id)
		if err := affected(res, err, fmt.Sprintf("pending authenticator %s", id)); err != nil {
			return err
		}
		if !first {
			return nil
		}
		return replaceRecoveryCodes(ctx, tx, userID, firstCodes, now)
	})
	return first && err == nil, err
}

// lockUser locks the user's row until the end of tx, so that another
// transaction taking this lock waits: ErrNotFound when there is no such
// user. The lock leaves the row's key free, so sign-ins, which insert
// sessions that refer to it, do not wait.
func lockUser(ctx context.Context, tx *sql.Tx, userID int64) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("user %d: %w", userID, mfa.ErrNotFound)
	}
	return dbError("lock user", err)
}

// UseStep implements mfa.AuthenticatorStore in one statement. Its UPDATE
// moves last_step forward only if step is past it; PostgreSQL re-checks that
// condition on the newest row version after waiting for a concurrent
// update, so of two calls with the same step exactly one changes the row.
func (s *Store) UseStep(ctx context.Context, userID int64, id string, step uint64, now time.Time) error {
	dbStep, err := stepToDB(step)
	if err != nil {
		return err
	}
	// The SELECT around the UPDATE tells, in the same round trip, a replay
	// from an authenticator that is absent or pending; it reads the
	// snapshot of before the update, in which confirmed_at is the same.
	var used, confirmed bool
	err = s.db.QueryRowContext(ctx, `WITH used AS (
			UPDATE authenticators SET last_step = $1, last_used_at = $2
			WHERE user_id = $3 AND id = $4 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM used),
			EXISTS (SELECT 1 FROM authenticators WHERE user_id = $3 AND id = $4 AND confirmed_at IS NOT NULL)`,
		dbStep, now, userID, id).Scan(&used, &confirmed)
	switch {
	case err != nil:
		return dbError(fmt.Sprintf("authenticator %s", id), err)
	case used:
		return nil
	case confirmed:
		// The snapshot may predate a removal that the UPDATE waited for:
		// a new statement sees it, so that a removed authenticator is
		// not reported as a replay.
		if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM authenticators
			WHERE user_id = $1 AND id = $2 AND confirmed_at IS NOT NULL)`, userID, id).Scan(&confirmed); err != nil {
			return dbError(fmt.Sprintf("authenticator %s", id), err)
		}
		if confirmed {
			return fmt.Errorf("authenticator %s: step %d: %w", id, step, mfa.ErrReplay)
		}
	}
	return fmt.Errorf("authenticator %s: %w", id, mfa.ErrNotFound)
}

// RenameAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) RenameAuthenticator(ctx context.Context, userID int64, id, name string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE authenticators SET name = $3 WHERE user_id = $1 AND id = $2`, userID, id, name)
	return affected(res, err, fmt.Sprintf("authenticator %s", id))
}

// DeleteAuthenticator implements mfa.AuthenticatorStore.
func (s *Store) DeleteAuthenticator(ctx context.Context, userID int64, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM authenticators WHERE user_id = $1 AND id = $2`, userID, id)
	return affected(res, err, fmt.Sprintf("authenticator %s", id))
}

// DeleteAuthenticators implements mfa.AuthenticatorStore.
func (s *Store) DeleteAuthenticators(ctx context.Context, userID int64) error {
	return s.withTx(ctx, "delete authenticators", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM authenticators WHERE user_id = $1`, userID); err != nil {
			return dbError("delete authenticators", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
		return dbError("delete recovery codes", err)
	})
}

// DeletePendingAuthenticators implements mfa.AuthenticatorStore.
func (s *Store) DeletePendingAuthenticators(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM authenticators WHERE confirmed_at IS NULL AND created_at < $1`, before)
	return dbError("delete pending authenticators", err)
}

// ReplaceRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte, now time.Time) error {
	return s.withTx(ctx, "recovery codes", func(tx *sql.Tx) error { return replaceRecoveryCodes(ctx, tx, userID, hashes, now) })
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, hashes [][]byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return dbError("recovery codes", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at)
		SELECT $1, h, $2 FROM unnest($3::bytea[]) AS h`, userID, now, hashes)
	return dbError("recovery codes", err)
}

// ImportAuthenticator implements mfa.AuthenticatorStore. The user's row is
// locked first, so that concurrent imports for one user run one after the
// other; the check that follows is a statement of its own, whose snapshot
// (read committed) then holds what the import before stored.
func (s *Store) ImportAuthenticator(ctx context.Context, a mfa.Authenticator, recoveryHashes [][]byte) error {
	return s.withTx(ctx, "import authenticator", func(tx *sql.Tx) error {
		if err := lockUser(ctx, tx, a.UserID); err != nil {
			return err
		}
		var confirmed bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM authenticators
			WHERE user_id = $1 AND confirmed_at IS NOT NULL)`, a.UserID).Scan(&confirmed); err != nil {
			return dbError("import authenticator", err)
		}
		if confirmed {
			return fmt.Errorf("user %d has a confirmed authenticator: %w", a.UserID, mfa.ErrConflict)
		}
		if err := insertAuthenticator(ctx, tx, a); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, a.UserID, recoveryHashes, a.Confirmed)
	})
}

// UseRecoveryCode implements mfa.RecoveryStore with one conditional UPDATE:
// of concurrent uses of one code, one finds it unused.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1
		WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`, now, userID, hash)
	return affected(res, err, "recovery code")
}

// RecoveryCodesLeft implements mfa.RecoveryStore.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, dbError("recovery codes", err)
}
