package pam

import (
	"os"

	"github.com/otpgate/otpgate/internal/testenv"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// want is the outcome a pamtester run must have: success, or the text of
// the PAM error it must print.
func (r pamResult) check(t *testing.T, what string, wantOK bool, wantText string) {
	t.Helper()
	if r.ok != wantOK || (wantText != "" && !strings.Contains(r.out, wantText)) {
		t.Errorf("%s: ok = %v, want %v (want output with %q); pamtester said:\n%s", what, r.ok, wantOK, wantText, r.out)
	}
}

func authStack(t testing.TB, args string) stack {
	return newStack(t, "auth required pam_permit.so", "auth required MODULE "+args)
}

// TestCodeOnce: the right code passes once, with every PAM item sent to
// the server, and its replay fails.
func TestCodeOnce(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	st := authStack(t, otpgateArgs(t, s))
	code := key.TOTP(time.Now())
	pamtesterItems(t, []string{"rhost=192.0.2.7", "tty=pts/3"}, st, "alice", code+"\n").
		check(t, "right code", true, succeededText)
	req := s.lastRequest()
	for k, v := range map[string]string{"user": "alice", "code": code, "service": st.name, "rhost": "192.0.2.7", "tty": "pts/3"} {
		if req[k] != v {
			t.Errorf("request %s = %v, want %q", k, req[k], v)
		}
	}
	if _, ok := req["password"]; ok {
		t.Errorf("request has a password without pass_password: %v", req)
	}
	pamtester(t, st, "alice", code+"\n").check(t, "replayed code", false, authErr)
}

// TestRefusals: wrong codes until the server throttles (its message shown),
// empty codes with and without optional, a disabled user.
func TestRefusals(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	s.addUser(t, "bob", false)
	s.addUser(t, "carol", true)
	s.disable("carol")
	plain := authStack(t, otpgateArgs(t, s))
	optional := authStack(t, otpgateArgs(t, s, "optional"))

	wrong := []byte(key.TOTP(time.Now()))
	wrong[0] = '0' + (wrong[0]-'0'+5)%10
	for i := range maxFailures {
		pamtester(t, plain, "alice", string(wrong)+"\n").check(t, "wrong code "+strconv.Itoa(i+1), false, authErr)
	}
	r := pamtester(t, plain, "alice", key.TOTP(time.Now())+"\n")
	r.check(t, "right code once throttled", false, authErr)
	r.check(t, "throttle message", false, "Too many wrong codes")

	for _, tc := range []struct {
		name   string
		st     stack
		user   string
		wantOK bool
		text   string
	}{
		{"empty code, second factor, not optional", plain, "alice", false, authErr},
		{"empty code, second factor, optional", optional, "alice", false, authErr},
		{"empty code, no second factor, not optional", plain, "bob", false, authErr},
		{"empty code, no second factor, optional", optional, "bob", true, succeededText},
		{"disabled user", plain, "carol", false, "This account may not sign in."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pamtester(t, tc.st, tc.user, "\n").check(t, tc.name, tc.wantOK, tc.text)
		})
	}
}

