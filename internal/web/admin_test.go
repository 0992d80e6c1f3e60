package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
)

// adminEnv has root, an administrator signed in on the returned client
// with a second factor, hana with TOTP and noor without.
func adminEnv(t *testing.T) (*env, *http.Client) {
	t.Helper()
	e := newEnv(t, setup{})
	root := e.signInAdmin()
	e.addUser("hana")
	h := e.client()
	e.login(h, "hana", "", "/settings")
	e.enroll(h)
	e.addUser("noor")
	return e, root
}

// signInAdmin adds root, an administrator, sets up its TOTP and returns
// a client signed in as root with it (the clock a step later).
func (e *env) signInAdmin() *http.Client {
	e.t.Helper()
	if _, err := e.svc.CreateUser(context.Background(), mfa.NewUser{Name: "root", Password: testPassword, Admin: true}); err != nil {
		e.t.Fatal(err)
	}
	root := e.client()
	e.login(root, "root", "", "/settings")
	key, _ := e.enroll(root)
	e.nextStep()
	root = e.client()
	e.login(root, "root", key.TOTP(e.clock.Now()), "/settings")
	return root
}

// TestAdminRefusesOthers: the admin pages and their actions refuse a
// signed-in user who is no administrator, an administrator without a
// second factor, a forged cross-site form and no session, and change
// nothing.
func TestAdminRefusesOthers(t *testing.T) {
	e, root := adminEnv(t)
	noor := e.client()
	e.login(noor, "noor", "", "/settings")
	if _, err := e.svc.CreateUser(context.Background(), mfa.NewUser{Name: "admin2", Password: testPassword, Admin: true}); err != nil {
		t.Fatal(err)
	}
	admin2 := e.client()
	e.login(admin2, "admin2", "", "/settings")
	e.addRule(root, url.Values{"rule_groups": {"hpc"}, "rule_deadline": {"2099-01-15"}, "allow_empty": {"1"}})
	const rule = "second factor required for groups hpc from 2099-01-15"
	ruleForm := url.Values{"rule_groups": {"staff"}, "rule_deadline": {"2099-02-01"}, "allow_empty": {"1"}, "seen": {rule}}
	for _, c := range []struct {
		name   string
		client *http.Client
		want   int
	}{{"non-admin", noor, 403}, {"admin without a second factor", admin2, 403}, {"no session", e.client(), 303}} {
		for _, path := range []string{"/admin", "/admin/audit", "/admin/users/hana", "/admin/enforcement"} {
			if r := e.get(c.client, path); r.status != c.want {
				t.Errorf("%s: GET %s = %d, want %d", c.name, path, r.status, c.want)
			}
		}
		if r := e.post(c.client, "/admin/users", url.Values{"username": {"mallory"}, "new": {"a new password!"}, "confirm": {"a new password!"}, "admin": {"1"}}); r.status != c.want {
			t.Errorf("%s: POST /admin/users = %d, want %d", c.name, r.status, c.want)
		}
		for _, action := range []string{"reset-totp", "disable", "password", "sessions/end-all", "delete", "profile"} {
			r := e.post(c.client, "/admin/users/hana/"+action, url.Values{"new": {"a new password!"}, "confirm": {"a new password!"}})
			if r.status != c.want {
				t.Errorf("%s: POST %s = %d, want %d", c.name, action, r.status, c.want)
			}
		}
		for _, path := range []string{"/admin/enforcement", "/admin/enforcement/1", "/admin/enforcement/1/remove"} {
			if r := e.post(c.client, path, ruleForm); r.status != c.want {
				t.Errorf("%s: POST %s = %d, want %d", c.name, path, r.status, c.want)
			}
		}
	}
	// A cross-site form posted from the administrator's browser.
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/users/hana/reset-totp", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := e.do(root, req); r.status != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", r.status)
	}
	for _, path := range []string{"/admin/enforcement", "/admin/enforcement/1", "/admin/enforcement/1/remove"} {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(ruleForm.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if r := e.do(root, req); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d, want 403", path, r.status)
		}
	}
	if rs := e.storedRules(); len(rs) != 1 || rs[0].String() != rule {
		t.Errorf("enforcement rules after the refused requests = %v, want only %q", rs, rule)
	}
	if l := e.auditLog(mfa.AuditFilter{Action: mfa.ActionRuleAdd}); len(l) != 1 || len(e.auditLog(mfa.AuditFilter{Action: mfa.ActionRuleChange})) != 0 ||
		len(e.auditLog(mfa.AuditFilter{Action: mfa.ActionRuleRemove})) != 0 {
		t.Errorf("audit log of rules after the refused requests: %+v, want root's one addition", l)
	}
	if _, err := e.svc.UserByName(context.Background(), "mallory"); err == nil {
		t.Errorf("a refused request added mallory")
	}
	hana, err := e.svc.UserByName(context.Background(), "hana")
	if err != nil || hana.Disabled || len(hana.Groups) != 0 {
		t.Fatalf("hana after the refused actions: %+v, %v", hana, err)
	}
	if has, _ := e.svc.HasTOTP(context.Background(), hana.ID); !has {
		t.Errorf("hana's TOTP was reset by a refused request")
	}
	if ok, _ := e.svc.CheckPassword(context.Background(), hana, testPassword); !ok {
		t.Errorf("hana's password was changed by a refused request")
	}
}

