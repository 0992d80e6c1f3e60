package web_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// TestEnforcementUnion: the file's rules and the admin page's apply
// together, as several rules of the file do: the earliest deadline of the
// rules that hold a user counts, a rule's except groups spare its members
// from that rule only, and the file's exempt groups from every rule. The
// rules page shows the file's rules read-only, marked with the file and
// line, beside the stored ones, each with its groups' coverage; the users
// page and the metrics give the coverage of every group either names.
func TestEnforcementUnion(t *testing.T) {
	file, err := mfa.ParseEnforcement("enforce.conf", strings.NewReader(
		"second factor required for groups hpc from 2027-03-01\nexempt groups robots\n"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e, root := ruleEnv(t, setup{mopts: mfa.Options{Enforce: file}})
	ctx := context.Background()
	for name, groups := range map[string][]string{"rob": {"hpc", "robots"}, "gil": {"physics", "guests"}, "sam": {"staff", "guests"}} {
		u := e.addUser(name)
		if _, err := e.svc.SetProfile(ctx, u.ID, mfa.Profile{Groups: &groups}); err != nil {
			t.Fatal(err)
		}
	}
	e.addRule(root, ruleForm("hpc", "2027-01-15", ""))
	e.addRule(root, ruleForm("physics", "2027-02-01", "guests"))
	e.addRule(root, ruleForm("staff", "2027-04-01", ""))
	day := func(m time.Month, d int) time.Time { return time.Date(2027, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		user string
		want time.Time // zero: no rule
	}{
		{"noor", day(1, 15)}, // hpc: the page's 01-15 before the file's 03-01
		{"rob", time.Time{}}, // the file's exempt robots, from the page's rule too
		{"gus", day(2, 1)},   // physics
		{"gil", time.Time{}}, // physics except guests
		{"sam", day(4, 1)},   // guests are spared by the physics rule only
	} {
		u, _ := e.svc.UserByName(ctx, tc.user)
		due, err := e.svc.SetupDue(ctx, u)
		if err != nil || due.Applies != !tc.want.IsZero() || !due.Deadline.Equal(tc.want) {
			t.Errorf("SetupDue(%s) = %+v, %v, want deadline %v", tc.user, due, err, tc.want)
		}
	}
	r := e.get(root, "/admin/enforcement")
	fileRule := `<article class="rule" data-source="file">
<p><strong class="rule-text">second factor required for groups hpc from 2027-03-01</strong></p>
<p class="help"><span class="source">from FILE enforce.conf, line 1</span>`
	if !strings.Contains(r.body, fileRule) || strings.Count(r.body, `data-source="page"`) != 3 || strings.Count(r.body, "Remove rule") != 3 ||
		!strings.Contains(r.body, "nor in the file's exempt groups (robots)") {
		t.Errorf("the rules page does not show the file's rule read-only beside the 3 stored ones\n%s", r.body)
	}
	// hpc under the file's rule and the page's; physics and staff under theirs.
	for line, n := range map[string]int{
		`data-group="hpc">1 of 3 members of hpc have a second factor</li>`:         2,
		`data-group="physics">0 of 2 members of physics have a second factor</li>`: 1,
		`data-group="staff">0 of 1 members of staff have a second factor</li>`:     1,
	} {
		if got := strings.Count(r.body, line); got != n {
			t.Errorf("the rules page shows %q %d times, want %d", line, got, n)
		}
		if u := e.get(root, "/admin"); strings.Count(u.body, line) != 1 {
			t.Errorf("the users page lacks %q", line)
		}
	}
	m := scrapeCoverage(t, e.svc)
	for g, want := range map[string][3]float64{"hpc": {3, 1, 0}, "physics": {2, 0, 0}, "staff": {1, 0, 0}} {
		if m[g] != want {
			t.Errorf("metrics of %s = %v, want %v", g, m[g], want)
		}
	}
	if len(m) != 3 {
		t.Errorf("metrics give the coverage of %v, want hpc, physics and staff", m)
	}
}

// TestEnforcementInstances: a rule set on one server's admin page applies
// there at once, and on another server on the same store once its rules
// are EnforceReload (30 s) old; a removal likewise.
func TestEnforcementInstances(t *testing.T) {
	e, root := ruleEnv(t, setup{})
	ctx := context.Background()
	other := mfa.NewService(mfa.Deps{Store: e.store, Hasher: mfa.NewHasher(testArgon2, rand.Reader, mfa.HashLimits{Concurrent: 1, Queue: 8}),
		Rand: rand.Reader, Now: e.clock.Now}, mfa.Options{Location: time.UTC})
	noor, _ := e.svc.UserByName(ctx, "noor")
	applies := func(svc *mfa.Service) bool {
		t.Helper()
		due, err := svc.SetupDue(ctx, noor)
		if err != nil {
			t.Fatal(err)
		}
		return due.Required(e.clock.Now())
	}
	if applies(other) || applies(e.svc) {
		t.Fatalf("a rule applies before any was set")
	}
	reload := other.Options().EnforceReload
	if reload != 30*time.Second {
		t.Errorf("EnforceReload = %v, want the documented 30s", reload)
	}
	e.addRule(root, ruleForm("hpc", "2026-11-28", ""))
	if !applies(e.svc) {
		t.Errorf("the rule does not apply at once on the server it was set on")
	}
	e.clock.Add(reload - time.Second)
	if applies(other) {
		t.Errorf("the other server read the rules again before %v", reload)
	}
	e.clock.Add(time.Second)
	if !applies(other) {
		t.Errorf("the other server does not apply the rule %v after it was set", reload)
	}
	rs := e.storedRules()
	if r := e.post(root, fmt.Sprintf("/admin/enforcement/%d/remove", rs[0].ID), url.Values{"seen": {rs[0].String()}}); r.status != 303 {
		t.Fatalf("remove = %d\n%s", r.status, r.body)
	}
	if applies(e.svc) {
		t.Errorf("the removed rule still applies on the server it was removed on")
	}
	e.clock.Add(reload)
	if applies(other) {
		t.Errorf("the removed rule still applies on the other server %v later", reload)
	}
}
