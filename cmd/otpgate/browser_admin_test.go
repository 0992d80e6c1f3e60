package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// TestBrowserAdmin goes through the admin pages in Debian's chromium: the
// administrator requires a second factor of group hpc from today on the
// rules page, finds hana, of hpc, and resets her TOTP (a lost phone);
// hana, in a browser of her own, is made to set up a new one at her next
// sign-in before anything else; the administrator then sees the audit
// entries of all of it.
func TestBrowserAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := testenv.LookPath(t, "chromium")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	add := func(args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		name := args[len(args)-1]
		if err := run(context.Background(), append(append([]string{"user", "add", "-data-dir", dir, "--password-stdin"}, fastFlags...), args...),
			func(string) string { return "" }, strings.NewReader(name+" password\n"), &out, &errb); err != nil {
			t.Fatalf("user add %v: %v\n%s", args, err, errb.String())
		}
	}
	add("-admin", "root")
	add("--groups", "hpc", "hana")
	s := startServer(t, dir)
	defer s.stop()
	// root and hana set up TOTP through the JSON API, as "otpgate enrol" does.
	enrol := func(name string) otp.Key {
		t.Helper()
		var enr api.EnrolResponse
		postJSON(t, s.url+"/api/v1/enrol", api.EnrolRequest{Username: name, Password: name + " password"}, &enr)
		secret, err := otp.DecodeSecret(enr.Key)
		if err != nil {
			t.Fatalf("enrol %s: %+v", name, enr)
		}
		key := otp.Key{Secret: secret}
		if st := postJSON(t, s.url+"/api/v1/enrol/confirm", api.EnrolConfirmRequest{Username: name, ID: enr.ID, Code: key.TOTP(time.Now())}, &enr); st != 200 {
			t.Fatalf("enrol confirm %s = %d %+v", name, st, enr)
		}
		return key
	}
	rootKey := enrol("root")
	enrol("hana")

	shots, err := os.MkdirTemp("", "otpgate-admin-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 1400))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	admin, cancel := chromedp.NewContext(actx)
	defer cancel()
	admin, cancelTimeout := context.WithTimeout(admin, 3*time.Minute)
	defer cancelTimeout()
	if err := chromedp.Do(admin, chromedp.Navigate(s.url+"/login")); err != nil {
		t.Fatal(err)
	}
	// hana's browser: its own cookies.
	user, cancelUser := chromedp.NewContext(admin, chromedp.WithNewBrowserContext())
	defer cancelUser()

	n := 0
	shot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		n++
		os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", n, name)), png, 0o644)
	}
	do := func(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			shot(ctx, "failed-read")
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	click := clickByLabel
	login := func(ctx context.Context, name, code string) {
		t.Helper()
		do(ctx, "login form", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), name), chromedp.SendKeys(chromedp.CSS("#password"), name+" password"),
			chromedp.SendKeys(chromedp.CSS("#otp"), code))
		do(ctx, "sign in", click("Sign in"), chromedp.WaitVisible(chromedp.CSS("h1")))
	}

	// The administrator finds hana and resets her second factor.
	login(admin, "root", rootKey.TOTP(time.Now().Add(30*time.Second)))
	do(admin, "admin pages", click("Admin"), chromedp.WaitVisible(chromedp.CSS("#q")))
	// From today: in force at once (the server's zone is this process's).
	today := time.Now().Format(time.DateOnly)
	do(admin, "rules page", click("Second factor by group"), chromedp.WaitVisible(chromedp.CSS("#rule_groups")))
	do(admin, "add a rule", chromedp.SendKeys(chromedp.CSS("#rule_groups"), "hpc"), chromedp.SendKeys(chromedp.CSS("#rule_deadline"), today),
		click("Add rule"), chromedp.WaitVisible(chromedp.CSS("#notice")))
	shot(admin, "admin-rule")
	if r := text(admin, ".rule-text"); r != "second factor required for groups hpc from "+today {
		t.Errorf("the rule listed: %q", r)
	}
	if c := text(admin, ".rule .coverage"); c != "1 of 1 members of hpc have a second factor" {
		t.Errorf("the rule's coverage: %q", c)
	}
	do(admin, "users page", click("Users"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if c := text(admin, ".coverage"); c != "1 of 1 members of hpc have a second factor" {
		t.Errorf("coverage: %q", c)
	}
	do(admin, "search", chromedp.SendKeys(chromedp.CSS("#q"), "ha"), click("Search"), chromedp.WaitVisible(chromedp.CSS("#users")))
	shot(admin, "admin-search")
	if rows := text(admin, "#users tbody"); !strings.Contains(rows, "hana") || strings.Contains(rows, "root") {
		t.Errorf("search ha: %q, want hana alone", rows)
	}
	do(admin, "open hana", click("hana"), chromedp.WaitVisible(chromedp.CSS("#factor")))
	if f := text(admin, "#factor"); f != "store" {
		t.Errorf("hana's factor: %q, want store", f)
	}
	do(admin, "reset", click("Reset second factor (lost phone)"), chromedp.WaitVisible(chromedp.CSS("#notice")))
	shot(admin, "admin-reset")
	if f := text(admin, "#factor"); f != "none" {
		t.Errorf("hana's factor after the reset: %q, want none", f)
	}

	// hana signs in: her group's deadline has passed, so she must set up
	// a new second factor before anything else.
	login(user, "hana", "")
	shot(user, "hana-must-set-up")
	if h := text(user, "h1"); h != "Security" {
		t.Fatalf("hana after her password: %q, want the Security page", h)
	}
	if p := text(user, "main"); !strings.Contains(p, "Your organisation requires it") {
		t.Errorf("the setup page does not say it is required:\n%s", p)
	}
	do(user, "settings refused", chromedp.Navigate(s.url+"/settings"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(user, "h1"); h == "Personal settings" {
		t.Errorf("hana reached Personal settings before setting up a second factor")
	}
	do(user, "set up", chromedp.Navigate(s.url+"/settings/security"), chromedp.WaitVisible(chromedp.CSS("h1")), click("Set up TOTP"),
		chromedp.WaitVisible(chromedp.CSS("#key")))
	secret, err := otp.DecodeSecret(strings.ReplaceAll(text(user, "#key"), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	do(user, "confirm", chromedp.SendKeys(chromedp.CSS("#code"), otp.Key{Secret: secret}.TOTP(time.Now())), click("Confirm"),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	shot(user, "hana-set-up")

	// The administrator reads the audit log of it all.
	do(admin, "audit log", chromedp.Navigate(s.url+"/admin/audit?user=hana"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	shot(admin, "admin-audit")
	log := text(admin, "table.audit tbody")
	for _, want := range []string{"reset second factor", "root", "setup_required", "second factor required: set it up first",
		"enrolment", "second factor added"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit page lacks %q:\n%s", want, log)
		}
	}
	do(admin, "audit log of rules", chromedp.Navigate(s.url+"/admin/audit?action=add+enforcement+rule"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if log := text(admin, "table.audit tbody"); !strings.Contains(log, "root") || !strings.Contains(log, "second factor required for groups hpc from "+today) {
		t.Errorf("the audit page lacks the rule's addition:\n%s", log)
	}
}

// postJSON posts body as JSON and decodes the answer into into.
func postJSON(t *testing.T, url string, body, into any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	r, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	json.NewDecoder(r.Body).Decode(into)
	return r.StatusCode
}
