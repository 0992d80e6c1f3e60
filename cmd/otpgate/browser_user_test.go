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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// tab is one Chromium tab driven by visible words, with screenshots
// saved in dir.
type tab struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	name string
	n    int
}

// newTab starts a headless Chromium of its own (its own profile) with a
// window of the given size, and any further options.
func newTab(t *testing.T, chromium, dir, name string, width, height int64, extra ...chromedp.ExecAllocatorOption) *tab {
	t.Helper()
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
		chromedp.WindowSize(int(width), int(height)),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	b := &tab{t: t, ctx: ctx, dir: dir, name: name}
	var vopts []chromedp.EmulateViewportOption
	if width < 600 {
		vopts = append(vopts, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.do("viewport", chromedp.EmulateViewport(width, height, vopts...))
	return b
}

// dark switches prefers-color-scheme.
func (b *tab) dark(on bool) {
	b.t.Helper()
	v := "light"
	if on {
		v = "dark"
	}
	b.do("color scheme", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	}))
}

func (b *tab) shot(name string) string {
	b.t.Helper()
	ctx := b.ctx
	if ctx.Err() != nil {
		// A step that timed out still leaves a picture of the page.
		ctx = context.WithoutCancel(ctx)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	path := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", b.name, b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(step, " ", "-"))
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.shot("failed-read")
		b.t.Fatalf("%s: read %s: %v", b.name, sel, err)
	}
	return s
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return s
}

// click follows a link or submits a form by its visible label, and waits
// until the next page has loaded.
func (b *tab) click(label string) chromedp.Action[chromedp.Void] {
	return clickByLabel(label)
}

// visible waits for an element with exactly these visible words.
func visible(words string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(fmt.Sprintf(`//*[normalize-space()=%q]`, words))
}

// contains waits for an element whose visible words hold these.
func contains(words string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(fmt.Sprintf(`//*[not(*) and contains(normalize-space(), %q)]`, words))
}

