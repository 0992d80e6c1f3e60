package mfa

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// EnforceRecord is an enforcement rule kept in the store, set by an
// administrator on the admin pages: the rule of a line of the file (see
// ParseEnforcement), which applies together with the file's.
type EnforceRecord struct {
	// ID is assigned by the store.
	ID int64
	// Groups are the groups whose members the rule holds: at least one,
	// sorted, each a valid group name.
	Groups []string
	// Deadline is the rule's date, YYYY-MM-DD: a second factor is
	// required from the start of that day in the server's time zone
	// (Options.Location), as the file's dates are.
	Deadline string
	// Except are the groups whose members the rule spares, sorted; nil
	// means none.
	Except []string
	// Updated is when an administrator last set the rule, UpdatedBy who.
	Updated   time.Time
	UpdatedBy string
}

// String writes the rule as a line of the file.
func (r EnforceRecord) String() string { return ruleText(r.Groups, r.Deadline, r.Except) }

// rule is the record as a rule whose deadline day starts in loc.
func (r EnforceRecord) rule(loc *time.Location) (EnforceRule, error) {
	from, err := time.ParseInLocation(time.DateOnly, r.Deadline, loc)
	if err != nil || len(r.Groups) == 0 {
		return EnforceRule{}, fmt.Errorf("stored enforcement rule %d (%s): not a rule", r.ID, r)
	}
	return EnforceRule{Groups: r.Groups, From: from, Except: r.Except, ID: r.ID}, nil
}

// EnforceStore keeps the enforcement rules set on the admin pages.
type EnforceStore interface {
	// EnforceRules returns the stored rules, by ID.
	EnforceRules(ctx context.Context) ([]EnforceRecord, error)
	// CreateEnforceRule stores r (ID ignored) and returns it with its ID.
	CreateEnforceRule(ctx context.Context, r EnforceRecord) (EnforceRecord, error)
	// UpdateEnforceRule replaces the groups, deadline, except groups and
	// update stamp of the rule r.ID, provided its groups, deadline and
	// except groups are still those of was, in one conditional
	// statement: ErrConflict, and nothing changes, when they are not (a
	// change made meanwhile); ErrNotFound when there is no such rule.
	UpdateEnforceRule(ctx context.Context, r, was EnforceRecord) error
	// DeleteEnforceRule removes the rule was.ID provided its groups,
	// deadline and except groups are still was's, in one conditional
	// statement: ErrConflict, and nothing changes, when they are not;
	// ErrNotFound when there is no such rule.
	DeleteEnforceRule(ctx context.Context, was EnforceRecord) error
}

// Actions of the audit log for the enforcement rules set on the admin
// pages; the entry's Reason is the rule's line.
const (
	ActionRuleAdd    = "add enforcement rule"
	ActionRuleChange = "change enforcement rule"
	ActionRuleRemove = "remove enforcement rule"
)

// MaxRuleField is the longest list of groups a rule takes, in bytes.
const MaxRuleField = 1024

// RuleInput is a rule as an administrator types it: comma-separated
// groups, a date YYYY-MM-DD, comma-separated except groups (may be
// empty).
type RuleInput struct {
	Groups, Deadline, Except string
	// AllowEmpty keeps groups that no enabled user is in yet (a
	// directory's group whose members have not signed in); without it
	// such a group is refused as a likely typing error.
	AllowEmpty bool
}

// StoredRules returns the rules set on the admin pages, by ID, as the
// store holds them now.
func (s *Service) StoredRules(ctx context.Context) ([]EnforceRecord, error) {
	return s.store.EnforceRules(ctx)
}

// AddRule checks in and stores it as a new rule, in force on this server
// at once and on others within Options.EnforceReload; the change is in the
// audit log with the administrator of ctx's Client. Bad input gives
// ErrInvalid with what is wrong, and changes nothing.
func (s *Service) AddRule(ctx context.Context, in RuleInput) (EnforceRecord, error) {
	r, err := s.checkRule(ctx, in, nil)
	if err != nil {
		return EnforceRecord{}, err
	}
	if r, err = s.store.CreateEnforceRule(ctx, r); err != nil {
		return EnforceRecord{}, err
	}
	s.rulesChanged()
	s.audit(ctx, AuditEntry{Action: ActionRuleAdd, Result: "ok", Reason: r.String()})
	return r, nil
}

// ChangeRule replaces the stored rule id, which the administrator saw as
// the line seen, with in, checked as by AddRule, except that a deadline
// already past may stay as it is. ErrNotFound when there is no such rule;
// ErrConflict, and nothing changes, when it is no longer seen (changed by
// someone else meanwhile).
func (s *Service) ChangeRule(ctx context.Context, id int64, seen string, in RuleInput) (EnforceRecord, error) {
	was, err := s.storedRule(ctx, id, seen)
	if err != nil {
		return EnforceRecord{}, err
	}
	r, err := s.checkRule(ctx, in, &was)
	if err != nil {
		return EnforceRecord{}, err
	}
	r.ID = id
	if err := s.store.UpdateEnforceRule(ctx, r, was); err != nil {
		return EnforceRecord{}, err
	}
	s.rulesChanged()
	s.audit(ctx, AuditEntry{Action: ActionRuleChange, Result: "ok", Reason: r.String() + " (was: " + was.String() + ")"})
	return r, nil
}

