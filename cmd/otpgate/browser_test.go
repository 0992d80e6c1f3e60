package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// TestBrowserUserGuide goes through the user guide in Debian's chromium:
// first administrator setup, a user created by the operator, sign-in,
// Personal settings → Security → TOTP (Authenticator app) → Set up TOTP,
// the QR code decoded from a screenshot with zbarimg, the code computed by
// oathtool, confirmation, sign out, the two-step and the one-form logins, a
// replayed code refused, a recovery code, TOTP disabled. The screenshots
// stay in the folder the test prints.
func TestBrowserUserGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := testenv.LookPath(t, "chromium")
	zbarimg := testenv.LookPath(t, "zbarimg")
	oathtool := testenv.LookPath(t, "oathtool")

	shots, err := os.MkdirTemp("", "otpgate-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	defer s.stop()
	link := setupRe.FindStringSubmatch(s.stdout.String())
	if link == nil {
		t.Fatalf("no setup link:\n%s", s.stdout)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 1400),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	n := 0
	shot := func(name string) string {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		n++
		path := filepath.Join(shots, fmt.Sprintf("%02d-%s.png", n, name))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot("failed-" + strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			shot("failed-read")
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	click := clickByLabel
	oath := func(secret string, at time.Time) string {
		t.Helper()
		out, err := exec.Command(oathtool, "--totp", "-b", "-N", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	login := func(user, password, code string) {
		t.Helper()
		do("login form", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.SendKeys(chromedp.CSS("#otp"), code))
		do("sign in", click("Sign in"), chromedp.WaitVisible(chromedp.CSS("h1")))
	}

	// First administrator.
	do("setup page", chromedp.Navigate(s.url+link[1]), chromedp.WaitVisible(chromedp.CSS("#username")))
	shot("first-admin-setup")
	do("create admin", chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), "admin password"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "admin password"),
		click("Create administrator"), chromedp.WaitVisible(chromedp.CSS("#notice")))
	shot("admin-led-to-totp-setup")
	do("admin signs out", click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

	// The operator creates a user.
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "jdoe"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("jdoe password\n"), &out, &errb); err != nil {
		t.Fatalf("user add: %v\n%s", err, errb.String())
	}

	// Log in, Personal settings → Security → TOTP (Authenticator app) → Set up TOTP.
	login("jdoe", "jdoe password", "")
	do("personal settings", click("Personal settings"), chromedp.WaitVisible(`//h1[text()="Personal settings"]`))
	shot("personal-settings")
	do("security", click("Security"), chromedp.WaitVisible(`//h2[text()="TOTP (Authenticator app)"]`))
	shot("security")
	do("set up totp", click("Set up TOTP"), chromedp.WaitVisible(chromedp.CSS("#qr svg")))
	qrShot := shot("totp-qr-code")

	// Scan: decode the screenshot as a phone's camera would.
	raw, err := exec.Command(zbarimg, "--raw", "-q", qrShot).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", qrShot, err)
	}
	uri, err := otp.ParseURI(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("the QR code does not hold a key URI: %v", err)
	}
	if uri.Issuer != "otpgate" || uri.Account != "jdoe" {
		t.Errorf("QR code issuer %q account %q, want otpgate and jdoe", uri.Issuer, uri.Account)
	}
	secret := uri.Key.Secret.Base32()
	if typed := strings.ReplaceAll(text("#key"), " ", ""); typed != secret {
		t.Errorf("the key to type differs from the QR code's")
	}
	start := time.Now()
	do("confirm", chromedp.SendKeys(chromedp.CSS("#code"), oath(secret, start)), click("Confirm"),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	shot("totp-enabled-recovery-codes")
	codes := strings.Fields(text("#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %d, want 10", len(codes))
	}
	do("sign out", click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

	// Two-step login (Nextcloud): the code on a second page.
	login("jdoe", "jdoe password", "")
	if h := text("h1"); h != "Verification code" {
		t.Fatalf("after the password: %q, want the verification code page", h)
	}
	shot("second-step")
	code2 := oath(secret, start.Add(30*time.Second))
	do("verify", chromedp.SendKeys(chromedp.CSS("#code"), code2), click("Verify"),
		chromedp.WaitVisible(`//h1[text()="Personal settings"]`))
	shot("signed-in-two-step")
	do("sign out", click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

	// The same code again, on the one form (JupyterLab): refused.
	login("jdoe", "jdoe password", code2)
	if e := text("#error"); !strings.Contains(e, "This code was just used") {
		t.Errorf("replayed code: %q, want a refusal", e)
	}
	shot("replayed-code-refused")

	// One-form login with a fresh code: wait for the next time step, since
	// the server runs on the real clock.
	stepOf := func(t time.Time) int64 { return t.Unix() / 30 }
	for stepOf(time.Now()) == stepOf(start) {
		time.Sleep(200 * time.Millisecond)
	}
	login("jdoe", "jdoe password", oath(secret, time.Now().Add(30*time.Second)))
	if h := text("h1"); h != "Personal settings" {
		shot("one-form-failed")
		t.Fatalf("one-form login: %q, want Personal settings", h)
	}
	shot("signed-in-one-form")
	do("sign out", click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

	// A recovery code in place of the app's code.
	login("jdoe", "jdoe password", "")
	do("recovery code", click("Use a recovery code"), chromedp.WaitVisible(chromedp.CSS("#recovery")),
		chromedp.SendKeys(chromedp.CSS("#recovery"), codes[0]), click("Verify"),
		chromedp.WaitVisible(`//h1[text()="Recovery code used"]`), click("Continue"),
		chromedp.WaitVisible(`//h1[text()="Personal settings"]`))
	do("security", click("Security"), chromedp.WaitVisible(chromedp.CSS("#recovery-left")))
	if left := text("#recovery-left"); !strings.Contains(left, "9 unused recovery codes") {
		t.Errorf("after using a recovery code: %q, want 9 left", left)
	}
	shot("recovery-code-used")

	// Disable TOTP: minutes after signing in with both factors, nothing
	// more is asked (a stale session is asked the password and a code,
	// TestLastingChangesNeedProof).
	do("disable", click("Disable TOTP"), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if notice := text("#notice"); !strings.Contains(notice, "TOTP is disabled") {
		t.Errorf("after disabling: %q", notice)
	}
	shot("totp-disabled")
	do("sign out", click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))
	login("jdoe", "jdoe password", "")
	if h := text("h1"); h != "Personal settings" {
		t.Errorf("password-only login after disabling: %q", h)
	}
	shot("password-only-again")
}

// clickByLabel follows a link or submits a form by its visible label, and
// waits until the next page has loaded.
func clickByLabel(label string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[bool]("window.otpgateOldPage = true")(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		sel := fmt.Sprintf(`//*[(self::a or self::button) and normalize-space()=%q]`, label)
		if _, err := chromedp.Click(sel)(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		for {
			loaded, err := chromedp.Evaluate[bool]("window.otpgateOldPage === undefined && document.readyState === 'complete'")(ctx, tg)
			if err == nil && loaded {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("click %q: next page never loaded: %w", label, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}
