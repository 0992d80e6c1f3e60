package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The OpenID Connect provider's clients, signing keys and session links;
// requests are in oidcrequest.go, tokens in oidctoken.go.

var _ oidcstate.Store = (*Store)(nil)

// listToDB encodes a list as a JSON array; none is "[]".
func listToDB(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// listFromDB decodes a JSON array; an empty one is nil.
func listFromDB(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("sqlite: stored list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// listsFromDB decodes src[i] into *dst[i].
func listsFromDB(dst []*[]string, src ...string) error {
	for i, s := range src {
		l, err := listFromDB(s)
		if err != nil {
			return err
		}
		*dst[i] = l
	}
	return nil
}

// isCheck reports whether err is a violated CHECK constraint
// (SQLITE_CONSTRAINT_CHECK).
func isCheck(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code() == 275
}

// oidcWrite maps the constraint errors of a write: a missing owner (client
// or user) is mfa.ErrNotFound, a taken key mfa.ErrConflict, a row the
// schema refuses mfa.ErrInvalid.
func oidcWrite(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case isForeignKey(err):
		return fmt.Errorf("%s: client or user: %w", what, mfa.ErrNotFound)
	case isUnique(err):
		return fmt.Errorf("%s: %w", what, mfa.ErrConflict)
	case isCheck(err):
		return fmt.Errorf("%s: %w: %v", what, mfa.ErrInvalid, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, unavailable(err))
}

const oidcClientColumns = `id, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, is_public, require_second_factor, created_at`

func scanOIDCClient(row scanner) (oidcstate.Client, error) {
	var c oidcstate.Client
	var redirect, postLogout string
	var created sql.NullInt64
	if err := row.Scan(&c.ID, &c.SecretHash, &redirect, &postLogout, &c.BackChannelLogoutURI, &c.Public, &c.RequireSecondFactor, &created); err != nil {
		return c, err
	}
	c.Created = fromDB(created)
	return c, listsFromDB([]*[]string{&c.RedirectURIs, &c.PostLogoutRedirectURIs}, redirect, postLogout)
}

func oidcClientRow(c oidcstate.Client) []any {
	return []any{c.ID, c.SecretHash, listToDB(c.RedirectURIs), listToDB(c.PostLogoutRedirectURIs), c.BackChannelLogoutURI,
		c.Public, c.RequireSecondFactor, toDB(c.Created)}
}

const insertOIDCClientSQL = `INSERT INTO oidc_clients (` + oidcClientColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateOIDCClient implements oidcstate.Store.
func (s *Store) CreateOIDCClient(ctx context.Context, c oidcstate.Client) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertOIDCClientSQL, oidcClientRow(c)...)
		return oidcWrite(err, fmt.Sprintf("client %q", c.ID))
	})
}

// OIDCClient implements oidcstate.Store.
func (s *Store) OIDCClient(ctx context.Context, id string) (oidcstate.Client, error) {
	c, err := scanOIDCClient(s.db.QueryRowContext(ctx, `SELECT `+oidcClientColumns+` FROM oidc_clients WHERE id = ?`, id))
	return c, notFound(err, fmt.Sprintf("client %q", id))
}

// OIDCClients implements oidcstate.Store.
func (s *Store) OIDCClients(ctx context.Context) ([]oidcstate.Client, error) {
	return queryAll(ctx, s.db, "clients", scanOIDCClient, `SELECT `+oidcClientColumns+` FROM oidc_clients ORDER BY id`)
}