// TestAdminActions: search and paging, then each action on the server,
// recorded in the audit log with the administrator as actor.
func TestAdminActions(t *testing.T) {
	e, root := adminEnv(t)
	for i := range 60 {
		e.addUser(fmt.Sprintf("u%03d", i))
	}
	r := e.get(root, "/admin?q=ha")
	if r.status != 200 || !strings.Contains(r.body, `href="/admin/users/hana"`) || !strings.Contains(r.body, `<td class="factor">store</td>`) || strings.Contains(r.body, "noor") {
		t.Errorf("search ha = %d\n%s", r.status, r.body)
	}
	r = e.get(root, "/admin?q=U")
	if n := strings.Count(r.body, `class="user"`); n != 50 || !strings.Contains(r.body, `id="next-page" href="/admin?after=u049&amp;q=u"`) {
		t.Errorf("first page of u: %d users, want 50 and a next page\n%s", n, r.body)
	}
	r = e.get(root, "/admin?q=u&after=u049")
	if n := strings.Count(r.body, `class="user"`); n != 10 || strings.Contains(r.body, "next-page") {
		t.Errorf("second page of u: %d users, want 10 and no next page", n)
	}
	steps := []struct {
		action string
		form   url.Values
		check  func(u mfa.User) string
	}{
		{"reset-totp", nil, func(u mfa.User) string {
			if has, _ := e.svc.HasTOTP(context.Background(), u.ID); has {
				return "still has TOTP"
			}
			return ""
		}},
		{"disable", nil, func(u mfa.User) string { return map[bool]string{false: "not disabled"}[u.Disabled] }},
		{"enable", nil, func(u mfa.User) string { return map[bool]string{true: "still disabled"}[u.Disabled] }},
		{"password", url.Values{"new": {"another password 1"}, "confirm": {"another password 1"}}, func(u mfa.User) string {
			if ok, _ := e.svc.CheckPassword(context.Background(), u, "another password 1"); !ok {
				return "password not set"
			}
			return ""
		}},
		{"sessions/end-all", nil, func(u mfa.User) string {
			if s, _ := e.svc.UserSessions(context.Background(), u.ID); len(s) != 0 {
				return fmt.Sprintf("%d sessions left", len(s))
			}
			return ""
		}},
	}
	for _, st := range steps {
		r := e.post(root, "/admin/users/hana/"+st.action, st.form)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/users/hana?done=") {
			t.Errorf("POST %s = %d %q\n%s", st.action, r.status, r.location, r.body)
			continue
		}
		u, _ := e.svc.UserByName(context.Background(), "hana")
		if msg := st.check(u); msg != "" {
			t.Errorf("after %s: %s", st.action, msg)
		}
	}
	r = e.post(root, "/admin/users", url.Values{"username": {"Zed"}, "display_name": {"Zed Z."}, "groups": {"hpc, staff"}, "mail": {"zed@example.org"},
		"new": {"zed password 12"}, "confirm": {"zed password 12"}})
	if r.status != http.StatusSeeOther || r.location != "/admin/users/zed?done=add" {
		t.Errorf("add zed = %d %q\n%s", r.status, r.location, r.body)
	}
	if zed, err := e.svc.UserByName(context.Background(), "zed"); err != nil || zed.Mail != "zed@example.org" || fmt.Sprint(zed.Groups) != "[hpc staff]" || zed.Admin {
		t.Errorf("zed = %+v, %v", zed, err)
	}
	if r := e.post(root, "/admin/users", url.Values{"username": {"zed"}, "new": {"zed password 12"}, "confirm": {"zed password 12"}}); r.status != http.StatusConflict {
		t.Errorf("add zed again = %d, want 409", r.status)
	}
	if r := e.post(root, "/admin/users", url.Values{"username": {"y z"}, "new": {"zed password 12"}, "confirm": {"zed password 12"}}); r.status != http.StatusBadRequest {
		t.Errorf("add a bad name = %d, want 400", r.status)
	}
	r = e.post(root, "/admin/users/hana/profile", url.Values{"display_name": {"Hana H."}, "groups": {"hpc"}, "mail": {"hana@example.org"}})
	if hana, _ := e.svc.UserByName(context.Background(), "hana"); r.status != http.StatusSeeOther || fmt.Sprint(hana.Groups) != "[hpc]" || hana.Mail != "hana@example.org" {
		t.Errorf("profile of hana = %d, %+v", r.status, hana)
	}
	if r := e.post(root, "/admin/users/hana/profile", url.Values{"groups": {"a b"}}); r.status != http.StatusBadRequest {
		t.Errorf("a bad group = %d, want 400", r.status)
	}
	if !e.events.has(mfa.EventFactorReset, "hana") {
		t.Errorf("no EventFactorReset for hana")
	}
	if r := e.post(root, "/admin/users/hana/password", url.Values{"new": {"short"}, "confirm": {"short"}}); r.status != 400 {
		t.Errorf("a password too short = %d, want 400", r.status)
	}
	if r := e.post(root, "/admin/users/root/delete", url.Values{"confirm": {"root"}}); r.status != 400 {
		t.Errorf("deleting oneself = %d, want 400", r.status)
	}
	if r := e.post(root, "/admin/users/noor/delete", url.Values{"confirm": {"nor"}}); r.status != 400 {
		t.Errorf("delete without the name typed = %d, want 400", r.status)
	}
	if r := e.post(root, "/admin/users/noor/delete", url.Values{"confirm": {"noor"}}); r.status != 303 {
		t.Errorf("delete noor = %d, want 303", r.status)
	}
	if _, err := e.svc.UserByName(context.Background(), "noor"); err == nil {
		t.Errorf("noor still exists")
	}
	for _, action := range []string{mfa.ActionReset, mfa.ActionDisable, mfa.ActionEnable, mfa.ActionSetPassword, mfa.ActionEndSessions, mfa.ActionProfile} {
		if l := e.auditLog(mfa.AuditFilter{User: "hana", Action: action}); len(l) != 1 || l[0].Actor != "root" || l[0].Path != mfa.PathPage {
			t.Errorf("audit entries of %s on hana = %+v, want one by root on the pages", action, l)
		}
	}
	r = e.get(root, "/admin/audit?user=hana&action="+url.QueryEscape(mfa.ActionReset))
	if r.status != 200 || strings.Count(r.body, `class="entry"`) != 1 || !strings.Contains(r.body, "<td>root</td>") {
		t.Errorf("audit page filtered = %d\n%s", r.status, r.body)
	}
	r = e.get(root, "/admin/audit?failed=1")
	if r.status != 200 || strings.Contains(r.body, `class="result">ok<`) {
		t.Errorf("audit page of refusals shows successes\n%s", r.body)
	}
}
