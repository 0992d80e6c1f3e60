package mfa_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

const enforceFile = `# the centre's roll-out
second factor required for groups hpc, staff from 2027-01-15 except groups guests
second factor required for groups physics from 2027-03-01
second factor required for groups staff from 2027-01-01
exempt groups robots
`

// TestParseEnforcement reads a rules file and refuses bad ones, naming
// the line.
func TestParseEnforcement(t *testing.T) {
	e, err := mfa.ParseEnforcement("enforce.conf", strings.NewReader(enforceFile), time.UTC)
	if err != nil {
		t.Fatalf("ParseEnforcement() = %v", err)
	}
	if got := strings.Join(e.Groups(), ","); got != "hpc,physics,staff" {
		t.Errorf("Groups() = %q, want hpc,physics,staff", got)
	}
	bad := []struct {
		name, text, want string
	}{
		{"not a date", "second factor required for groups hpc from 2027-02-30\n", `line 1: deadline "2027-02-30" is not a date`},
		{"bad format", "\nsecond factor required for groups hpc from 15.01.2027\n", `line 2: deadline "15.01.2027" is not a date in the form YYYY-MM-DD`},
		{"no deadline", "second factor required for groups hpc\n", "line 1: the rule has no deadline"},
		{"no groups", "second factor required for groups from 2027-01-15\n", "line 1: the rule names no groups"},
		{"empty group", "second factor required for groups hpc,, staff from 2027-01-15\n", "line 1: an empty group name"},
		{"bad group", "second factor required for groups HPC Users from 2027-01-15\n", `line 1: "HPC Users" is not a group name`},
		{"bad except", "second factor required for groups hpc from 2027-01-15 but not guests\n", "line 1: after the deadline"},
		{"unknown line", "# ok\nrequire hpc\n", "line 2: want"},
		{"exempt nothing", "exempt groups\n", "line 1: exempt groups: an empty group name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mfa.ParseEnforcement("enforce.conf", strings.NewReader(tc.text), time.UTC)
			if err == nil || !strings.Contains(err.Error(), "enforce.conf: "+tc.want) {
				t.Errorf("ParseEnforcement(%q) = %v, want an error with %q", tc.text, err, tc.want)
			}
		})
	}
}

// TestEnforcementFor decides for members, non-members, excluded and exempt
// users at fixed times before and after the deadlines.
func TestEnforcementFor(t *testing.T) {
	e, err := mfa.ParseEnforcement("enforce.conf", strings.NewReader(enforceFile), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	jan15 := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	before, after := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC), time.Date(2027, 1, 15, 0, 0, 1, 0, time.UTC)
	tests := []struct {
		name     string
		groups   []string
		applies  bool
		deadline time.Time
		at       time.Time
		required bool
		daysLeft int
	}{
		{"member before", []string{"hpc"}, true, jan15, before, false, 5},
		{"member on the day", []string{"hpc"}, true, jan15, jan15, true, 0},
		{"member after", []string{"hpc"}, true, jan15, after, true, 0},
		{"member a second before", []string{"hpc"}, true, jan15, jan15.Add(-time.Second), false, 1},
		{"earliest of two rules", []string{"staff", "hpc"}, true, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), before, true, 0},
		{"excluded from the rule", []string{"hpc", "guests"}, false, time.Time{}, after, false, 0},
		{"excluded from one rule, not the other", []string{"staff", "guests"}, true, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), after, true, 0},
		{"exempt from every rule", []string{"hpc", "robots"}, false, time.Time{}, after, false, 0},
		{"non-member", []string{"chemistry"}, false, time.Time{}, after, false, 0},
		{"no groups", nil, false, time.Time{}, after, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.For(mfa.User{Name: "u", Groups: tc.groups})
			if d.Applies != tc.applies || !d.Deadline.Equal(tc.deadline) {
				t.Errorf("For(%v) = applies %v, deadline %v; want %v, %v", tc.groups, d.Applies, d.Deadline, tc.applies, tc.deadline)
			}
			if got := d.Required(tc.at); got != tc.required {
				t.Errorf("Required(%v) = %v, want %v", tc.at, got, tc.required)
			}
			if got := d.DaysLeft(tc.at); got != tc.daysLeft {
				t.Errorf("DaysLeft(%v) = %d, want %d", tc.at, got, tc.daysLeft)
			}
		})
	}
}
