package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode,
	code_challenge, code_challenge_method, prompt, max_age, login_hint, created_at,
	user_id, auth_time, amr, sid, code_hash, code_expires_at, acr_values`

func scanAuthRequest(row scanner) (oidcstate.AuthRequest, error) {
	var r oidcstate.AuthRequest
	var scopes, prompt, amr, acr string
	var created, authTime, codeExpires sql.NullInt64
	var userID sql.NullInt64
	if err := row.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.ResponseType, &r.ResponseMode,
		&r.CodeChallenge, &r.CodeChallengeMethod, &prompt, &r.MaxAge, &r.LoginHint, &created,
		&userID, &authTime, &amr, &r.SessionID, &r.CodeHash, &codeExpires, &acr); err != nil {
		return r, err
	}
	r.UserID = userID.Int64
	r.Created, r.AuthTime, r.CodeExpires = fromDB(created), fromDB(authTime), fromDB(codeExpires)
	return r, listsFromDB([]*[]string{&r.Scopes, &r.Prompt, &r.AMR, &r.ACRValues}, scopes, prompt, amr, acr)
}

// userToDB gives a user ID to the driver: NULL for none (zero).
func userToDB(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateAuthRequest implements oidcstate.Store.
func (s *Store) CreateAuthRequest(ctx context.Context, r oidcstate.AuthRequest) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_auth_requests (`+authRequestColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.ClientID, r.RedirectURI, listToDB(r.Scopes), r.State, r.Nonce, r.ResponseType, r.ResponseMode,
			r.CodeChallenge, r.CodeChallengeMethod, listToDB(r.Prompt), r.MaxAge, r.LoginHint, toDB(r.Created),
			userToDB(r.UserID), toDB(r.AuthTime), listToDB(r.AMR), r.SessionID, r.CodeHash, toDB(r.CodeExpires), listToDB(r.ACRValues))
		return oidcWrite(err, "create auth request")
	})
}

// AuthRequest implements oidcstate.Store.
func (s *Store) AuthRequest(ctx context.Context, id string) (oidcstate.AuthRequest, error) {
	r, err := scanAuthRequest(s.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = ?`, id))
	return r, notFound(err, "auth request")
}

// CompleteAuthRequest implements oidcstate.Store.
func (s *Store) CompleteAuthRequest(ctx context.Context, r oidcstate.AuthRequest) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_auth_requests SET user_id = ?, auth_time = ?, amr = ?, sid = ?
			WHERE id = ? AND code_hash IS NULL`, userToDB(r.UserID), toDB(r.AuthTime), listToDB(r.AMR), r.SessionID, r.ID)
		if err := oidcWrite(err, "complete auth request"); err != nil {
			return err
		}
		return requestChangedOrWhy(ctx, tx, res, r.ID, "its code is issued")
	})
}

// requestChangedOrWhy returns nil when res changed a row, and otherwise
// mfa.ErrNotFound for a request id absent or mfa.ErrConflict, saying why,
// for one present.
func requestChangedOrWhy(ctx context.Context, tx *sql.Tx, res sql.Result, id, why string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return notFound(err, "auth request")
	}
	if n > 0 {
		return nil
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_auth_requests WHERE id = ?)`, id).Scan(&exists); err != nil {
		return notFound(err, "auth request")
	}
	if !exists {
		return fmt.Errorf("auth request: %w", mfa.ErrNotFound)
	}
	return fmt.Errorf("auth request: %s: %w", why, mfa.ErrConflict)
}

// SetAuthCode implements oidcstate.Store.
func (s *Store) SetAuthCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = ?, code_expires_at = ?
			WHERE id = ? AND user_id IS NOT NULL`, codeHash, toDB(expires), id)
		if err := oidcWrite(err, "set auth code"); err != nil {
			return err
		}
		return requestChangedOrWhy(ctx, tx, res, id, "no user has signed in for it")
	})
}

// TakeAuthCode implements oidcstate.Store: one DELETE ... RETURNING, in a
// transaction that holds the database's write lock, so one caller of any
// process gets the row. An expired code's request is deleted too.
func (s *Store) TakeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (oidcstate.AuthRequest, error) {
	var r oidcstate.AuthRequest
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanAuthRequest(tx.QueryRowContext(ctx, `DELETE FROM oidc_auth_requests WHERE code_hash = ? RETURNING `+authRequestColumns, codeHash))
		return notFound(err, "auth code")
	})
	if err != nil {
		return oidcstate.AuthRequest{}, err
	}
	if !now.Before(r.CodeExpires) {
		return oidcstate.AuthRequest{}, fmt.Errorf("auth code: expired: %w", mfa.ErrNotFound)
	}
	return r, nil
}

// DeleteAuthRequest implements oidcstate.Store.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.exec(ctx, "delete auth request", `DELETE FROM oidc_auth_requests WHERE id = ?`, id)
}

// DeleteExpiredAuthRequests implements oidcstate.Store.
func (s *Store) DeleteExpiredAuthRequests(ctx context.Context, before time.Time) error {
	return s.exec(ctx, "delete expired auth requests", `DELETE FROM oidc_auth_requests WHERE created_at < ?`, before.UnixNano())
}