// TestUnavailable: every way of getting no verdict fails closed with
// PAM_AUTHINFO_UNAVAIL, within the timeout.
func TestUnavailable(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	_, helper := built(t)
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := newCA(t)
	stopped := newFakeServer(t)
	stopped.Close()
	slow := newFakeServer(t)
	slow.addUser(t, "alice", true)
	slow.setDelay(10 * time.Second)
	pidFile := filepath.Join(dir, "hang.pid")

	base := "url=" + s.URL + " cafile=" + s.ca.pemFile + " tokenfile=" + writeToken(t, s.token)
	openToken := writeToken(t, s.token)
	if err := os.Chmod(openToken, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    string
		timeout time.Duration
	}{
		{"unknown host token", "url=" + s.URL + " cafile=" + s.ca.pemFile + " tokenfile=" + writeToken(t, "not-a-host-token") + " helper=" + helper, 3 * time.Second},
		{"server stopped", "url=" + stopped.URL + " cafile=" + stopped.ca.pemFile + " tokenfile=" + writeToken(t, stopped.token) + " helper=" + helper, 3 * time.Second},
		{"slow server", "url=" + slow.URL + " cafile=" + slow.ca.pemFile + " tokenfile=" + writeToken(t, slow.token) + " helper=" + helper + " timeout=1", time.Second},
		{"untrusted certificate", "url=" + s.URL + " cafile=" + other.pemFile + " tokenfile=" + writeToken(t, s.token) + " helper=" + helper, 3 * time.Second},
		{"token file readable by others", "url=" + s.URL + " cafile=" + s.ca.pemFile + " tokenfile=" + openToken + " helper=" + helper, 3 * time.Second},
		{"token file missing", "url=" + s.URL + " cafile=" + s.ca.pemFile + " tokenfile=" + filepath.Join(dir, "no-token") + " helper=" + helper, 3 * time.Second},
		{"helper missing", base + " helper=" + filepath.Join(dir, "no-such-helper"), 3 * time.Second},
		{"helper hangs", base + " timeout=1 helper=" + script("hang", "echo $$ >"+pidFile+"; exec sleep 30"), time.Second},
		{"helper crashes", base + " helper=" + script("crash", "kill -SEGV $$"), 3 * time.Second},
		{"answer without newline", base + " helper=" + script("nonl", "printf ok"), 3 * time.Second},
		{"answer unknown word", base + " helper=" + script("word", "echo okay"), 3 * time.Second},
		{"answer in capitals", base + " helper=" + script("caps", "echo OK"), 3 * time.Second},
		{"answer ok with more", base + " helper=" + script("more", "echo 'ok but'"), 3 * time.Second},
		{"answer two lines", base + " helper=" + script("two", "printf 'ok\\nok\\n'"), 3 * time.Second},
		{"answer with NUL", base + " helper=" + script("nul", "printf 'ok\\000\\n'"), 3 * time.Second},
		{"answer too long", base + " helper=" + script("long", "head -c 100000 /dev/zero | tr '\\000' o; echo"), 3 * time.Second},
		{"answer empty line", base + " helper=" + script("empty", "echo"), 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := authStack(t, tc.args)
			r := pamtester(t, st, "alice", key.TOTP(time.Now())+"\n")
			r.check(t, tc.name, false, authInfoUnav)
			// pamtester itself takes a few milliseconds to start.
			if limit := tc.timeout + 500*time.Millisecond; r.elapsed > limit {
				t.Errorf("%s: answered after %v, want within %v", tc.name, r.elapsed, limit)
			}
			t.Logf("%s: answered in %v", tc.name, r.elapsed.Round(time.Millisecond))
		})
	}
	// The hung helper was killed and reaped, not left behind.
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the hanging helper did not start: %v", err)
	}
	if stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat"); err == nil {
		t.Errorf("the hung helper (pid %s) is still there: %s", strings.TrimSpace(string(b)), stat)
	}
}

// TestHelperLingers: a helper that answers and then does not exit is
// killed soon after its answer, which counts.
func TestHelperLingers(t *testing.T) {
	s := newFakeServer(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "linger.pid")
	helper := filepath.Join(dir, "linger")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\necho $$ >"+pidFile+"\necho ok\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	st := authStack(t, "url="+s.URL+" tokenfile="+writeToken(t, s.token)+" timeout=3 helper="+helper)
	r := pamtester(t, st, "alice", "123456\n")
	r.check(t, "lingering helper", true, succeededText)
	if r.elapsed > time.Second {
		t.Errorf("lingering helper: answered after %v, want well within the 3s timeout", r.elapsed)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strings.TrimSpace(string(b))); err == nil {
		t.Errorf("the lingering helper (pid %s) is still there", strings.TrimSpace(string(b)))
	}
}

