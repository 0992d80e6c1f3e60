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
		err = each(ctx, tx, `SELECT `+trustedColumns+` FROM trusted_browsers`, func(r *sql.Rows) error {
			b, err := scanTrusted(r)
			d.TrustedBrowsers = append(d.TrustedBrowsers, b)
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
	if err == nil {
		err = each(ctx, tx, `SELECT `+hostColumns+` FROM hosts`, func(r *sql.Rows) error {
			h, err := scanHost(r)
			d.Hosts = append(d.Hosts, h)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT `+auditColumns+` FROM audit_log`, func(r *sql.Rows) error {
			e, err := scanAudit(r)
			d.Audit = append(d.Audit, e)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT `+oidcClientColumns+` FROM oidc_clients`, func(r *sql.Rows) error {
			c, err := scanOIDCClient(r)
			d.OIDCClients = append(d.OIDCClients, c)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT `+signingKeyColumns+` FROM oidc_signing_keys`, func(r *sql.Rows) error {
			k, err := scanSigningKey(r)
			d.SigningKeys = append(d.SigningKeys, k)
			return err
		})
	}
	if err == nil {
		err = each(ctx, tx, `SELECT `+enforceColumns+` FROM enforce_rules`, func(r *sql.Rows) error {
			e, err := scanEnforceRule(r)
			d.EnforceRules = append(d.EnforceRules, e)
			return err
		})
	}
	if err != nil {
		return migrate.Dump{}, err
	}
	return d, nil
}

// Import writes every row of d into the store, which must be empty
// (mfa.ErrConflict otherwise), in one transaction: a failed import leaves
// the store empty. The OpenID Connect clients and signing keys come along;
// the other OpenID Connect tables depend on the clients (foreign keys), so
// they are empty too. Users, hosts and enforcement rules keep their IDs,
// and new ones are numbered after the largest.
func (s *Store) Import(ctx context.Context, d migrate.Dump) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"users", "authenticators", "recovery_codes", "sessions", "trusted_browsers", "setup_tokens", "throttle", "hosts",
			"audit_log", "enforce_rules", "oidc_clients", "oidc_signing_keys"} {
			var nonEmpty bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&nonEmpty); err != nil {
				return fmt.Errorf("sqlite: import: %w", unavailable(err))
			}
			if nonEmpty {
				return fmt.Errorf("import: table %s is not empty: %w", table, mfa.ErrConflict)
			}
		}
		tables := []struct {
			name, query string
			n           int
			row         func(i int) []any
		}{
			{"users", `INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(d.Users), func(i int) []any {
				u := d.Users[i]
				return []any{u.ID, u.Name, u.PasswordHash, u.Admin, u.Disabled, toDB(u.Created), u.DisplayName, joinGroups(u.Groups), sourceOf(u), externalOf(u), u.Mail}
			}},
			{"authenticators", insertAuthenticatorSQL, len(d.Authenticators), func(i int) []any {
				return authenticatorRow(d.Authenticators[i])
			}},
			{"recovery_codes", `INSERT INTO recovery_codes (user_id, hash, created_at, used_at) VALUES (?, ?, ?, ?)`, len(d.RecoveryCodes), func(i int) []any {
				c := d.RecoveryCodes[i]
				return []any{c.UserID, c.Hash, toDB(c.Created), toDB(c.Used)}
			}},
			{"sessions", `INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`, len(d.Sessions), func(i int) []any {
				x := d.Sessions[i]
				return []any{x.TokenHash, x.UserID, int(x.Level), toDB(x.Created), toDB(x.LastSeen)}
			}},
			{"trusted_browsers", `INSERT INTO trusted_browsers (` + trustedColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`, len(d.TrustedBrowsers), func(i int) []any {
				b := d.TrustedBrowsers[i]
				return []any{b.TokenHash, b.UserID, toDB(b.Created), toDB(b.Expires), toDB(b.LastUsed), b.UserAgent, b.Addr}
			}},
			{"setup_tokens", `INSERT INTO setup_tokens (hash, expires_at) VALUES (?, ?)`, len(d.SetupTokens), func(i int) []any {
				return []any{d.SetupTokens[i].Hash, toDB(d.SetupTokens[i].Expires)}
			}},
			{"throttle", `INSERT INTO throttle (key, failures, last_failure_at) VALUES (?, ?, ?)`, len(d.Throttle), func(i int) []any {
				e := d.Throttle[i]
				return []any{e.Key, e.Failures, toDB(e.LastFailure)}
			}},
			{"hosts", `INSERT INTO hosts (` + hostColumns + `) VALUES (?, ?, ?, ?, ?)`, len(d.Hosts), func(i int) []any {
				h := d.Hosts[i]
				return []any{h.ID, h.Name, h.TokenHash, h.AllowPassword, toDB(h.Created)}
			}},
			{"audit_log", `INSERT INTO audit_log (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(d.Audit), func(i int) []any {
				return auditRow(d.Audit[i])
			}},
			{"oidc_clients", insertOIDCClientSQL, len(d.OIDCClients), func(i int) []any { return oidcClientRow(d.OIDCClients[i]) }},
			{"oidc_signing_keys", insertSigningKeySQL, len(d.SigningKeys), func(i int) []any { return signingKeyRow(d.SigningKeys[i]) }},
			{"enforce_rules", `INSERT INTO enforce_rules (` + enforceColumns + `) VALUES (?, ?, ?, ?, ?, ?)`, len(d.EnforceRules), func(i int) []any {
				r := d.EnforceRules[i]
				return []any{r.ID, joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), toDB(r.Updated), r.UpdatedBy}
			}},
		}
		for _, t := range tables {
			if err := insertRows(ctx, tx, t.name, t.query, t.n, t.row); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertRows runs query in tx, prepared once, with the arguments row(i)
// for i from 0 to n-1.
func insertRows(ctx context.Context, tx *sql.Tx, table, query string, n int, row func(i int) []any) error {
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlite: import: %s: %w", table, unavailable(err))
	}
	defer st.Close()
	for i := range n {
		if _, err := st.ExecContext(ctx, row(i)...); err != nil {
			return fmt.Errorf("sqlite: import: %s: row %d: %w", table, i, unavailable(err))
		}
	}
	return nil
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
