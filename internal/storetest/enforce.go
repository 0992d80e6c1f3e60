package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/otpgate/otpgate/internal/mfa"
)

// testEnforceRules: rules set on the admin pages are listed by ID as
// written; a change or a removal applies only to the rule as the caller
// saw it (ErrConflict, and nothing changes, otherwise; ErrNotFound for no
// such rule); a removed rule's ID is never given again.
func testEnforceRules(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	if rs, err := s.EnforceRules(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("EnforceRules() of an empty store = %v, %v", rs, err)
	}
	mk := func(groups []string, deadline string, except []string) mfa.EnforceRecord {
		t.Helper()
		r, err := s.CreateEnforceRule(ctx, mfa.EnforceRecord{Groups: groups, Deadline: deadline, Except: except, Updated: t0, UpdatedBy: "root"})
		if err != nil || r.ID == 0 {
			t.Fatalf("CreateEnforceRule(%v) = %+v, %v", groups, r, err)
		}
		return r
	}
	a := mk([]string{"hpc", "staff"}, "2027-01-15", []string{"guests"})
	b := mk([]string{"physics"}, "2027-03-01", nil)
	list := func() []mfa.EnforceRecord {
		t.Helper()
		rs, err := s.EnforceRules(ctx)
		if err != nil {
			t.Fatalf("EnforceRules() = %v", err)
		}
		return rs
	}
	if diff := cmp.Diff([]mfa.EnforceRecord{a, b}, list()); diff != "" {
		t.Errorf("EnforceRules() (-want +got):\n%s", diff)
	}
	changed := mfa.EnforceRecord{ID: a.ID, Groups: []string{"hpc"}, Deadline: "2027-02-01", Updated: t0.Add(time.Hour), UpdatedBy: "admin2"}
	wantErr(t, "UpdateEnforceRule(as seen before another change)", s.UpdateEnforceRule(ctx, changed, b), mfa.ErrConflict)
	wantErr(t, "UpdateEnforceRule(no such rule)", s.UpdateEnforceRule(ctx, mfa.EnforceRecord{ID: 999999, Groups: []string{"x"}, Deadline: "2027-01-01", Updated: t0}, a), mfa.ErrNotFound)
	if diff := cmp.Diff([]mfa.EnforceRecord{a, b}, list()); diff != "" {
		t.Errorf("EnforceRules() after refused updates (-want +got):\n%s", diff)
	}
	if err := s.UpdateEnforceRule(ctx, changed, a); err != nil {
		t.Fatalf("UpdateEnforceRule() = %v", err)
	}
	if diff := cmp.Diff([]mfa.EnforceRecord{changed, b}, list()); diff != "" {
		t.Errorf("EnforceRules() after the update (-want +got):\n%s", diff)
	}
	// The same change again: the rule is no longer a.
	wantErr(t, "UpdateEnforceRule(again, as seen before)", s.UpdateEnforceRule(ctx, changed, a), mfa.ErrConflict)
	wantErr(t, "DeleteEnforceRule(as seen before the update)", s.DeleteEnforceRule(ctx, a), mfa.ErrConflict)
	if err := s.DeleteEnforceRule(ctx, b); err != nil {
		t.Fatalf("DeleteEnforceRule() = %v", err)
	}
	wantErr(t, "DeleteEnforceRule(again)", s.DeleteEnforceRule(ctx, b), mfa.ErrNotFound)
	if diff := cmp.Diff([]mfa.EnforceRecord{changed}, list()); diff != "" {
		t.Errorf("EnforceRules() after the removal (-want +got):\n%s", diff)
	}
	// b had the largest ID: a new rule gets another.
	if c := mk([]string{"chemistry"}, "2027-04-01", nil); c.ID <= b.ID {
		t.Errorf("a rule made after removing rule %d got ID %d, want a larger one", b.ID, c.ID)
	}
}

// testGroupCoverage counts a group's enabled members and those with a
// confirmed authenticator, and lists the others by name: a pending
// authenticator does not count, a disabled member is no member, and a
// group is matched by its whole name.
func testGroupCoverage(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	member := func(name string, groups ...string) mfa.User {
		t.Helper()
		u := mustUser(t, s, name)
		u.Groups = groups
		if err := s.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann := member("ann", "hpc", "staff")
	mustAuthenticator(t, s, ann.ID, "ann1", true)
	bob := member("bob", "hpc")
	mustAuthenticator(t, s, bob.ID, "bob1", false) // pending
	member("carl", "hpc")
	dora := member("dora", "hpc")
	dora.Disabled = true
	if err := s.UpdateUser(ctx, dora); err != nil {
		t.Fatal(err)
	}
	member("eve", "hpc-users", "xhpc")
	member("abe", "staff")
	tests := []struct {
		group      string
		want       mfa.GroupCoverage
		unenrolled string
	}{
		{"hpc", mfa.GroupCoverage{Group: "hpc", Members: 3, Enrolled: 1}, "[bob carl]"},
		{"staff", mfa.GroupCoverage{Group: "staff", Members: 2, Enrolled: 1}, "[abe]"},
		{"hp", mfa.GroupCoverage{Group: "hp"}, "[]"},
		{"nobody", mfa.GroupCoverage{Group: "nobody"}, "[]"},
	}
	for _, tc := range tests {
		got, err := s.GroupCoverage(ctx, tc.group)
		if err != nil || got != tc.want {
			t.Errorf("GroupCoverage(%q) = %+v, %v, want %+v", tc.group, got, err, tc.want)
		}
		names, err := s.GroupUnenrolled(ctx, tc.group)
		if err != nil || fmt.Sprint(names) != tc.unenrolled {
			t.Errorf("GroupUnenrolled(%q) = %v, %v, want %s", tc.group, names, err, tc.unenrolled)
		}
	}
}
