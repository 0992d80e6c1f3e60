package postgres

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
	var updated sql.NullTime
	err := sc.Scan(&r.ID, &groups, &r.Deadline, &except, &updated, &r.UpdatedBy)
	r.Groups, r.Except, r.Updated = splitGroups(groups), splitGroups(except), fromDB(updated)
	return r, err
}

// EnforceRules implements mfa.EnforceStore.
func (s *Store) EnforceRules(ctx context.Context) ([]mfa.EnforceRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+enforceColumns+` FROM enforce_rules ORDER BY id`)
	if err != nil {
		return nil, dbError("enforcement rules", err)
	}
	defer rows.Close()
	var out []mfa.EnforceRecord
	for rows.Next() {
		r, err := scanEnforceRule(rows)
		if err != nil {
			return nil, dbError("enforcement rules", err)
		}
		out = append(out, r)
	}
	return out, dbError("enforcement rules", rows.Err())
}

// CreateEnforceRule implements mfa.EnforceStore.
func (s *Store) CreateEnforceRule(ctx context.Context, r mfa.EnforceRecord) (mfa.EnforceRecord, error) {
	err := s.db.QueryRowContext(ctx, `INSERT INTO enforce_rules (group_names, deadline, except_groups, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), r.Updated, r.UpdatedBy).Scan(&r.ID)
	return r, dbError("create enforcement rule", err)
}

// UpdateEnforceRule implements mfa.EnforceStore.
func (s *Store) UpdateEnforceRule(ctx context.Context, r, was mfa.EnforceRecord) error {
	return s.withTx(ctx, "update enforcement rule", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE enforce_rules SET group_names = $1, deadline = $2, except_groups = $3, updated_at = $4, updated_by = $5
			WHERE id = $6 AND group_names = $7 AND deadline = $8 AND except_groups = $9`,
			joinGroups(r.Groups), r.Deadline, joinGroups(r.Except), r.Updated, r.UpdatedBy,
			r.ID, joinGroups(was.Groups), was.Deadline, joinGroups(was.Except))
		return ruleChangedOrWhy(ctx, tx, res, err, r.ID)
	})
}

// DeleteEnforceRule implements mfa.EnforceStore.
func (s *Store) DeleteEnforceRule(ctx context.Context, was mfa.EnforceRecord) error {
	return s.withTx(ctx, "delete enforcement rule", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM enforce_rules WHERE id = $1 AND group_names = $2 AND deadline = $3 AND except_groups = $4`,
			was.ID, joinGroups(was.Groups), was.Deadline, joinGroups(was.Except))
		return ruleChangedOrWhy(ctx, tx, res, err, was.ID)
	})
}

// ruleChangedOrWhy tells why a conditional change of rule id changed nothing:
// ErrNotFound when there is no such rule, ErrConflict when it is not as
// the caller saw it.
func ruleChangedOrWhy(ctx context.Context, tx *sql.Tx, res sql.Result, err error, id int64) error {
	if err != nil {
		return dbError("enforcement rule", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return dbError("enforcement rule", err)
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM enforce_rules WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbError("enforcement rule", err)
	}
	if exists {
		return fmt.Errorf("enforcement rule %d changed meanwhile: %w", id, mfa.ErrConflict)
	}
	return fmt.Errorf("enforcement rule %d: %w", id, mfa.ErrNotFound)
}