// TestBrowserUserSide goes through what issue 15 asked of the pages, in
// Debian's chromium, at desktop and phone size: the site's name, a setup
// kept when the user comes back, same-phone setup, recovery codes on one
// line each with copy, print and download, the one form going on to the
// code prompt with messages that say what happened, the recovery path
// with how many codes are left, and dark mode. The phone run enrols under
// an SHA-256, 8-digit, 60-second policy; its QR code is decoded from the
// screenshot with zbarimg and its codes computed by oathtool.
func TestBrowserUserSide(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := testenv.LookPath(t, "chromium")
	zbarimg := testenv.LookPath(t, "zbarimg")
	oathtool := testenv.LookPath(t, "oathtool")
	shots, err := os.MkdirTemp("", "otpgate-browser-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	runs := []struct {
		name          string
		width, height int64
		flags         []string
		oath          []string
		digits        int
		period        time.Duration
	}{
		{"desktop", 1280, 900, nil, nil, 6, 30 * time.Second},
		{"phone", 390, 844, policyFlags, []string{"--totp=sha256", "--digits=8", "--time-step-size=60s"}, 8, 60 * time.Second},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			// The test gives wrong codes on purpose: more free ones than
			// the default 3.
			s := startServer(t, dir, append([]string{"-issuer", "CISM Nextcloud", "-throttle-code-free", "20", "-trust-browser-for", "720h"}, run.flags...)...)
			defer s.stop()
			addUser(t, dir, "jdoe", "jdoe password")
			b := newTab(t, chromium, shots, run.name, run.width, run.height)
			oath := func(secret string, at time.Time) string {
				t.Helper()
				args := []string{"--totp", "-b", "-N", at.UTC().Format("2006-01-02 15:04:05 UTC")}
				if run.oath != nil {
					args = append(run.oath, "-b", "-N", at.UTC().Format("2006-01-02 15:04:05 UTC"))
				}
				out, err := exec.Command(oathtool, append(args, secret)...).Output()
				if err != nil {
					t.Fatalf("oathtool: %v", err)
				}
				return strings.TrimSpace(string(out))
			}
			login := func(user, password, code string) {
				t.Helper()
				b.do("login form", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
					chromedp.SendKeys(chromedp.CSS("#username"), user),
					chromedp.SendKeys(chromedp.CSS("#password"), password),
					chromedp.SendKeys(chromedp.CSS("#otp"), code))
				b.do("sign in", b.click("Sign in"), chromedp.WaitVisible(chromedp.CSS("h1")))
			}

			// The site's name in the header and the title.
			login("jdoe", "jdoe password", "")
			if brand, title := b.text(".brand"), b.eval("document.title"); brand != "CISM Nextcloud" || !strings.HasSuffix(title, "· CISM Nextcloud") {
				t.Errorf("header %q, title %q, want the site's name", brand, title)
			}
			b.do("security", b.click("Personal settings"), b.click("Security"), visible("TOTP (Authenticator app)"))
			b.do("set up", b.click("Set up TOTP"), chromedp.WaitVisible(chromedp.CSS("#qr svg")), visible("Open in authenticator app"),
				visible("Copy key"))
			qrShot := b.shot("setup-qr")
			if run.digits == 8 {
				b.do("google warning", contains("Some versions of Google Authenticator ignore these settings"))
			}
			key1 := b.text("#key")
			if p := b.text("#params"); !strings.Contains(p, fmt.Sprintf("%d digits, every %d seconds", run.digits, int(run.period/time.Second))) {
				t.Errorf("manual entry says %q", p)
			}
			href := b.eval(`document.getElementById("open-app").getAttribute("href")`)
			if !strings.HasPrefix(href, "otpauth://totp/") {
				t.Errorf("Open in authenticator app links %q", href)
			}

			// Coming back shows the same key, and says so.
			b.do("back to security", b.click("Security"), visible("Continue setup"))
			b.shot("setup-in-progress")
			b.do("continue", b.click("Continue setup"), contains("This is the setup you started earlier"))
			if key2 := b.text("#key"); key2 != key1 {
				t.Errorf("coming back shows key %q, want %q", key2, key1)
			}
			b.shot("setup-resumed")

			// Scan the first screenshot as a phone's camera would.
			raw, err := exec.Command(zbarimg, "--raw", "-q", qrShot).Output()
			if err != nil {
				t.Fatalf("zbarimg %s: %v", qrShot, err)
			}
			uri, err := otp.ParseURI(strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatalf("the QR code does not hold a key URI: %v", err)
			}
			if uri.Issuer != "CISM Nextcloud" || uri.Account != "jdoe" || uri.Key.Digits != run.digits || uri.Key.Period != run.period {
				t.Errorf("QR code %q/%q, %d digits, %v, want CISM Nextcloud/jdoe, %d digits, %v", uri.Issuer, uri.Account, uri.Key.Digits, uri.Key.Period, run.digits, run.period)
			}
			secret := uri.Key.Secret.Base32()
			if typed := strings.ReplaceAll(key1, " ", ""); typed != secret {
				t.Errorf("the key to type differs from the QR code's")
			}
			start := time.Now()
			b.do("confirm", visible(fmt.Sprintf("Enter the %d-digit verification code your app shows to confirm the setup", run.digits)),
				chromedp.SendKeys(chromedp.CSS("#code"), oath(secret, start)), b.click("Confirm"),
				chromedp.WaitVisible(chromedp.CSS("#recovery-codes")), visible("Copy codes"), visible("Print codes"),
				visible("Download as a text file"))
			b.shot("recovery-codes")
			codes := strings.Fields(b.text("#recovery-codes"))
			if len(codes) != 10 {
				t.Fatalf("recovery codes shown: %d, want 10", len(codes))
			}
			// Each code on one line: as tall as one line of its text.
			if lines := b.eval(`Array.from(document.querySelectorAll("#recovery-codes code")).map(c => c.getClientRects().length).join(",")`); lines != "1,1,1,1,1,1,1,1,1,1" {
				t.Errorf("recovery codes' line boxes = %s, want one each", lines)
			}
			b.do("copy", b.clickInPlace("Copy codes"), visible("Copied"))

			// A second authenticator while the first stays, renamed, then
			// removed.
			b.do("add another", b.click("Continue"), visible("Add another authenticator"), b.click("Add another authenticator"),
				chromedp.WaitVisible(chromedp.CSS("#qr svg")))
			qr2 := b.shot("second-authenticator-qr")
			raw2, err := exec.Command(zbarimg, "--raw", "-q", qr2).Output()
			if err != nil {
				t.Fatalf("zbarimg %s: %v", qr2, err)
			}
			uri2, err := otp.ParseURI(strings.TrimSpace(string(raw2)))
			if err != nil || uri2.Key.Secret.Base32() == secret {
				t.Fatalf("second QR code: %v, or the first one's key", err)
			}
			b.do("name it", chromedp.Clear(chromedp.CSS("#auth-name")), chromedp.SendKeys(chromedp.CSS("#auth-name"), "Tablet"),
				chromedp.SendKeys(chromedp.CSS("#code"), oath(uri2.Key.Secret.Base32(), time.Now())), b.click("Confirm"),
				contains("Your new authenticator is added"), b.click("Continue"), visible("Remove Tablet"), visible("Remove Authenticator app"))
			b.shot("two-authenticators")
			field := `//label[normalize-space()="New name for Tablet"]/following-sibling::input[1]`
			b.do("rename", chromedp.Clear(field), chromedp.SendKeys(field, "Old tablet"), b.click("Rename Tablet"),
				visible("The authenticator was renamed."), visible("Remove Old tablet"))
			b.do("remove", b.click("Remove Old tablet"), contains("The authenticator was removed"))
			b.shot("authenticator-removed")
			b.do("sign out", b.click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

			// One form: right password, wrong code: on to the code prompt.
			login("jdoe", "jdoe password", strings.Repeat("1", run.digits))
			b.do("code prompt", visible("Verification code"), contains("That code is wrong."))
			b.shot("one-form-wrong-code")
			b.do("malformed", chromedp.SendKeys(chromedp.CSS("#code"), "12345"), b.click("Verify"),
				contains(fmt.Sprintf("Enter the %d digits your app shows", run.digits)))
			b.shot("malformed-code")
			b.do("clock off", chromedp.SendKeys(chromedp.CSS("#code"), oath(secret, time.Now().Add(-5*time.Minute))), b.click("Verify"),
				contains("your phone's clock seems to be about"))
			b.shot("clock-off")

			// The recovery path: a text field, then how many are left.
			b.do("recovery link", b.click("Use a recovery code"), visible("Enter one of your recovery codes"))
			if mode := b.eval(`document.getElementById("recovery").inputMode + "|" + document.getElementById("recovery").type`); mode != "|text" {
				t.Errorf("recovery field inputmode|type = %q, want a plain text field", mode)
			}
			b.shot("recovery-form")
			b.do("recovery code", chromedp.SendKeys(chromedp.CSS("#recovery"), strings.ToUpper(codes[0])), b.click("Verify"),
				contains("9 recovery codes are left"))
			b.shot("recovery-code-used")
			b.do("continue", b.click("Continue"), visible("Personal settings"))
			b.do("sign out", b.click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))

			// The same code twice: the second time says it was just used.
			login("jdoe", "jdoe password", "")
			if run.digits == 8 {
				b.do("8-digit prompt", visible("Enter the 8-digit code from your authenticator app"))
			}
			code := oath(secret, start.Add(run.period))
			b.do("verify", chromedp.SendKeys(chromedp.CSS("#code"), code), b.click("Verify"), visible("Personal settings"))
			b.do("sign out", b.click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))
			login("jdoe", "jdoe password", code)
			b.do("reused", contains("This code was just used"))
			b.shot("code-reused")

			// Trust this browser: the password is still asked, the code not.
			login("jdoe", "jdoe password", "")
			// (A recovery code: the real clock gives no fresh step yet.)
			b.do("trust box", visible("Don't ask for a code on this browser for 30 days"), b.click("Use a recovery code"),
				visible("Don't ask for a code on this browser for 30 days"),
				chromedp.SendKeys(chromedp.CSS("#recovery"), codes[2]), chromedp.Click(chromedp.CSS("#trust")))
			b.shot("trust-this-browser")
			b.do("verify trusted", b.click("Verify"), contains("recovery codes are left"), b.click("Continue"), visible("Personal settings"))
			b.do("sign out", b.click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))
			login("jdoe", "jdoe password", "")
			if h := b.text("h1"); h != "Personal settings" {
				b.shot("trusted-failed")
				t.Fatalf("a trusted browser was asked for a code: %q", h)
			}
			b.do("trusted list", b.click("Security"), visible("Trusted browsers"), contains("from 127.0.0.1"))
			b.shot("trusted-browsers")
			b.do("forget all", b.click("Forget all browsers"), visible("Every browser will be asked for a code again."))
			b.do("sign out", b.click("Sign out"), chromedp.WaitVisible(chromedp.CSS("#username")))
			login("jdoe", "jdoe password", "")
			if h := b.text("h1"); h != "Verification code" {
				t.Errorf("a forgotten browser: %q, want the code prompt", h)
			}

			// Dark mode.
			b.dark(true)
			b.do("login dark", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
			if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(17, 20, 24)" {
				t.Errorf("dark mode body background %s", bg)
			}
			b.shot("dark-login")
			login("jdoe", "jdoe password", "")
			b.do("dark recovery form", b.click("Use a recovery code"), visible("Enter one of your recovery codes"),
				chromedp.SendKeys(chromedp.CSS("#recovery"), codes[1]), b.click("Verify"), contains("7 recovery codes are left"),
				b.click("Continue"), b.click("Security"), visible("TOTP (Authenticator app)"))
			b.shot("dark-security")
			b.dark(false)
		})
	}
}

// clickInPlace clicks a button that changes the page without loading
// another.
func (b *tab) clickInPlace(label string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(fmt.Sprintf(`//button[normalize-space()=%q]`, label))
}

// addUser creates a user with the operator's command.
func addUser(t *testing.T, dir, name, password string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", name}, fastFlags...),
		func(string) string { return "" }, strings.NewReader(password+"\n"), &out, &errb); err != nil {
		t.Fatalf("user add: %v\n%s", err, errb.String())
	}
}

// policyFlags enrol new authenticators with SHA-256, 8 digits, 60 s.
var policyFlags = []string{"-totp-algorithm", "SHA256", "-totp-digits", "8", "-totp-period", "60s"}
