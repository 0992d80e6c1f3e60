package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/migrate"
)

// tables lists the store's tables, owners first.
var tables = []string{"users", "authenticators", "recovery_codes", "sessions", "trusted_browsers", "setup_tokens", "throttle", "hosts", "audit_log",
	"enforce_rules", "oidc_clients", "oidc_signing_keys"}

// Import writes every row of d into the store, which must be empty
// (mfa.ErrConflict otherwise), in one transaction with COPY: a failed
// import leaves the store empty. The OpenID Connect clients and signing
// keys come along; the other OpenID Connect tables depend on the clients
// (foreign keys), so they are empty too. Users, hosts and enforcement
// rules keep their IDs, and new ones are numbered after the largest.
func (s *Store) Import(ctx context.Context, d migrate.Dump) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return dbError("import", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return dbError("import: begin", err)
		}
		defer tx.Rollback(ctx)
		if err := importTx(ctx, tx, d); err != nil {
			return err
		}
		return dbError("import: commit", tx.Commit(ctx))
	})
}

func importTx(ctx context.Context, tx pgx.Tx, d migrate.Dump) error {
	// A large import takes longer than the statement timeout meant for
	// sign-ins.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return dbError("import", err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE users, authenticators, recovery_codes, sessions, trusted_browsers, setup_tokens, throttle, hosts, audit_log,
		enforce_rules, oidc_clients, oidc_signing_keys IN EXCLUSIVE MODE`); err != nil {
		return dbError("import: lock", err)
	}
	for _, table := range tables {
		var nonEmpty bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&nonEmpty); err != nil {
			return dbError("import", err)
		}
		if nonEmpty {
			return fmt.Errorf("import: table %s is not empty: %w", table, mfa.ErrConflict)
		}
	}
	copies := []tableCopy{
		{"users", []string{"id", "name", "password_hash", "admin", "disabled", "created_at", "display_name", "group_names", "source", "external_id", "mail"}, len(d.Users),
			func(i int) ([]any, error) {
				u := d.Users[i]
				return []any{u.ID, u.Name, u.PasswordHash, u.Admin, u.Disabled, u.Created, u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail}, nil
			}},
		{"authenticators", authenticatorColumnList, len(d.Authenticators),
			func(i int) ([]any, error) { return authenticatorRow(d.Authenticators[i]) }},
		{"recovery_codes", []string{"user_id", "hash", "created_at", "used_at"}, len(d.RecoveryCodes),
			func(i int) ([]any, error) {
				c := d.RecoveryCodes[i]
				return []any{c.UserID, c.Hash, c.Created, toDB(c.Used)}, nil
			}},
		{"sessions", []string{"token_hash", "user_id", "level", "created_at", "last_seen_at"}, len(d.Sessions),
			func(i int) ([]any, error) {
				x := d.Sessions[i]
				return []any{x.TokenHash, x.UserID, int16(x.Level), x.Created, x.LastSeen}, nil
			}},
		{"trusted_browsers", strings.Split(trustedColumns, ", "), len(d.TrustedBrowsers),
			func(i int) ([]any, error) {
				b := d.TrustedBrowsers[i]
				return []any{b.TokenHash, b.UserID, b.Created, b.Expires, b.LastUsed, b.UserAgent, b.Addr}, nil
			}},
		{"setup_tokens", []string{"hash", "expires_at"}, len(d.SetupTokens),
			func(i int) ([]any, error) { return []any{d.SetupTokens[i].Hash, d.SetupTokens[i].Expires}, nil }},
		{"throttle", []string{"key", "failures", "last_failure_at"}, len(d.Throttle),
			func(i int) ([]any, error) {
				e := d.Throttle[i]
				return []any{e.Key, e.Failures, e.LastFailure}, nil
			}},
		{"hosts", []string{"id", "name", "token_hash", "allow_password", "created_at"}, len(d.Hosts),
			func(i int) ([]any, error) {
				h := d.Hosts[i]
				return []any{h.ID, h.Name, h.TokenHash, h.AllowPassword, h.Created}, nil
			}},
		{"audit_log", []string{"id", "at", "user_name", "actor", "addr", "path", "action", "result", "reason", "drift"}, len(d.Audit),
			func(i int) ([]any, error) {
				e := d.Audit[i]
				return []any{e.ID, e.Time, e.User, e.Actor, e.Addr, string(e.Path), e.Action, e.Result, e.Reason, int32(e.Drift)}, nil
			}},
		{"oidc_clients", strings.Split(oidcClientColumns, ", "), len(d.OIDCClients),
			func(i int) ([]any, error) { return oidcClientRow(d.OIDCClients[i]), nil }},
		{"oidc_signing_keys", strings.Split(signingKeyColumns, ", "), len(d.SigningKeys),
			func(i int) ([]any, error) { return signingKeyRow(d.SigningKeys[i]), nil }},
		{"enforce_rules", []string{"id", "group_names", "deadline", "except_groups", "updated_at", "updated_by"}, len(d.EnforceRules),
			func(i int) ([]any, error) {
				r := d.EnforceRules[i]
				return []any{r.ID, joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), r.Updated, r.UpdatedBy}, nil
			}},
	}
	return copyTables(ctx, tx, "import", copies)
}

// tableCopy is the rows of one table, for COPY.
type tableCopy struct {
	table   string
	columns []string
	n       int
	row     func(i int) ([]any, error)
}

// copyTables copies the rows of each table in tx, checks that every row
// went in, and numbers new users after the copied ones; what names the
// operation in errors.
func copyTables(ctx context.Context, tx pgx.Tx, what string, copies []tableCopy) error {
	for _, c := range copies {
		if c.n == 0 {
			continue
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromSlice(c.n, c.row))
		if err != nil {
			return dbError(what+": "+c.table, err)
		}
		if int(n) != c.n {
			return fmt.Errorf("postgres: %s: %s: copied %d rows of %d", what, c.table, n, c.n)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users HAVING count(*) > 0`); err != nil {
		return dbError(what+": user IDs", err)
	}
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('hosts', 'id'), max(id)) FROM hosts HAVING count(*) > 0`); err != nil {
		return dbError(what+": host IDs", err)
	}
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('audit_log', 'id'), max(id)) FROM audit_log HAVING count(*) > 0`); err != nil {
		return dbError(what+": audit IDs", err)
	}
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('enforce_rules', 'id'), max(id)) FROM enforce_rules HAVING count(*) > 0`); err != nil {
		return dbError(what+": enforcement rule IDs", err)
	}
	return nil
}

// Export reads every row of the store, in one snapshot.
func (s *Store) Export(ctx context.Context) (migrate.Dump, error) {
	var d migrate.Dump
	err := s.withTx(ctx, "export", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
			return dbError("export", err)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return dbError("export", err)
		}
		if err := each(ctx, tx, `SELECT `+userColumns+` FROM users`, func(r *sql.Rows) error {
			u, err := scanUser(r)
			d.Users = append(d.Users, u)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+authenticatorColumns+` FROM authenticators`, func(r *sql.Rows) error {
			a, err := scanAuthenticator(r)
			d.Authenticators = append(d.Authenticators, a)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT user_id, hash, created_at, used_at FROM recovery_codes`, func(r *sql.Rows) error {
			var c migrate.RecoveryCode
			var created, used sql.NullTime
			err := r.Scan(&c.UserID, &c.Hash, &created, &used)
			c.Created, c.Used = fromDB(created), fromDB(used)
			d.RecoveryCodes = append(d.RecoveryCodes, c)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT token_hash, user_id, level, created_at, last_seen_at FROM sessions`, func(r *sql.Rows) error {
			var x mfa.Session
			var created, seen sql.NullTime
			err := r.Scan(&x.TokenHash, &x.UserID, &x.Level, &created, &seen)
			x.Created, x.LastSeen = fromDB(created), fromDB(seen)
			d.Sessions = append(d.Sessions, x)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+trustedColumns+` FROM trusted_browsers`, func(r *sql.Rows) error {
			b, err := scanTrusted(r)
			d.TrustedBrowsers = append(d.TrustedBrowsers, b)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT hash, expires_at FROM setup_tokens`, func(r *sql.Rows) error {
			var t migrate.SetupToken
			var expires sql.NullTime
			err := r.Scan(&t.Hash, &expires)
			t.Expires = fromDB(expires)
			d.SetupTokens = append(d.SetupTokens, t)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT key, failures, last_failure_at FROM throttle`, func(r *sql.Rows) error {
			var e migrate.ThrottleEntry
			var last sql.NullTime
			err := r.Scan(&e.Key, &e.Failures, &last)
			e.LastFailure = fromDB(last)
			d.Throttle = append(d.Throttle, e)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+hostColumns+` FROM hosts`, func(r *sql.Rows) error {
			h, err := scanHost(r)
			d.Hosts = append(d.Hosts, h)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+auditColumns+` FROM audit_log`, func(r *sql.Rows) error {
			e, err := scanAudit(r)
			d.Audit = append(d.Audit, e)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+oidcClientColumns+` FROM oidc_clients`, func(r *sql.Rows) error {
			c, err := scanOIDCClient(r)
			d.OIDCClients = append(d.OIDCClients, c)
			return err
		}); err != nil {
			return err
		}
		if err := each(ctx, tx, `SELECT `+signingKeyColumns+` FROM oidc_signing_keys`, func(r *sql.Rows) error {
			k, err := scanSigningKey(r)
			d.SigningKeys = append(d.SigningKeys, k)
			return err
		}); err != nil {
			return err
		}
		return each(ctx, tx, `SELECT `+enforceColumns+` FROM enforce_rules`, func(r *sql.Rows) error {
			e, err := scanEnforceRule(r)
			d.EnforceRules = append(d.EnforceRules, e)
			return err
		})
	})
	return d, err
}

// each runs query and calls f for every row.
func each(ctx context.Context, tx *sql.Tx, query string, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return dbError("export", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return dbError("export", err)
		}
	}
	return dbError("export", rows.Err())
}
