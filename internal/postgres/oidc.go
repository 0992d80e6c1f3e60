package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The OpenID Connect provider's clients, signing keys and session links;
// requests are in oidcrequest.go, tokens in oidctoken.go.

var _ oidcstate.Store = (*Store)(nil)

// sidLock is the first key of the transaction-scoped advisory locks that
// make AddSessionClient's check of a sid's user and its insert one step
// (pg_advisory_xact_lock(int, int), whose keys do not meet the
// migration's single bigint); "oidc" read as a big-endian integer.
const sidLock int32 = 0x6f696463

// listToDB encodes a list as a JSON array; none is "[]".
func listToDB(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// listsFromDB decodes the JSON array src[i] into *dst[i]; an empty one is
// nil.
func listsFromDB(dst []*[]string, src ...string) error {
	for i, s := range src {
		var l []string
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return fmt.Errorf("postgres: stored list: %w", err)
		}
		if len(l) == 0 {
			l = nil
		}
		*dst[i] = l
	}
	return nil
}

const oidcClientColumns = `id, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, is_public, require_second_factor, created_at`

func scanOIDCClient(row scanner) (oidcstate.Client, error) {
	var c oidcstate.Client
	var redirect, postLogout string
	var created sql.NullTime
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

// CreateOIDCClient implements oidcstate.Store.
func (s *Store) CreateOIDCClient(ctx context.Context, c oidcstate.Client) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_clients (`+oidcClientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, oidcClientRow(c)...)
	return dbError(fmt.Sprintf("client %q", c.ID), err)
}

// OIDCClient implements oidcstate.Store.
func (s *Store) OIDCClient(ctx context.Context, id string) (oidcstate.Client, error) {
	c, err := scanOIDCClient(s.db.QueryRowContext(ctx, `SELECT `+oidcClientColumns+` FROM oidc_clients WHERE id = $1`, id))
	return c, dbError(fmt.Sprintf("client %q", id), err)
}

// OIDCClients implements oidcstate.Store.
func (s *Store) OIDCClients(ctx context.Context) ([]oidcstate.Client, error) {
	return queryAll(ctx, s.db, "clients", scanOIDCClient, `SELECT `+oidcClientColumns+` FROM oidc_clients ORDER BY id`)
}

// DeleteOIDCClient implements oidcstate.Store. The client's requests,
// tokens, families and session links go with it (foreign keys ON DELETE
// CASCADE).
func (s *Store) DeleteOIDCClient(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM oidc_clients WHERE id = $1`, id)
	return affected(res, err, fmt.Sprintf("client %q", id))
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(what, err)
		}
		out = append(out, v)
	}
	return out, dbError(what, rows.Err())
}

const signingKeyColumns = `id, algorithm, sealed, created_at, sign_from, retire_at`

func scanSigningKey(row scanner) (oidcstate.SigningKey, error) {
	var k oidcstate.SigningKey
	var created, signFrom, retire sql.NullTime
	err := row.Scan(&k.ID, &k.Algorithm, &k.Sealed, &created, &signFrom, &retire)
	k.Created, k.SignFrom, k.RetireAt = fromDB(created), fromDB(signFrom), fromDB(retire)
	return k, err
}

func signingKeyRow(k oidcstate.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.Sealed, toDB(k.Created), toDB(k.SignFrom), toDB(k.RetireAt)}
}

// CreateSigningKey implements oidcstate.Store.
func (s *Store) CreateSigningKey(ctx context.Context, k oidcstate.SigningKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`, signingKeyRow(k)...)
	return dbError(fmt.Sprintf("signing key %q", k.ID), err)
}

// SigningKeys implements oidcstate.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]oidcstate.SigningKey, error) {
	return queryAll(ctx, s.db, "signing keys", scanSigningKey, `SELECT `+signingKeyColumns+` FROM oidc_signing_keys ORDER BY created_at, id`)
}

// RetireSigningKey implements oidcstate.Store.
func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE oidc_signing_keys SET retire_at = $1 WHERE id = $2`, toDB(at), id)
	return affected(res, err, fmt.Sprintf("signing key %q", id))
}

// DeleteSigningKey implements oidcstate.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_signing_keys WHERE id = $1`, id)
	return dbError("delete signing key", err)
}

// AddSessionClient implements oidcstate.Store. The sid's advisory lock
// makes the check that no other user has the sid and the insert one step
// on every instance.
func (s *Store) AddSessionClient(ctx context.Context, sid string, userID int64, clientID string, now time.Time) error {
	if sid == "" {
		return fmt.Errorf("session client: %w: no sid", mfa.ErrInvalid)
	}
	return s.withTx(ctx, "session client", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, sidLock, sid); err != nil {
			return dbError("session client: lock", err)
		}
		var other bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_session_clients WHERE sid = $1 AND user_id <> $2)`, sid, userID).Scan(&other); err != nil {
			return dbError("session clients", err)
		}
		if other {
			return fmt.Errorf("session client: the session is another user's: %w", mfa.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_session_clients (sid, client_id, user_id, recorded_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (sid, client_id) DO UPDATE SET recorded_at = excluded.recorded_at`, sid, clientID, userID, now)
		return dbError("session client", err)
	})
}

// SessionClients implements oidcstate.Store.
func (s *Store) SessionClients(ctx context.Context, sid string) ([]string, error) {
	return queryAll(ctx, s.db, "session clients", scanString, `SELECT client_id FROM oidc_session_clients WHERE sid = $1 ORDER BY client_id`, sid)
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
	}, `SELECT sid, client_id FROM oidc_session_clients WHERE user_id = $1 ORDER BY sid, client_id`, userID)
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
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_session_clients WHERE sid = $1`, sid)
	return dbError("delete session clients", err)
}

// DeleteStaleSessionClients implements oidcstate.Store.
func (s *Store) DeleteStaleSessionClients(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM oidc_session_clients WHERE recorded_at < $1`, before)
	return dbError("delete stale session clients", err)
}
