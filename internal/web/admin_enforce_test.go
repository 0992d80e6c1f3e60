package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// ruleEnv is adminEnv (root signed in, hana with TOTP, noor without) with
// hana and noor in hpc and gus, without a second factor, in physics;
// deadlines start at midnight UTC; the clock is on 2026-11-28; sessions
// last a week.
func ruleEnv(t *testing.T, st setup) (*env, *http.Client) {
	t.Helper()
	st.mopts.Location = time.UTC
	st.mopts.SessionIdle, st.mopts.SessionMax = 7*24*time.Hour, 7*24*time.Hour
	e := newEnv(t, st)
	root := e.signInAdmin()
	hana := e.addUser("hana")
	h := e.client()
	e.login(h, "hana", "", "/settings")
	e.enroll(h)
	noor, gus := e.addUser("noor"), e.addUser("gus")
	for u, groups := range map[int64][]string{hana.ID: {"hpc"}, noor.ID: {"hpc"}, gus.ID: {"physics"}} {
		if _, err := e.svc.SetProfile(context.Background(), u, mfa.Profile{Groups: &groups}); err != nil {
			t.Fatal(err)
		}
	}
	return e, root
}

// ruleForm is the add or change form of a rule.
func ruleForm(groups, deadline, except string) url.Values {
	return url.Values{"rule_groups": {groups}, "rule_deadline": {deadline}, "rule_except": {except}}
}

