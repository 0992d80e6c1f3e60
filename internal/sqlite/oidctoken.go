package sqlite

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
	var expires sql.NullInt64
	if err := row.Scan(&t.ID, &t.ClientID, &t.UserID, &scopes, &audience, &t.RefreshFamily, &t.SessionID, &expires); err != nil {
		return t, err
	}
	t.Expires = fromDB(expires)
	return t, listsFromDB([]*[]string{&t.Scopes, &t.Audience}, scopes, audience)
}

// CreateAccessToken implements oidcstate.Store.
func (s *Store) CreateAccessToken(ctx context.Context, t oidcstate.AccessToken) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_access_tokens (`+accessTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.ClientID, t.UserID, listToDB(t.Scopes), listToDB(t.Audience), t.RefreshFamily, t.SessionID, toDB(t.Expires))
		return oidcWrite(err, "create access token")
	})
}

// AccessToken implements oidcstate.Store.
func (s *Store) AccessToken(ctx context.Context, id string, now time.Time) (oidcstate.AccessToken, error) {
	t, err := scanAccessToken(s.db.QueryRowContext(ctx, `SELECT `+accessTokenColumns+` FROM oidc_access_tokens
		WHERE id = ? AND expires_at > ?`, id, now.UnixNano()))
	return t, notFound(err, "access token")
}

// DeleteAccessToken implements oidcstate.Store.
func (s *Store) DeleteAccessToken(ctx context.Context, id string) error {
	return s.exec(ctx, "delete access token", `DELETE FROM oidc_access_tokens WHERE id = ?`, id)
}

// A refresh token's row holds what may change from one token to the next;
// its family's row what the whole family shares.
const refreshTokenColumns = `t.hash, t.family, f.client_id, f.user_id, t.scopes, t.audience, t.amr, t.auth_time, f.sid,
	t.created_at, t.expires_at, t.used`

const refreshTokenFrom = ` FROM oidc_refresh_tokens t JOIN oidc_refresh_families f ON f.family = t.family`

func scanRefreshToken(row scanner) (oidcstate.RefreshToken, error) {
	var t oidcstate.RefreshToken
	var scopes, audience, amr string
	var authTime, created, expires sql.NullInt64
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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.Family, listToDB(t.Scopes), listToDB(t.Audience), listToDB(t.AMR),
		toDB(t.AuthTime), toDB(t.Created), toDB(t.Expires), t.Used)
	return oidcWrite(err, "refresh token")
}

// CreateRefreshToken implements oidcstate.Store.
func (s *Store) CreateRefreshToken(ctx context.Context, t oidcstate.RefreshToken) error {
	if t.Family == "" {
		return fmt.Errorf("create refresh token: %w: no family", mfa.ErrInvalid)
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_families (family, client_id, user_id, sid) VALUES (?, ?, ?, ?)`,
			t.Family, t.ClientID, t.UserID, t.SessionID)
		if err := oidcWrite(err, "refresh token family"); err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, t)
	})
}

// RefreshToken implements oidcstate.Store.
func (s *Store) RefreshToken(ctx context.Context, hash []byte) (oidcstate.RefreshToken, error) {
	t, err := scanRefreshToken(s.db.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+refreshTokenFrom+` WHERE t.hash = ?`, hash))
	return t, notFound(err, "refresh token")
}

// RotateRefreshToken implements oidcstate.Store. The transaction holds the
// database's write lock from its start (_txlock=immediate), so rotations
// and revocations of one family, from any process, run one after the
// other: of two rotations of one token, the second finds it used.
func (s *Store) RotateRefreshToken(ctx context.Context, old []byte, next oidcstate.RefreshToken, now time.Time) error {
	var reused string
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanRefreshToken(tx.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+refreshTokenFrom+` WHERE t.hash = ?`, old))
		if err != nil {
			return notFound(err, "refresh token")
		}
		if cur.Used {
			// Committed with the error after the transaction.
			reused = cur.Family
			return deleteFamilies(ctx, tx, `family = ?`, cur.Family)
		}
		if !now.Before(cur.Expires) {
			return fmt.Errorf("refresh token: expired: %w", mfa.ErrNotFound)
		}
		if next, err = oidcstate.NextInFamily(cur, next); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oidc_refresh_tokens SET used = 1 WHERE hash = ?`, old); err != nil {
			return notFound(err, "rotate refresh token")
		}
		return insertRefreshToken(ctx, tx, next)
	})
	if err == nil && reused != "" {
		return fmt.Errorf("refresh token of family %q: %w", reused, oidcstate.ErrReused)
	}
	return err
}

// deleteFamilies deletes the refresh families matching where (a condition
// on oidc_refresh_families with args), their refresh tokens (by the
// foreign key) and the access tokens issued with them.
func deleteFamilies(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE refresh_family <> '' AND refresh_family IN
		(SELECT family FROM oidc_refresh_families WHERE `+where+`)`, args...); err != nil {
		return notFound(err, "delete access tokens")
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM oidc_refresh_families WHERE `+where, args...)
	return notFound(err, "delete refresh families")
}

// DeleteRefreshFamily implements oidcstate.Store. Access tokens of a
// family whose refresh tokens are gone already go too.
func (s *Store) DeleteRefreshFamily(ctx context.Context, family string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE refresh_family = ? AND refresh_family <> ''`, family); err != nil {
			return notFound(err, "delete access tokens")
		}
		return deleteFamilies(ctx, tx, `family = ?`, family)
	})
}

// DeleteClientGrants implements oidcstate.Store.
func (s *Store) DeleteClientGrants(ctx context.Context, userID int64, clientID string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if err := deleteFamilies(ctx, tx, `user_id = ? AND client_id = ?`, userID, clientID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE user_id = ? AND client_id = ?`, userID, clientID)
		return notFound(err, "delete access tokens")
	})
}

// DeleteSessionGrants implements oidcstate.Store.
func (s *Store) DeleteSessionGrants(ctx context.Context, sid string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if err := deleteFamilies(ctx, tx, `sid = ? AND sid <> ''`, sid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_access_tokens WHERE sid = ? AND sid <> ''`, sid)
		return notFound(err, "delete access tokens")
	})
}

// DeleteExpiredTokens implements oidcstate.Store: expired access and
// refresh tokens (used ones too: a use after expiry is refused anyway), and
// the families left without a token.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM oidc_access_tokens WHERE expires_at <= ?`,
			`DELETE FROM oidc_refresh_tokens WHERE expires_at <= ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, now.UnixNano()); err != nil {
				return notFound(err, "delete expired tokens")
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM oidc_refresh_families
			WHERE NOT EXISTS (SELECT 1 FROM oidc_refresh_tokens t WHERE t.family = oidc_refresh_families.family)`)
		return notFound(err, "delete empty refresh families")
	})
}
