package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// pamModule finds Debian's pam_google_authenticator.so.
func pamModule(t testing.TB) {
	t.Helper()
	for _, dir := range []string{"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security", "/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security", "/lib/security", "/usr/lib/security"} {
		if _, err := os.Stat(filepath.Join(dir, "pam_google_authenticator.so")); err == nil {
			return
		}
	}
	testenv.SkipOrFail(t, "pam_google_authenticator.so not installed (libpam-google-authenticator)")
}

// pamAuth asks the stock PAM module, through pamtester, whether answer
// logs root in with the state file secret, at unix time at (faketime
// freezes the module's clock there: an absolute time in libfaketime's own
// format stops the clock, where "@time" would let it run on and a slow
// start would cross a 1-second step). Linux-PAM reads service files only
// from /etc/pam.d, so a private directory is bind-mounted over it in a
// mount namespace of its own. It reports success, and pamtester's output.
func pamAuth(t testing.TB, secret, answer string, at time.Time) (bool, string) {
	t.Helper()
	testenv.Root(t)
	pamModule(t)
	unshare := testenv.LookPath(t, "unshare")
	testenv.LookPath(t, "pamtester")
	testenv.LookPath(t, "faketime")
	pamd := t.TempDir()
	service := fmt.Sprintf("auth required pam_google_authenticator.so secret=%s user=root\n", secret)
	if err := os.WriteFile(filepath.Join(pamd, "otpgate-test"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "--mount", "sh", "-c",
		`mount --bind "$1" /etc/pam.d && exec env TZ=UTC faketime -f "$2" pamtester -v otpgate-test root authenticate`,
		"sh", pamd, at.UTC().Format("2006-01-02 15:04:05"))
	cmd.Stdin = strings.NewReader(answer)
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Authentication failure") {
		t.Fatalf("pamtester did not run: %v\n%s", err, out)
	}
	return err == nil, string(out)
}

// TestPAMAcceptsOurFiles writes a file for every option combination that
// changes the file and logs in with the stock PAM module: with the code
// the app shows at that moment (time-based, at the chosen step size) or
// its first code (counter-based), and, where there are scratch codes,
// with the first of them.
func TestPAMAcceptsOurFiles(t *testing.T) {
	testenv.Root(t)
	for i, c := range fileCombos() {
		dir := t.TempDir()
		args := append(c.args, "-q", "-Q", "NONE", "-s", "FILE")
		r := runIn(t, dir, invocation{args: args, seed: uint64(i)})
		if r.status != 0 {
			t.Fatalf("%q: status %d, %s", args, r.status, r.stderr)
		}
		lines := strings.Split(string(r.file), "\n")
		secret, err := otp.DecodeSecret(lines[0])
		if err != nil {
			t.Fatal(err)
		}
		key := otp.Key{Secret: secret, Period: time.Duration(c.step) * time.Second}
		code := key.HOTP(1)
		if c.totp {
			code = key.TOTP(testTime)
		}
		path := filepath.Join(dir, "FILE")
		if ok, out := pamAuth(t, path, code, testTime); !ok {
			t.Errorf("%q: the stock module refused the code %s for\n%s\n%s", args, code, r.file, out)
		}
		if last := lines[len(lines)-2]; len(last) == 8 {
			// A scratch code, a minute later (after the rate limit's window of
			// 30 seconds; the other combinations allow 10 logins).
			if ok, out := pamAuth(t, path, last, testTime.Add(time.Minute)); !ok {
				t.Errorf("%q: the stock module refused scratch code %s:\n%s", args, last, out)
			}
		}
	}
}

// TestPAMRefuses shows that the login check above can fail: a wrong code,
// and the right code for another moment, are refused.
func TestPAMRefuses(t *testing.T) {
	dir := t.TempDir()
	r := runIn(t, dir, invocation{args: []string{"-t", "-D", "-f", "-u", "-w", "1", "-C", "-q", "-s", "FILE"}})
	secret, err := otp.DecodeSecret(strings.SplitN(string(r.file), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	path := filepath.Join(dir, "FILE")
	wrong := []byte(key.TOTP(testTime))
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	for _, answer := range []string{string(wrong), key.TOTP(testTime.Add(-30 * time.Second))} {
		if ok, out := pamAuth(t, path, answer, testTime); ok {
			t.Errorf("the stock module accepted %s for window 1:\n%s", answer, out)
		}
	}
}
