package mfa

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseEnforcement: a rules file parses or is refused, never panics;
// what parses, written back rule by rule, parses to the same rules.
func FuzzParseEnforcement(f *testing.F) {
	for _, s := range []string{
		"second factor required for groups hpc, staff from 2027-01-15 except groups guests\nexempt groups robots\n",
		"# c\nsecond factor required for groups physics from 2027-03-01\n",
		"second factor required for groups from 2027-01-15\n", "exempt groups\n", "second factor required for groups hpc from 2027-02-30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := ParseEnforcement("f", strings.NewReader(text), time.UTC)
		if err != nil {
			return
		}
		var back strings.Builder
		for _, r := range e.Rules() {
			back.WriteString(r.String() + "\n")
		}
		again, err := ParseEnforcement("f", strings.NewReader(back.String()), time.UTC)
		if err != nil {
			t.Fatalf("written back %q: %v", back.String(), err)
		}
		if len(again.Rules()) != len(e.Rules()) {
			t.Fatalf("written back: %d rules, want %d", len(again.Rules()), len(e.Rules()))
		}
		for i, r := range e.Rules() {
			a := again.Rules()[i]
			if !slices.Equal(a.Groups, r.Groups) || !slices.Equal(a.Except, r.Except) || !a.From.Equal(r.From) {
				t.Fatalf("rule %d written back as %q reads %+v, want %+v", i, r.String(), a, r)
			}
		}
	})
}

// FuzzRuleInput: a rule typed on the admin page is refused with
// ErrInvalid, or becomes a record whose line the file's parser reads as
// the same rule, naming at least one group, with a deadline not before
// today.
func FuzzRuleInput(f *testing.F) {
	f.Add("hpc, Staff", "2027-01-15", "guests")
	f.Add(" , ", "2027-01-15", "")
	f.Add("hpc", "2026-11-27", "")
	f.Add("hpc", "2027-1-5", "hpc")
	f.Add("a b", "15.01.2027", "c,,d")
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	s := NewService(Deps{Now: func() time.Time { return now }}, Options{Location: time.UTC})
	f.Fuzz(func(t *testing.T, groups, deadline, except string) {
		r, err := s.checkRule(t.Context(), RuleInput{Groups: groups, Deadline: deadline, Except: except, AllowEmpty: true}, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("checkRule(%q, %q, %q) = %v, want ErrInvalid", groups, deadline, except, err)
			}
			return
		}
		e, err := ParseEnforcement("page", strings.NewReader(r.String()), time.UTC)
		if err != nil || len(e.Rules()) != 1 {
			t.Fatalf("the line %q of an accepted rule does not parse: %v", r.String(), err)
		}
		got := e.Rules()[0]
		if !slices.Equal(got.Groups, r.Groups) || !slices.Equal(got.Except, r.Except) || got.From.Format(time.DateOnly) != r.Deadline ||
			len(r.Groups) == 0 || r.Deadline < now.Format(time.DateOnly) {
			t.Fatalf("accepted %+v reads back as %+v", r, got)
		}
	})
}
