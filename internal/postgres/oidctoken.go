package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

const accessTokenColumns = `id, client_id, user_id, scopes, audience, refresh_family, sid, expires_at`

func scanAccessToken(row scanner) (oidcstate.AccessToken, error) {
	var t oidcstate.AccessToken
	var scopes, audience string
	var expires sql.NullTime
	if err := row.Scan(&t.ID, &t.ClientID, &t.UserID, &scopes, &audience, &t.RefreshFamily, &t.SessionID, &expires); err != nil {
		return t, err
	}
	t.Expires = fromDB(expires)
	return t, listsFromDB([]*[]string{&t.Scopes, &t.Audience}, scopes, audience)
}

// CreateAccessToken implements oidcstate.Store.
func (s *Store) CreateAccessToken(ctx context.Context, t oidcstate.AccessToken) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_access_tokens (`+accessTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.ClientID, t.UserID, listToDB(t.Scopes), listToDB(t.Audience), t.RefreshFamily, t.SessionID, toDB(t.Expires))
	return dbError("create access token", err)
}

// AccessToken implements oidcstate.Store.
func (s *Store) AccessToken(ctx context.Context, id string, now time.Time) (oidcstate.AccessToken, error) {
	t, err := scanAccessToken(s.db.QueryRowContext(ctx, `SELECT `+accessTokenColumns+` FROM oidc_access_tokens
		WHERE id = $1 AND expires_at > $2`, id, now))
	return t, dbError("access token", err)
}

// DeleteAccessToken implements oidcstate.Store.
func (s *Store) DeleteAccessToken(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE id = $1`, id)
	return dbError("delete access token", err)
}

// A refresh token's row holds what may change from one token to the next;
// its family's row what the whole family shares.
const refreshTokenColumns = `t.hash, t.family, f.client_id, f.user_id, t.scopes, t.audience, t.amr, t.auth_time, f.sid,
	t.created_at, t.expires_at, t.used`

const refreshTokenFrom = ` FROM oidc_refresh_tokens t JOIN oidc_refresh_families f ON f.family = t.family`

func scanRefreshToken(row scanner) (oidcstate.RefreshToken, error) {
	var t oidcstate.RefreshToken
	var scopes, audience, amr string
	var authTime, created, expires sql.NullTime
	if err := row.Scan(&t.Hash, &t.Family, &t.ClientID, &t.UserID, &scopes, &audience, &amr, &authTime, &t.SessionID,
		&created, &expires, &t.Used); err != nil {
		return t, err
	}
	t.AuthTime, t.Created, t.Expires = fromDB(authTime), fromDB(created), fromDB(expires)
	return t, listsFromDB([]*[]string{&t.Scopes, &t.Audience, &t.AMR}, scopes, audience, amr)
}

// insertRefreshToken stores t in its family, whose row exists.
func insertRefreshToken(ctx context.Context, tx *sql.Tx, t oidcstate.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_tokens (hash, family, scopes, audience, amr, auth_time, created_at, expires_at, used)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.Hash, t.Family, listToDB(t.Scopes), listToDB(t.Audience), listToDB(t.AMR),
		toDB(t.AuthTime), toDB(t.Created), toDB(t.Expires), t.Used)
	return dbError("refresh token", err)
}

// CreateRefreshToken implements oidcstate.Store.
func (s *Store) CreateRefreshToken(ctx context.Context, t oidcstate.RefreshToken) error {
	if t.Family == "" {
		return fmt.Errorf("create refresh token: %w: no family", mfa.ErrInvalid)
	}
	return s.withTx(ctx, "create refresh token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_families (family, client_id, user_id, sid) VALUES ($1, $2, $3, $4)`,
			t.Family, t.ClientID, t.UserID, t.SessionID)
		if err != nil {
			return dbError("refresh token family", err)
		}
		return insertRefreshToken(ctx, tx, t)
	})
}

// RefreshToken implements oidcstate.Store.
func (s *Store) RefreshToken(ctx context.Context, hash []byte) (oidcstate.RefreshToken, error) {
	t, err := scanRefreshToken(s.db.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+refreshTokenFrom+` WHERE t.hash = $1`, hash))
	return t, dbError("refresh token", err)
}