// storedRules returns the rules the store holds.
func (e *env) storedRules() []mfa.EnforceRecord {
	e.t.Helper()
	rs, err := e.svc.StoredRules(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

var seenRe = regexp.MustCompile(`action="/admin/enforcement/(\d+)/remove"><input type="hidden" name="seen" value="([^"]*)"`)

// TestAdminEnforcementFlow: a rule added on the admin page is listed
// with its source, deadline and the coverage of its groups, applies at
// once, is changed and removed, each step in the audit log with the
// administrator and the rule's line; a change or removal of a rule that
// changed meanwhile is refused and changes nothing.
func TestAdminEnforcementFlow(t *testing.T) {
	e, root := ruleEnv(t, setup{})
	ctx := context.Background()
	if r := e.get(root, "/admin/enforcement"); r.status != 200 || !strings.Contains(r.body, `id="no-rules"`) {
		t.Fatalf("GET /admin/enforcement = %d, want 200 with no rule\n%s", r.status, r.body)
	}
	e.addRule(root, ruleForm("HPC", "2027-01-15", ""))
	const line = "second factor required for groups hpc from 2027-01-15"
	r := e.get(root, "/admin/enforcement?done=add")
	for _, want := range []string{`id="notice"`, line, "set on this page</span> by root, 2026-11-28 09:00", "from 2027-01-15: 48 days left",
		`<li class="coverage" data-group="hpc">1 of 2 members of hpc have a second factor</li>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the rules page lacks %q\n%s", want, r.body)
		}
	}
	if r := e.get(root, "/admin"); !strings.Contains(r.body, `<li class="coverage" data-group="hpc">1 of 2 members of hpc have a second factor</li>`) {
		t.Errorf("the users page lacks hpc's coverage\n%s", r.body)
	}
	noor, _ := e.svc.UserByName(ctx, "noor")
	if due, err := e.svc.SetupDue(ctx, noor); err != nil || !due.Applies || due.Deadline != time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC) {
		t.Errorf("SetupDue(noor) after the rule = %+v, %v, want from 2027-01-15 UTC", due, err)
	}
	m := seenRe.FindStringSubmatch(r.body)
	if m == nil || m[2] != line {
		t.Fatalf("no remove form with the rule's line:\n%s", r.body)
	}
	id := m[1]

	// Changed: physics too, except guests.
	r = e.post(root, "/admin/enforcement/"+id, with(ruleForm("hpc, physics", "2027-01-15", "guests"), "seen", line, "allow_empty", "1"))
	const line2 = "second factor required for groups hpc, physics from 2027-01-15 except groups guests"
	if r.status != http.StatusSeeOther || r.location != "/admin/enforcement?done=change" {
		t.Fatalf("change = %d %q\n%s", r.status, r.location, r.body)
	}
	if rs := e.storedRules(); len(rs) != 1 || rs[0].String() != line2 {
		t.Fatalf("stored rules after the change = %v", rs)
	}
	r = e.get(root, "/admin/enforcement")
	if !strings.Contains(r.body, `data-group="physics">0 of 1 members of physics have a second factor`) {
		t.Errorf("the rules page lacks physics' coverage\n%s", r.body)
	}
	// A page still showing the rule as it was changes nothing.
	for _, path := range []string{"/admin/enforcement/" + id, "/admin/enforcement/" + id + "/remove"} {
		if r := e.post(root, path, with(ruleForm("staff", "2027-02-01", ""), "seen", line)); r.status != http.StatusConflict ||
			!strings.Contains(r.body, "changed by someone else meanwhile") {
			t.Errorf("POST %s with the old line = %d, want 409\n%s", path, r.status, r.body)
		}
	}
	if rs := e.storedRules(); len(rs) != 1 || rs[0].String() != line2 {
		t.Errorf("stored rules after the refused changes = %v", rs)
	}
	if r := e.post(root, "/admin/enforcement/"+id+"/remove", url.Values{"seen": {line2}}); r.status != http.StatusSeeOther {
		t.Fatalf("remove = %d\n%s", r.status, r.body)
	}
	if rs := e.storedRules(); len(rs) != 0 {
		t.Errorf("stored rules after the removal = %v", rs)
	}
	if due, err := e.svc.SetupDue(ctx, noor); err != nil || due.Applies {
		t.Errorf("SetupDue(noor) after the removal = %+v, %v, want none", due, err)
	}
	for _, path := range []string{"/admin/enforcement/" + id + "/remove", "/admin/enforcement/" + id, "/admin/enforcement/x/remove"} {
		if r := e.post(root, path, with(ruleForm("hpc", "2027-01-15", ""), "seen", line2)); r.status != http.StatusNotFound {
			t.Errorf("POST %s of a removed rule = %d, want 404", path, r.status)
		}
	}
	for action, reason := range map[string]string{mfa.ActionRuleAdd: line, mfa.ActionRuleChange: line2 + " (was: " + line + ")", mfa.ActionRuleRemove: line2} {
		if l := e.auditLog(mfa.AuditFilter{Action: action}); len(l) != 1 || l[0].Actor != "root" || l[0].Reason != reason || l[0].Path != mfa.PathPage {
			t.Errorf("audit entries of %q = %+v, want one by root: %q", action, l, reason)
		}
	}
	r = e.get(root, "/admin/audit?action="+url.QueryEscape(mfa.ActionRuleChange))
	if !strings.Contains(r.body, line2+" (was: "+line+")") {
		t.Errorf("the audit page lacks the change\n%s", r.body)
	}
}

// with returns v with more fields set, in pairs.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// TestAdminEnforcementBadInput: a rule that names no group, an ill-formed
// or unknown group, a group both held and spared, a deadline in the past
// or not a date, oversized fields: refused with the reason on the page,
// the form as typed, nothing stored, nothing in the audit log. A change
// may keep a deadline that has passed, not set another one.
func TestAdminEnforcementBadInput(t *testing.T) {
	e, root := ruleEnv(t, setup{})
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	tests := []struct {
		name         string
		form         url.Values
		status       int
		want, echoed string
	}{
		{"no groups", ruleForm("", "2027-01-15", ""), 400, "The rule names no groups.", ""},
		{"only commas", ruleForm(" , ,", "2027-01-15", ""), 400, "The rule names no groups.", ""},
		{"ill-formed group", ruleForm("hpc, HPC Users", "2027-01-15", ""), 400, `Groups: group &#34;hpc users&#34;: group names follow the rules of user names.`, "hpc, HPC Users"},
		{"ill-formed except", ruleForm("hpc", "2027-01-15", "guests!"), 400, `Except groups: group &#34;guests!&#34;`, "guests!"},
		{"unknown group", ruleForm("hcp", "2027-01-15", ""), 400, `o user is in group &#34;hcp&#34;: check its spelling`, "hcp"},
		{"unknown except", ruleForm("hpc", "2027-01-15", "gusts"), 400, `o user is in group &#34;gusts&#34;`, "gusts"},
		{"held and spared", with(ruleForm("hpc", "2027-01-15", "hpc"), "allow_empty", "1"), 400, `roup &#34;hpc&#34; is both held by the rule and spared by it`, ""},
		{"deadline in the past", ruleForm("hpc", "2026-11-27", ""), 400, "eadline 2026-11-27 is in the past (today is 2026-11-28)", "2026-11-27"},
		{"not a date", ruleForm("hpc", "2027-02-30", ""), 400, `eadline &#34;2027-02-30&#34; is not a date in the form YYYY-MM-DD`, ""},
		{"other date form", ruleForm("hpc", "15.01.2027", ""), 400, `eadline &#34;15.01.2027&#34; is not a date in the form YYYY-MM-DD`, ""},
		{"short date", ruleForm("hpc", "2027-1-15", ""), 400, "is not a date in the form YYYY-MM-DD", ""},
		{"no deadline", ruleForm("hpc", " ", ""), 400, "The rule has no deadline", ""},
		{"long date", ruleForm("hpc", strings.Repeat("2027-01-15", 6), ""), 400, "he deadline is not a date in the form YYYY-MM-DD", ""},
		{"too many groups", with(ruleForm(strings.Join(many, ","), "2027-01-15", ""), "allow_empty", "1"), 400, "more than 64 groups", ""},
		{"groups too long", ruleForm(strings.Repeat("a", 1025), "2027-01-15", ""), 400, "list of groups is longer than 1024 bytes", ""},
		{"field over the form's limit", ruleForm("hpc", strings.Repeat("2", 65), ""), 400, `The field &#34;rule_deadline&#34; is too long.`, ""},
		{"field sent twice", url.Values{"rule_groups": {"hpc", "physics"}, "rule_deadline": {"2027-01-15"}}, 400, "sent more than once", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(root, "/admin/enforcement", tc.form)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Errorf("POST %v = %d, want %d with %q\n%s", tc.form, r.status, tc.status, tc.want, r.body)
			}
			if tc.echoed != "" && !strings.Contains(r.body, `value="`+tc.echoed+`"`) {
				t.Errorf("the refused form does not hold %q as typed", tc.echoed)
			}
		})
	}
	if rs := e.storedRules(); len(rs) != 0 {
		t.Errorf("refused rules stored: %v", rs)
	}
	// Today is in force at once; a group without members yet, when asked.
	e.addRule(root, with(ruleForm("physics, visitors", "2026-11-28", ""), "allow_empty", "1"))
	if l := e.auditLog(mfa.AuditFilter{Action: mfa.ActionRuleAdd}); len(l) != 1 {
		t.Errorf("audit entries of added rules = %+v, want the one added", l)
	}
	rs := e.storedRules()
	if len(rs) != 1 {
		t.Fatalf("stored rules = %v", rs)
	}
	id, line := fmt.Sprint(rs[0].ID), rs[0].String()
	gus, _ := e.svc.UserByName(context.Background(), "gus")
	if due, _ := e.svc.SetupDue(context.Background(), gus); !due.Required(e.clock.Now()) {
		t.Errorf("a rule from today: SetupDue(gus) = %+v, want required now", due)
	}
	// Three days on, its deadline is past: kept as it is, the rule may
	// change; moved to another day in the past, not.
	e.clock.Add(72 * time.Hour)
	r := e.post(root, "/admin/enforcement/"+id, with(ruleForm("physics, visitors", "2026-11-29", ""), "seen", line, "allow_empty", "1"))
	if r.status != 400 || !strings.Contains(r.body, "eadline 2026-11-29 is in the past") || !strings.Contains(r.body, `value="2026-11-29"`) {
		t.Errorf("change to another past deadline = %d\n%s", r.status, r.body)
	}
	r = e.post(root, "/admin/enforcement/"+id, with(ruleForm("physics, visitors", "2026-11-28", "guests"), "seen", line, "allow_empty", "1"))
	if r.status != http.StatusSeeOther {
		t.Errorf("change keeping the past deadline = %d\n%s", r.status, r.body)
	}
	// A group the rule had already needs no tick.
	r = e.post(root, "/admin/enforcement/"+id, with(ruleForm("physics, visitors", "2026-11-28", ""), "seen",
		"second factor required for groups physics, visitors from 2026-11-28 except groups guests"))
	if r.status != http.StatusSeeOther {
		t.Errorf("change keeping a group without members = %d\n%s", r.status, r.body)
	}
	if rs := e.storedRules(); len(rs) != 1 || rs[0].String() != "second factor required for groups physics, visitors from 2026-11-28" {
		t.Errorf("stored rules = %v", rs)
	}
}
