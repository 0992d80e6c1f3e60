package postgres

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
	var created, authTime, codeExpires sql.NullTime
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		r.ID, r.ClientID, r.RedirectURI, listToDB(r.Scopes), r.State, r.Nonce, r.ResponseType, r.ResponseMode,
		r.CodeChallenge, r.CodeChallengeMethod, listToDB(r.Prompt), r.MaxAge, r.LoginHint, toDB(r.Created),
		userToDB(r.UserID), toDB(r.AuthTime), listToDB(r.AMR), r.SessionID, r.CodeHash, toDB(r.CodeExpires), listToDB(r.ACRValues))
	return dbError("create auth request", err)
}

// AuthRequest implements oidcstate.Store.
func (s *Store) AuthRequest(ctx context.Context, id string) (oidcstate.AuthRequest, error) {
	r, err := scanAuthRequest(s.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = $1`, id))
	return r, dbError("auth request", err)
}

// CompleteAuthRequest implements oidcstate.Store. Its UPDATE and
// SetAuthCode's lock the row, and each checks the other's column once it
// has the lock, so a request cannot be completed after its code is issued.
func (s *Store) CompleteAuthRequest(ctx context.Context, r oidcstate.AuthRequest) error {
	return s.withTx(ctx, "complete auth request", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_auth_requests SET user_id = $1, auth_time = $2, amr = $3, sid = $4
			WHERE id = $5 AND code_hash IS NULL`, userToDB(r.UserID), toDB(r.AuthTime), listToDB(r.AMR), r.SessionID, r.ID)
		if err != nil {
			return dbError("complete auth request", err)
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
		return dbError("auth request", err)
	}
	if n > 0 {
		return nil
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_auth_requests WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbError("auth request", err)
	}
	if !exists {
		return fmt.Errorf("auth request: %w", mfa.ErrNotFound)
	}
	return fmt.Errorf("auth request: %s: %w", why, mfa.ErrConflict)
}

// SetAuthCode implements oidcstate.Store.
func (s *Store) SetAuthCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error {
	return s.withTx(ctx, "set auth code", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = $1, code_expires_at = $2
			WHERE id = $3 AND user_id IS NOT NULL`, codeHash, toDB(expires), id)
		if err != nil {
			return dbError("set auth code", err)
		}
		return requestChangedOrWhy(ctx, tx, res, id, "no user has signed in for it")
	})
}

// TakeAuthCode implements oidcstate.Store with one DELETE ... RETURNING:
// concurrent ones, on any instance, wait for the row's lock, and those
// after the first find it gone. An expired code's request is deleted too.
func (s *Store) TakeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (oidcstate.AuthRequest, error) {
	r, err := scanAuthRequest(s.db.QueryRowContext(ctx, `DELETE FROM oidc_auth_requests WHERE code_hash = $1 RETURNING `+authRequestColumns, codeHash))
	if err != nil {
		return oidcstate.AuthRequest{}, dbError("auth code", err)
	}
	if !now.Before(r.CodeExpires) {
		return oidcstate.AuthRequest{}, fmt.Errorf("auth code: expired: %w", mfa.ErrNotFound)
	}
	return r, nil
}

// DeleteAuthRequest implements oidcstate.Store.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = $1`, id)
	return dbError("delete auth request", err)
}

// DeleteExpiredAuthRequests implements oidcstate.Store.
func (s *Store) DeleteExpiredAuthRequests(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE created_at < $1`, before)
	return dbError("delete expired auth requests", err)
}
