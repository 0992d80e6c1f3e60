package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/otpgate/otpgate/internal/mfa"
)

const enforceColumns = `id, group_names, deadline, except_groups, updated_at, updated_by`

func scanEnforceRule(sc interface{ Scan(...any) error }) (mfa.EnforceRecord, error) {
	var r mfa.EnforceRecord
	var groups, except string
	var updated sql.NullInt64
	err := sc.Scan(&r.ID, &groups, &r.Deadline, &except, &updated, &r.UpdatedBy)
	r.Groups, r.Except, r.Updated = splitGroups(groups), splitGroups(except), fromDB(updated)
	return r, err
}

// EnforceRules implements mfa.EnforceStore.
func (s *Store) EnforceRules(ctx context.Context) ([]mfa.EnforceRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+enforceColumns+` FROM enforce_rules ORDER BY id`)
	if err != nil {
		return nil, notFound(err, "enforcement rules")
	}
	defer rows.Close()
	var out []mfa.EnforceRecord
	for rows.Next() {
		r, err := scanEnforceRule(rows)
		if err != nil {
			return nil, notFound(err, "enforcement rules")
		}
		out = append(out, r)
	}
	return out, notFound(rows.Err(), "enforcement rules")
}

// CreateEnforceRule implements mfa.EnforceStore.
func (s *Store) CreateEnforceRule(ctx context.Context, r mfa.EnforceRecord) (mfa.EnforceRecord, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		return notFound(tx.QueryRowContext(ctx, `INSERT INTO enforce_rules (group_names, deadline, except_groups, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), toDB(r.Updated), r.UpdatedBy).Scan(&r.ID),
			"create enforcement rule")
	})
	return r, err
}

// UpdateEnforceRule implements mfa.EnforceStore.
func (s *Store) UpdateEnforceRule(ctx context.Context, r, was mfa.EnforceRecord) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE enforce_rules SET group_names = ?, deadline = ?, except_groups = ?, updated_at = ?, updated_by = ?
			WHERE id = ? AND group_names = ? AND deadline = ? AND except_groups = ?`,
			joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), toDB(r.Updated), r.UpdatedBy,
			r.ID, joinGroups(was.Groups), was.Deadline, joinGroups(was.Except))
		return ruleChangedOrWhy(ctx, tx, res, err, r.ID)
	})
}

// DeleteEnforceRule implements mfa.EnforceStore.
func (s *Store) DeleteEnforceRule(ctx context.Context, was mfa.EnforceRecord) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM enforce_rules WHERE id = ? AND group_names = ? AND deadline = ? AND except_groups = ?`,
			was.ID, joinGroups(was.Groups), was.Deadline, joinGroups(was.Except))
		return ruleChangedOrWhy(ctx, tx, res, err, was.ID)
	})
}

// ruleChangedOrWhy tells why a conditional change of rule id changed nothing:
// ErrNotFound when there is no such rule, ErrConflict when it is not as
// the caller saw it.
func ruleChangedOrWhy(ctx context.Context, tx *sql.Tx, res sql.Result, err error, id int64) error {
	if err != nil {
		return fmt.Errorf("sqlite: enforcement rule: %w", unavailable(err))
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return notFound(err, "enforcement rule")
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM enforce_rules WHERE id = ?)`, id).Scan(&exists); err != nil {
		return notFound(err, "enforcement rule")
	}
	if exists {
		return fmt.Errorf("enforcement rule %d changed meanwhile: %w", id, mfa.ErrConflict)
	}
	return fmt.Errorf("enforcement rule %d: %w", id, mfa.ErrNotFound)
}