// RemoveRule deletes the stored rule id, which the administrator saw as
// the line seen: ErrNotFound when there is no such rule, ErrConflict when
// it is no longer seen.
func (s *Service) RemoveRule(ctx context.Context, id int64, seen string) error {
	was, err := s.storedRule(ctx, id, seen)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEnforceRule(ctx, was); err != nil {
		return err
	}
	s.rulesChanged()
	s.audit(ctx, AuditEntry{Action: ActionRuleRemove, Result: "ok", Reason: was.String()})
	return nil
}

// storedRule returns the stored rule id if its line is seen.
func (s *Service) storedRule(ctx context.Context, id int64, seen string) (EnforceRecord, error) {
	rules, err := s.store.EnforceRules(ctx)
	if err != nil {
		return EnforceRecord{}, err
	}
	i := slices.IndexFunc(rules, func(r EnforceRecord) bool { return r.ID == id })
	switch {
	case i < 0:
		return EnforceRecord{}, fmt.Errorf("enforcement rule %d: %w", id, ErrNotFound)
	case rules[i].String() != seen:
		return EnforceRecord{}, fmt.Errorf("enforcement rule %d is now %q: %w", id, rules[i], ErrConflict)
	}
	return rules[i], nil
}

// checkRule turns in into a record, stamped with now and ctx's actor: at
// least one group, lists of at most MaxRuleField bytes, valid names, no group both held and spared, a date not
// before today in the server's time zone (unless it is was's, kept), and,
// unless in.AllowEmpty, no group without an enabled member that was not
// in was already.
func (s *Service) checkRule(ctx context.Context, in RuleInput, was *EnforceRecord) (EnforceRecord, error) {
	if len(in.Groups) > MaxRuleField || len(in.Except) > MaxRuleField {
		return EnforceRecord{}, fmt.Errorf("%w: a list of groups is longer than %d bytes", ErrInvalid, MaxRuleField)
	}
	groups, err := ruleGroups("groups", in.Groups)
	if err != nil {
		return EnforceRecord{}, err
	}
	if len(groups) == 0 {
		return EnforceRecord{}, fmt.Errorf("%w: the rule names no groups", ErrInvalid)
	}
	except, err := ruleGroups("except groups", in.Except)
	if err != nil {
		return EnforceRecord{}, err
	}
	for _, g := range except {
		if slices.Contains(groups, g) {
			return EnforceRecord{}, fmt.Errorf("%w: group %q is both held by the rule and spared by it", ErrInvalid, g)
		}
	}
	date := strings.TrimSpace(in.Deadline)
	if date == "" {
		return EnforceRecord{}, fmt.Errorf("%w: the rule has no deadline (a date, YYYY-MM-DD)", ErrInvalid)
	}
	if _, err := time.ParseInLocation(time.DateOnly, date, s.opts.Location); err != nil {
		if len(date) > len(time.DateOnly) {
			return EnforceRecord{}, fmt.Errorf("%w: the deadline is not a date in the form YYYY-MM-DD", ErrInvalid)
		}
		return EnforceRecord{}, fmt.Errorf("%w: deadline %q is not a date in the form YYYY-MM-DD", ErrInvalid, date)
	}
	// Dates of four-digit years compare as text.
	today := s.now().In(s.opts.Location).Format(time.DateOnly)
	if date < today && (was == nil || was.Deadline != date) {
		return EnforceRecord{}, fmt.Errorf("%w: deadline %s is in the past (today is %s): a new deadline is today (in force at once) or later", ErrInvalid, date, today)
	}
	if !in.AllowEmpty {
		for _, g := range slices.Concat(groups, except) {
			if was != nil && (slices.Contains(was.Groups, g) || slices.Contains(was.Except, g)) {
				continue
			}
			c, err := s.store.GroupCoverage(ctx, g)
			if err != nil {
				return EnforceRecord{}, err
			}
			if c.Members == 0 {
				return EnforceRecord{}, fmt.Errorf("%w: no user is in group %q: check its spelling, or tick \"groups without members yet\" for a group whose members have not signed in yet", ErrInvalid, g)
			}
		}
	}
	return EnforceRecord{Groups: groups, Deadline: date, Except: except, Updated: s.now(), UpdatedBy: ClientFrom(ctx).Actor}, nil
}

// ruleGroups parses a comma-separated list of groups as typed (trimmed,
// in lower case), naming the field in its error.
func ruleGroups(field, list string) ([]string, error) {
	gs, err := ParseGroups(list)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, field, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	return gs, nil
}