// TestBadInput: names and codes over the limits, or not UTF-8, are refused
// (PAM_AUTH_ERR) without asking the server.
func TestBadInput(t *testing.T) {
	s := newFakeServer(t)
	s.addUser(t, strings.Repeat("a", 64), false)
	st := authStack(t, otpgateArgs(t, s, "optional"))
	pamtester(t, st, strings.Repeat("a", 64), "\n").check(t, "64-byte user", true, succeededText)
	before := len(s.requests)
	for _, tc := range []struct{ name, user, input string }{
		{"65-byte user", strings.Repeat("a", 65), "123456\n"},
		{"user not UTF-8", "al\xffce", "123456\n"},
		{"user with a control character", "al\x1bce", "123456\n"},
		{"33-byte code", "alice", strings.Repeat("1", 33) + "\n"},
		{"code not UTF-8", "alice", "12\xff456\n"},
		{"a megabyte of code", "alice", strings.Repeat("7", 1<<20) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pamtester(t, st, tc.user, tc.input).check(t, tc.name, false, authErr)
		})
	}
	if n := len(s.requests) - before; n != 0 {
		t.Errorf("the server got %d requests for bad input, want 0", n)
	}
}

// TestAccount: acct_mgmt asks the account endpoint.
func TestAccount(t *testing.T) {
	s := newFakeServer(t)
	s.addUser(t, "alice", true)
	s.addUser(t, "carol", true)
	s.disable("carol")
	stopped := newFakeServer(t)
	stopped.Close()
	st := newStack(t, "account required MODULE "+otpgateArgs(t, s))
	down := newStack(t, "account required MODULE "+otpgateArgs(t, stopped))
	pamtester(t, st, "alice", "", "acct_mgmt").check(t, "enabled user", true, accountOK)
	pamtester(t, st, "carol", "", "acct_mgmt").check(t, "disabled user", false, permDenied)
	pamtester(t, down, "alice", "", "acct_mgmt").check(t, "server down", false, authInfoUnav)
}

// TestArguments: a bad module line fails closed, and prompt= is the text
// asked.
func TestArguments(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	for _, tc := range []struct{ name, args string }{
		{"unknown argument", otpgateArgs(t, s, "fail_open")},
		{"bad timeout", otpgateArgs(t, s, "timeout=2.5")},
		{"relative helper", otpgateArgs(t, s, "helper=otpgate-pam-client")},
		{"pass_password with use_first_pass", otpgateArgs(t, s, "pass_password", "use_first_pass")},
		{"http to another host", "url=http://192.0.2.1 tokenfile=" + writeToken(t, s.token) + " helper=" + build.helper},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pamtester(t, authStack(t, tc.args), "alice", key.TOTP(time.Now())+"\n").check(t, tc.name, false, authInfoUnav)
		})
	}
	st := authStack(t, otpgateArgs(t, s)+" [prompt=OTP (optional): ]")
	r := pamtester(t, st, "alice", key.TOTP(time.Now())+"\n")
	r.check(t, "prompt=", true, "OTP (optional): pamtester: successfully")
}

// TestFirstPass: use_first_pass takes the code an earlier module stored
// (pam_set_items, libpam-wrapper's module that sets PAM_AUTHTOK from the
// environment) and never prompts; try_first_pass prompts when nothing is
// stored; use_first_pass with nothing stored refuses.
func TestFirstPass(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	code := key.TOTP(time.Now())
	if _, err := os.Stat(pamSetItems); err != nil {
		testenv.SkipOrFail(t, "%s missing (libpam-wrapper)", pamSetItems)
	}
	st := newStack(t, "auth required "+pamSetItems, "auth required MODULE "+otpgateArgs(t, s, "use_first_pass"))
	r := pamtesterEnv(t, []string{"PAM_AUTHTOK=" + code}, nil, st, "alice", "")
	r.check(t, "use_first_pass after a module that stored the code", true, succeededText)
	if strings.Contains(r.out, "Verification code: ") || s.lastAuth()["code"] != code {
		t.Errorf("use_first_pass prompted, or sent another code (%v):\n%s", s.lastAuth()["code"], r.out)
	}
	next := key.TOTP(time.Now().Add(30 * time.Second))
	pamtester(t, authStack(t, otpgateArgs(t, s, "try_first_pass")), "alice", next+"\n").
		check(t, "try_first_pass, nothing stored: prompts", true, "Verification code: pamtester: successfully")
	r = pamtester(t, authStack(t, otpgateArgs(t, s, "use_first_pass")), "alice", next+"\n")
	r.check(t, "use_first_pass, nothing stored", false, authErr)
	if strings.Contains(r.out, "Verification code: ") {
		t.Errorf("use_first_pass prompted:\n%s", r.out)
	}
}