// RotateRefreshToken implements oidcstate.Store. It locks the token's
// family row first, as every revocation does, so that the rotations and
// revocations of one family take turns on every instance; the token is
// read after the lock (a new snapshot, READ COMMITTED), so that of two
// rotations of one token, the second sees it used.
func (s *Store) RotateRefreshToken(ctx context.Context, old []byte, next oidcstate.RefreshToken, now time.Time) error {
	var reused string
	err := s.withTx(ctx, "rotate refresh token", func(tx *sql.Tx) error {
		var family string
		err := tx.QueryRowContext(ctx, `SELECT f.family FROM oidc_refresh_families f
			WHERE f.family = (SELECT family FROM oidc_refresh_tokens WHERE hash = $1) FOR UPDATE`, old).Scan(&family)
		if err != nil {
			return dbError("refresh token", err)
		}
		cur, err := scanRefreshToken(tx.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+refreshTokenFrom+` WHERE t.hash = $1`, old))
		if err != nil {
			return dbError("refresh token", err)
		}
		if cur.Used {
			// Committed with the error after the transaction.
			reused = cur.Family
			return deleteFamilies(ctx, tx, `family = $1`, cur.Family)
		}
		if !now.Before(cur.Expires) {
			return fmt.Errorf("refresh token: expired: %w", mfa.ErrNotFound)
		}
		if next, err = oidcstate.NextInFamily(cur, next); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oidc_refresh_tokens SET used = TRUE WHERE hash = $1`, old); err != nil {
			return dbError("rotate refresh token", err)
		}
		return insertRefreshToken(ctx, tx, next)
	})
	if err == nil && reused != "" {
		return fmt.Errorf("refresh token of family %q: %w", reused, oidcstate.ErrReused)
	}
	return err
}

// deleteFamilies deletes the refresh families matching where (a condition
// on oidc_refresh_families with args), which locks their rows, then their
// refresh tokens (by the foreign key, which sees those a rotation that held
// the lock added) and the access tokens issued with them.
func deleteFamilies(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM oidc_refresh_families WHERE `+where+` RETURNING family`, args...)
	if err != nil {
		return dbError("delete refresh families", err)
	}
	families, err := collect(rows, "delete refresh families")
	if err != nil || len(families) == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE refresh_family = ANY ($1)`, families)
	return dbError("delete access tokens", err)
}

// collect reads the one string column of rows.
func collect(rows *sql.Rows, what string) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		v, err := scanString(rows)
		if err != nil {
			return nil, dbError(what, err)
		}
		out = append(out, v)
	}
	return out, dbError(what, rows.Err())
}

// DeleteRefreshFamily implements oidcstate.Store. Access tokens of a
// family whose refresh tokens are gone already go too.
func (s *Store) DeleteRefreshFamily(ctx context.Context, family string) error {
	if family == "" {
		return nil
	}
	return s.withTx(ctx, "delete refresh family", func(tx *sql.Tx) error {
		if err := deleteFamilies(ctx, tx, `family = $1`, family); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE refresh_family = $1`, family)
		return dbError("delete access tokens", err)
	})
}

// DeleteClientGrants implements oidcstate.Store.
func (s *Store) DeleteClientGrants(ctx context.Context, userID int64, clientID string) error {
	return s.withTx(ctx, "delete client grants", func(tx *sql.Tx) error {
		if err := deleteFamilies(ctx, tx, `user_id = $1 AND client_id = $2`, userID, clientID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		return dbError("delete access tokens", err)
	})
}

// DeleteSessionGrants implements oidcstate.Store.
func (s *Store) DeleteSessionGrants(ctx context.Context, sid string) error {
	if sid == "" {
		return nil
	}
	return s.withTx(ctx, "delete session grants", func(tx *sql.Tx) error {
		if err := deleteFamilies(ctx, tx, `sid = $1`, sid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE sid = $1`, sid)
		return dbError("delete access tokens", err)
	})
}

// DeleteExpiredTokens implements oidcstate.Store: expired access and
// refresh tokens (used ones too: a use after expiry is refused anyway), and
// the families left without a token, but for those a rotation holds
// (SKIP LOCKED): its new token is not yet seen.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) error {
	return s.withTx(ctx, "delete expired tokens", func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM oidc_access_tokens WHERE expires_at <= $1`,
			`DELETE FROM oidc_refresh_tokens WHERE expires_at <= $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, now); err != nil {
				return dbError("delete expired tokens", err)
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_refresh_families WHERE family IN (
			SELECT family FROM oidc_refresh_families f
			WHERE NOT EXISTS (SELECT 1 FROM oidc_refresh_tokens t WHERE t.family = f.family)
			FOR UPDATE SKIP LOCKED)`)
		return dbError("delete empty refresh families", err)
	})
}
