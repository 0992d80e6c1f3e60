package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

const auditColumns = `id, at, user_name, actor, addr, path, action, result, reason, drift`

// AppendAudit implements mfa.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, entries []mfa.AuditEntry) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (at, user_name, actor, addr, path, action, result, reason, drift)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: audit: %w", unavailable(err))
		}
		defer st.Close()
		for _, e := range entries {
			if _, err := st.ExecContext(ctx, auditRow(e)[1:]...); err != nil {
				return fmt.Errorf("sqlite: audit: %w", unavailable(err))
			}
		}
		return nil
	})
}

func auditRow(e mfa.AuditEntry) []any {
	return []any{e.ID, e.Time.UnixNano(), e.User, e.Actor, e.Addr, string(e.Path), e.Action, e.Result, e.Reason, e.Drift}
}

func scanAudit(r scanner) (mfa.AuditEntry, error) {
	var e mfa.AuditEntry
	var at int64
	var path string
	err := r.Scan(&e.ID, &at, &e.User, &e.Actor, &e.Addr, &path, &e.Action, &e.Result, &e.Reason, &e.Drift)
	e.Time, e.Path = time.Unix(0, at).UTC(), mfa.Path(path)
	return e, err
}

// failedResults are the results mfa.AuditEntry.Failed counts as refusals.
const failedResults = `('credentials_wrong', 'code_wrong', 'throttled', 'expired')`

// AuditLog implements mfa.AuditStore.
func (s *Store) AuditLog(ctx context.Context, f mfa.AuditFilter) ([]mfa.AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.User != "" {
		add("user_name = ?", f.User)
	}
	if f.Path != "" {
		add("path = ?", string(f.Path))
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Result != "" {
		add("result = ?", f.Result)
	}
	if f.Failed {
		where = append(where, "result IN "+failedResults)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UnixNano())
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit log: %w", unavailable(err))
	}
	defer rows.Close()
	var out []mfa.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: audit log: %w", unavailable(err))
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneAudit implements mfa.AuditStore.
func (s *Store) PruneAudit(ctx context.Context, before time.Time, keep int) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE at < ?`, before.UnixNano()); err != nil {
			return fmt.Errorf("sqlite: prune audit log: %w", unavailable(err))
		}
		if keep > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE id <= (SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?)`, keep); err != nil {
				return fmt.Errorf("sqlite: prune audit log: %w", unavailable(err))
			}
		}
		return nil
	})
}

// GroupCoverage implements mfa.CoverageStore.
func (s *Store) GroupCoverage(ctx context.Context, group string) (mfa.GroupCoverage, error) {
	c := mfa.GroupCoverage{Group: group}
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM authenticators a
		WHERE a.user_id = u.id AND a.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END), 0)
		FROM users u WHERE NOT u.disabled AND instr(',' || u.group_names || ',', ',' || ? || ',') > 0`, group).Scan(&c.Members, &c.Enrolled)
	if err != nil {
		return c, fmt.Errorf("sqlite: group coverage: %w", unavailable(err))
	}
	return c, nil
}

// GroupUnenrolled implements mfa.CoverageStore.
func (s *Store) GroupUnenrolled(ctx context.Context, group string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.name FROM users u WHERE NOT u.disabled
		AND instr(',' || u.group_names || ',', ',' || ? || ',') > 0
		AND NOT EXISTS (SELECT 1 FROM authenticators a WHERE a.user_id = u.id AND a.confirmed_at IS NOT NULL)
		ORDER BY u.name`, group)
	if err != nil {
		return nil, notFound(err, "group unenrolled")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, notFound(err, "group unenrolled")
		}
		out = append(out, n)
	}
	return out, notFound(rows.Err(), "group unenrolled")
}

// SearchUsers implements mfa.AdminStore: a range on the name's unique
// index, so that a page costs the same with 100 users or 100,000.
func (s *Store) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]mfa.User, error) {
	from := max(prefix, after)
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE name >= ? AND name < ? AND name > ?
		ORDER BY name LIMIT ?`, from, prefix+"\U0010FFFF", after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", unavailable(err))
	}
	defer rows.Close()
	var out []mfa.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search users: %w", unavailable(err))
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserSessions implements mfa.AdminStore.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]mfa.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT token_hash, user_id, level, created_at, last_seen_at FROM sessions
		WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user sessions: %w", unavailable(err))
	}
	defer rows.Close()
	var out []mfa.Session
	for rows.Next() {
		var x mfa.Session
		var level int
		var created, seen sql.NullInt64
		if err := rows.Scan(&x.TokenHash, &x.UserID, &level, &created, &seen); err != nil {
			return nil, fmt.Errorf("sqlite: user sessions: %w", unavailable(err))
		}
		x.Level, x.Created, x.LastSeen = mfa.Level(level), fromDB(created), fromDB(seen)
		out = append(out, x)
	}
	return out, rows.Err()
}