// DeleteOIDCClient implements oidcstate.Store. The client's requests,
// tokens, families and session links go with it (foreign keys ON DELETE
// CASCADE); its access tokens of no family too.
func (s *Store) DeleteOIDCClient(ctx context.Context, id string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oidc_clients WHERE id = ?`, id)
		return affected(res, err, fmt.Sprintf("client %q", id))
	})
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, notFound(err, what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, notFound(err, what)
		}
		out = append(out, v)
	}
	return out, notFound(rows.Err(), what)
}

const signingKeyColumns = `id, algorithm, sealed, created_at, sign_from, retire_at`

func scanSigningKey(row scanner) (oidcstate.SigningKey, error) {
	var k oidcstate.SigningKey
	var created, signFrom, retire sql.NullInt64
	err := row.Scan(&k.ID, &k.Algorithm, &k.Sealed, &created, &signFrom, &retire)
	k.Created, k.SignFrom, k.RetireAt = fromDB(created), fromDB(signFrom), fromDB(retire)
	return k, err
}

func signingKeyRow(k oidcstate.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.Sealed, toDB(k.Created), toDB(k.SignFrom), toDB(k.RetireAt)}
}

const insertSigningKeySQL = `INSERT INTO oidc_signing_keys (` + signingKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?)`

// CreateSigningKey implements oidcstate.Store.
func (s *Store) CreateSigningKey(ctx context.Context, k oidcstate.SigningKey) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertSigningKeySQL, signingKeyRow(k)...)
		return oidcWrite(err, fmt.Sprintf("signing key %q", k.ID))
	})
}

// SigningKeys implements oidcstate.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]oidcstate.SigningKey, error) {
	return queryAll(ctx, s.db, "signing keys", scanSigningKey, `SELECT `+signingKeyColumns+` FROM oidc_signing_keys ORDER BY created_at, id`)
}

// RetireSigningKey implements oidcstate.Store.
func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oidc_signing_keys SET retire_at = ? WHERE id = ?`, toDB(at), id)
		return affected(res, err, fmt.Sprintf("signing key %q", id))
	})
}

// DeleteSigningKey implements oidcstate.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.exec(ctx, "delete signing key", `DELETE FROM oidc_signing_keys WHERE id = ?`, id)
}

// exec runs one statement in a transaction; no row changed is not an
// error.
func (s *Store) exec(ctx context.Context, what, query string, args ...any) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return notFound(err, what)
	})
}

// AddSessionClient implements oidcstate.Store.
func (s *Store) AddSessionClient(ctx context.Context, sid string, userID int64, clientID string, now time.Time) error {
	if sid == "" {
		return fmt.Errorf("session client: %w: no sid", mfa.ErrInvalid)
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var other bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_session_clients WHERE sid = ? AND user_id <> ?)`, sid, userID).Scan(&other); err != nil {
			return notFound(err, "session clients")
		}
		if other {
			return fmt.Errorf("session client: the session is another user's: %w", mfa.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_session_clients (sid, client_id, user_id, recorded_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (sid, client_id) DO UPDATE SET recorded_at = excluded.recorded_at`, sid, clientID, userID, toDB(now))
		return oidcWrite(err, "session client")
	})
}

// SessionClients implements oidcstate.Store.
func (s *Store) SessionClients(ctx context.Context, sid string) ([]string, error) {
	return queryAll(ctx, s.db, "session clients", scanString, `SELECT client_id FROM oidc_session_clients WHERE sid = ? ORDER BY client_id`, sid)
}

func scanString(row scanner) (string, error) {
	var v string
	err := row.Scan(&v)
	return v, err
}

// UserSessionClients implements oidcstate.Store.
func (s *Store) UserSessionClients(ctx context.Context, userID int64) (map[string][]string, error) {
	type link struct{ sid, client string }
	links, err := queryAll(ctx, s.db, "user session clients", func(row scanner) (link, error) {
		var l link
		err := row.Scan(&l.sid, &l.client)
		return l, err
	}, `SELECT sid, client_id FROM oidc_session_clients WHERE user_id = ? ORDER BY sid, client_id`, userID)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, l := range links {
		out[l.sid] = append(out[l.sid], l.client)
	}
	return out, nil
}

// DeleteSessionClients implements oidcstate.Store.
func (s *Store) DeleteSessionClients(ctx context.Context, sid string) error {
	return s.exec(ctx, "delete session clients", `DELETE FROM oidc_session_clients WHERE sid = ?`, sid)
}

// DeleteStaleSessionClients implements oidcstate.Store.
func (s *Store) DeleteStaleSessionClients(ctx context.Context, before time.Time) error {
	return s.exec(ctx, "delete stale session clients", `DELETE FROM oidc_session_clients WHERE recorded_at < ?`, before.UnixNano())
}
