package mfa

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Enforcement is the site's rules that make a second factor mandatory for
// members of some groups from a deadline: those of a file read by
// ParseEnforcement (Options.Enforce) and those an administrator set on the
// admin pages (EnforceRecord), which apply together. Before a rule's
// deadline its members are told at each sign-in how many days are left
// and may set one up or go on; from the deadline they must set one up
// before anything else, on every path (SetupRequired).
type Enforcement struct {
	rules []EnforceRule
	// exempt are the groups no rule applies to.
	exempt []string
}

// EnforceRule is one line "second factor required for groups hpc, staff
// from 2027-01-15 except groups guests", of the file or of the store.
type EnforceRule struct {
	Groups []string
	// From is the deadline: the start of its day in the location the
	// file was read in, or, for a stored rule, Options.Location.
	From   time.Time
	Except []string
	// File and Line are the rule's file and line; empty and zero for a
	// rule kept in the store.
	File string
	Line int
	// ID is the stored rule's (EnforceRecord.ID); zero for a rule of the
	// file.
	ID int64
}

// String writes the rule as a line of the file.
func (r EnforceRule) String() string {
	return ruleText(r.Groups, r.From.Format(time.DateOnly), r.Except)
}

// ruleText is a rule's line: "second factor required for groups hpc,
// staff from 2027-01-15 except groups guests".
func ruleText(groups []string, deadline string, except []string) string {
	s := "second factor required for groups " + strings.Join(groups, ", ") + " from " + deadline
	if len(except) > 0 {
		s += " except groups " + strings.Join(except, ", ")
	}
	return s
}

// ParseEnforcement reads rules, one a line, '#' starting a comment:
//
//	second factor required for groups hpc, staff from 2027-01-15
//	second factor required for groups physics from 2027-03-01 except groups guests, visitors
//	exempt groups service-accounts
//
// A deadline is a date, YYYY-MM-DD, whose day starts in loc; a group list
// is comma-separated group names. Errors name the file and the line.
func ParseEnforcement(name string, r io.Reader, loc *time.Location) (*Enforcement, error) {
	e := &Enforcement{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s: line %d: "+format, append([]any{name, n}, args...)...)
		}
		if rest, ok := strings.CutPrefix(line, "exempt groups"); ok {
			gs, err := groupList(rest)
			if err != nil {
				return nil, fail("exempt groups: %v", err)
			}
			e.exempt = append(e.exempt, gs...)
			continue
		}
		rest, ok := strings.CutPrefix(line, "second factor required for groups")
		if !ok {
			return nil, fail(`want "second factor required for groups G1, G2 from YYYY-MM-DD [except groups G3]" or "exempt groups G1, G2"`)
		}
		groups, rest, ok := strings.Cut(rest, " from ")
		if !ok {
			if strings.HasPrefix(strings.TrimSpace(rest), "from") {
				return nil, fail("the rule names no groups")
			}
			return nil, fail(`the rule has no deadline ("from YYYY-MM-DD")`)
		}
		rule := EnforceRule{File: name, Line: n}
		var err error
		if strings.TrimSpace(groups) == "" {
			return nil, fail("the rule names no groups")
		}
		if rule.Groups, err = groupList(groups); err != nil {
			return nil, fail("%v", err)
		}
		date, except, hasExcept := strings.Cut(strings.TrimSpace(rest), " ")
		if rule.From, err = time.ParseInLocation(time.DateOnly, date, loc); err != nil {
			return nil, fail("deadline %q is not a date in the form YYYY-MM-DD", date)
		}
		if hasExcept {
			gs, ok := strings.CutPrefix(except, "except groups")
			if !ok {
				return nil, fail(`after the deadline, want "except groups G1, G2" or nothing, not %q`, except)
			}
			if rule.Except, err = groupList(gs); err != nil {
				return nil, fail("except groups: %v", err)
			}
		}
		e.rules = append(e.rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return e, nil
}

// groupList parses "hpc, staff": at least one valid group name.
func groupList(s string) ([]string, error) {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			return nil, fmt.Errorf("an empty group name in %q", strings.TrimSpace(s))
		}
		if err := ValidateGroup(NormalizeName(g)); err != nil || NormalizeName(g) != g {
			return nil, fmt.Errorf("%q is not a group name (lower-case letters, digits, '.', '_', '-', '@')", g)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no groups named")
	}
	return out, nil
}

// Rules returns the rules, in the file's order, then the stored ones.
func (e *Enforcement) Rules() []EnforceRule {
	if e == nil {
		return nil
	}
	return e.rules
}

// Exempt returns the groups no rule applies to (the file's "exempt
// groups" lines).
func (e *Enforcement) Exempt() []string {
	if e == nil {
		return nil
	}
	return e.exempt
}

// with returns e's rules followed by extra, e's exempt groups applying to
// every one.
func (e *Enforcement) with(extra []EnforceRule) *Enforcement {
	return &Enforcement{rules: slices.Concat(e.Rules(), extra), exempt: e.Exempt()}
}

// Groups returns every group a rule names, sorted, once each.
func (e *Enforcement) Groups() []string {
	if e == nil {
		return nil
	}
	var gs []string
	for _, r := range e.rules {
		gs = append(gs, r.Groups...)
	}
	slices.Sort(gs)
	return slices.Compact(gs)
}

// Due is what the rules say of one user at one time.
type Due struct {
	// Applies tells that a rule applies to the user.
	Applies bool
	// Deadline is the earliest deadline of the rules that apply.
	Deadline time.Time
}

// Required reports whether the deadline has come at now.
func (d Due) Required(now time.Time) bool { return d.Applies && !now.Before(d.Deadline) }

// DaysLeft is how many days, rounded up, are left before the deadline at
// now; zero once it has come.
func (d Due) DaysLeft(now time.Time) int {
	if !d.Applies || !now.Before(d.Deadline) {
		return 0
	}
	return int((d.Deadline.Sub(now) + 24*time.Hour - 1) / (24 * time.Hour))
}

// For returns what the rules say of u: a rule applies to a member of one
// of its groups who is in none of its except groups nor of the exempt
// groups; of several, the earliest deadline counts.
func (e *Enforcement) For(u User) Due {
	var d Due
	if e == nil || hasAny(u.Groups, e.exempt) {
		return d
	}
	for _, r := range e.rules {
		if !hasAny(u.Groups, r.Groups) || hasAny(u.Groups, r.Except) {
			continue
		}
		if !d.Applies || r.From.Before(d.Deadline) {
			d = Due{Applies: true, Deadline: r.From}
		}
	}
	return d
}

func hasAny(have, want []string) bool {
	for _, g := range want {
		if slices.Contains(have, g) {
			return true
		}
	}
	return false
}

// due is what the site requires of u: everyone with RequireSecondFactor,
// else the enforcement rules in force (the file's and the store's, see
// enforcement).
func (s *Service) due(ctx context.Context, u User) (Due, error) {
	if s.opts.RequireSecondFactor {
		return Due{Applies: true}, nil
	}
	e, err := s.enforcement(ctx)
	if err != nil {
		return Due{}, err
	}
	return e.For(u), nil
}

// SetupDue returns what the site's rules say of u's second factor (for
// the pages: a deadline to tell of).
func (s *Service) SetupDue(ctx context.Context, u User) (Due, error) { return s.due(ctx, u) }
