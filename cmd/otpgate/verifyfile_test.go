package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// buildOtpgate builds this command into a temporary directory.
func buildOtpgate(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "otpgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// stockModule runs attempts through Debian's pam_google_authenticator
// under pamtester, with a PAM service file in a private /etc/pam.d
// (bind-mounted inside unshare --mount) and the clock frozen by libfaketime.
type stockModule struct {
	pamDir   string
	faketime string
	// user is the PAM user; empty means root.
	user string
}

const moduleSO = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so"

func newStockModule(t testing.TB) *stockModule {
	t.Helper()
	testenv.Root(t)
	testenv.LookPath(t, "pamtester")
	testenv.LookPath(t, "unshare")
	testenv.LookPath(t, "faketime")
	lib := "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
	for _, p := range []string{moduleSO, lib} {
		if _, err := os.Stat(p); err != nil {
			testenv.SkipOrFail(t, "%s missing (Debian packages libpam-google-authenticator, faketime)", p)
		}
	}
	return &stockModule{pamDir: t.TempDir(), faketime: lib}
}

// try makes one attempt at unix time now with the module arguments args;
// rhost, if not empty, is passed as PAM_RHOST. It reports whether PAM
// accepted.
func (m *stockModule) try(t testing.TB, file string, now int64, answer string, args []string, rhost string) bool {
	t.Helper()
	conf := "auth required " + moduleSO + " secret=" + file + " " + strings.Join(args, " ") + "\n"
	if err := os.WriteFile(filepath.Join(m.pamDir, "otpgate-test"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pamUser := m.user
	if pamUser == "" {
		pamUser = "root"
	}
	pamtester := "pamtester otpgate-test " + pamUser + " authenticate"
	if rhost != "" {
		pamtester = "pamtester -I rhost=" + rhost + " otpgate-test " + pamUser + " authenticate"
	}
	stamp := time.Unix(now, 0).UTC().Format("2006-01-02 15:04:05")
	cmd := exec.Command("unshare", "--mount", "sh", "-c",
		`mount --bind "$1" /etc/pam.d && exec env TZ=UTC LD_PRELOAD="$2" FAKETIME="$3" `+pamtester,
		"sh", m.pamDir, m.faketime, stamp)
	cmd.Stdin = strings.NewReader(answer + "\n")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("pamtester: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Initialization failure")) {
		t.Fatalf("pamtester could not start:\n%s", out)
	}
	return err == nil
}

// ours makes the same attempt through otpgate verify-file and returns the
// exit status and the reason it printed.
func ours(t *testing.T, bin, file string, now int64, answer string, args []string, rhost string) (int, string) {
	t.Helper()
	argv := append([]string{"verify-file", "--now", strconv.FormatInt(now, 10), "--rhost", rhost, "secret=" + file}, args...)
	cmd := exec.Command(bin, argv...)
	cmd.Stdin = strings.NewReader(answer + "\n")
	cmd.Env = append(os.Environ(), "PAM_USER=root")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), strings.TrimSpace(stderr.String())
}

// scenarioStep is one directive of a scenario file (gafile/testdata/scenarios).
type scenarioStep struct {
	line int
	verb string
	args []string
}

func readScenario(t *testing.T, path string) []scenarioStep {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\S+`)
	var steps []scenarioStep
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		var args []string
		for _, w := range word.FindAllString(l, -1) {
			if w[0] == '"' {
				if w, err = strconv.Unquote(w); err != nil {
					t.Fatalf("%s:%d: %v", path, n, err)
				}
			}
			args = append(args, w)
		}
		steps = append(steps, scenarioStep{n, args[0], args[1:]})
	}
	return steps
}

// expandCodes replaces each {N} in answer with the HOTP code for counter N
// of the secret on line 1 of content.
func expandCodes(t *testing.T, answer string, content []byte) string {
	t.Helper()
	return regexp.MustCompile(`\{\d+\}`).ReplaceAllStringFunc(answer, func(m string) string {
		n, _ := strconv.ParseUint(m[1:len(m)-1], 10, 64)
		f, err := gafile.Parse(content)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Secret()
		return otp.Key{Secret: s}.HOTP(n)
	})
}

// TestVerifyFileDifferential applies every scenario of gafile's testdata
// (the spec §6 sequences among them) to two copies of one file, one through
// the stock module and one through otpgate verify-file, and requires the
// same accept/refuse answer, the same file bytes and the same file mode
// after every attempt; a third copy, verified by the two in turn, must
// follow the same course, and the stock module's transcript to equal gafile's
// golden file.
func TestVerifyFileDifferential(t *testing.T) {
	stock := newStockModule(t)
	bin := buildOtpgate(t)
	paths, _ := filepath.Glob("../../gafile/testdata/scenarios/*.txt")
	if len(paths) == 0 {
		t.Fatal("no scenarios")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dir := t.TempDir()
			theirs, mine := filepath.Join(dir, "stock"), filepath.Join(dir, "ours")
			// shared is a third copy that the two take turns on.
			shared := filepath.Join(dir, "shared")
			var content []byte
			var args []string
			rhost := ""
			write := func() {
				for _, p := range []string{theirs, mine, shared} {
					os.Remove(p)
					if err := os.WriteFile(p, content, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			attempts := 0
			var transcript bytes.Buffer
			for _, s := range readScenario(t, path) {
				where := fmt.Sprintf("%s:%d", filepath.Base(path), s.line)
				switch s.verb {
				case "file":
					content = []byte(s.args[0])
					write()
				case "append":
					content = append(content, s.args[0]...)
					write()
				case "sub":
					content = bytes.Replace(content, []byte(s.args[0]), []byte(s.args[1]), 1)
					write()
				case "opts":
					args, rhost = nil, ""
					for _, a := range s.args {
						if h, ok := strings.CutPrefix(a, "rhost="); ok {
							rhost = h
						} else {
							args = append(args, a)
						}
					}
				case "try":
					attempts++
					now, _ := strconv.ParseInt(s.args[0], 10, 64)
					answer := expandCodes(t, s.args[1], content)
					want := stock.try(t, theirs, now, answer, args, rhost)
					code, reason := ours(t, bin, mine, now, answer, args, rhost)
					if (code == 0) != want {
						t.Errorf("%s: answer %q at %d: stock module accepted = %v; verify-file exit %d (%s)", where, s.args[1], now, want, code, reason)
					}
					if (s.args[2] == "ok") != want {
						t.Errorf("%s: answer %q at %d: stock module accepted = %v, scenario says %s", where, s.args[1], now, want, s.args[2])
					}
					turn := "stock module"
					if attempts%2 == 0 {
						turn = "verify-file"
						code, reason = ours(t, bin, shared, now, answer, args, rhost)
						if (code == 0) != want {
							t.Errorf("%s: on the shared file, verify-file exit %d (%s), stock module accepted = %v", where, code, reason, want)
						}
					} else if stock.try(t, shared, now, answer, args, rhost) != want {
						t.Errorf("%s: on the shared file, the stock module answered otherwise", where)
					}
					a, _ := os.ReadFile(theirs)
					b, _ := os.ReadFile(mine)
					if !bytes.Equal(a, b) {
						t.Fatalf("%s: answer %q at %d: files differ\nstock module:\n%q\nverify-file:\n%q", where, s.args[1], now, a, b)
					}
					if c, _ := os.ReadFile(shared); !bytes.Equal(a, c) {
						t.Fatalf("%s: answer %q at %d: the shared file, last written by the %s, differs:\n%q\nwant\n%q", where, s.args[1], now, turn, c, a)
					}
					sa, _ := os.Stat(theirs)
					sb, _ := os.Stat(mine)
					if sa.Mode() != sb.Mode() {
						t.Errorf("%s: mode after the stock module %v, after verify-file %v", where, sa.Mode(), sb.Mode())
					}
					content = a
					verdict := "accepted"
					if !want {
						verdict = "refused"
					}
					fmt.Fprintf(&transcript, "line %d %s\n%s\n", s.line, verdict, strconv.Quote(string(a)))
				}
			}
			t.Logf("%d attempts compared", attempts)
			golden, err := os.ReadFile(strings.TrimSuffix(path, ".txt") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(transcript.Bytes(), golden) {
				t.Errorf("the stock module's transcript differs from %s.golden:\n%s", strings.TrimSuffix(path, ".txt"), transcript.Bytes())
			}
		})
	}
}

// currentUser returns the name of the user running the test.
func currentUser(t testing.TB) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// startVerify starts otpgate verify-file on file with the given arguments;
// it blocks reading the answer until the returned pipe is written and closed.
func startVerify(t testing.TB, bin, file string, now int64, args ...string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
	t.Helper()
	argv := append([]string{"verify-file", "--now", strconv.FormatInt(now, 10), "secret=" + file}, args...)
	cmd := exec.Command(bin, argv...)
	cmd.Env = append(os.Environ(), "PAM_USER="+currentUser(t))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdin, &stderr
}

// exitCode waits for cmd and returns its exit status, -1 if killed.
func exitCode(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

// TestVerifyFileConcurrent starts 50 processes that verify the same valid
// code against one DISALLOW_REUSE file at the same moment: exactly one may
// be accepted, and the file must end as one acceptance leaves it.
func TestVerifyFileConcurrent(t *testing.T) {
	bin := buildOtpgate(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ga")
	const content = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 50
	cmds := make([]*exec.Cmd, n)
	stdins := make([]io.WriteCloser, n)
	stderrs := make([]*bytes.Buffer, n)
	for i := range n {
		cmds[i], stdins[i], stderrs[i] = startVerify(t, bin, file, 300000)
	}
	// Every process is started and waiting for its answer: release them all.
	for _, w := range stdins {
		io.WriteString(w, "050548\n")
	}
	for _, w := range stdins {
		w.Close()
	}
	accepted := 0
	for i, cmd := range cmds {
		switch code := exitCode(t, cmd); code {
		case 0:
			accepted++
		case 1:
			if !strings.Contains(stderrs[i].String(), "already used") {
				t.Errorf("process %d refused for another reason: %s", i, stderrs[i])
			}
		default:
			t.Errorf("process %d: exit status %d: %s", i, code, stderrs[i])
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d processes accepted the same code, want 1", accepted, n)
	}
	got, _ := os.ReadFile(file)
	if want := "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n"; string(got) != want {
		t.Errorf("file after the race = %q, want %q", got, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after the race, want only the file", len(ents))
	}
}

// TestVerifyFileKilled kills verify-file with SIGKILL at random moments
// while it updates a file, 200 times: the file must always be the old one
// or the new one, and after the next run that is not killed no temporary
// copy of the secret may be left; a temporary file named as the stock
// module names its own stays.
func TestVerifyFileKilled(t *testing.T) {
	bin := buildOtpgate(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ga")
	old := []byte("2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 100 3600\n\" TOTP_AUTH\n12345678\n")
	f, err := gafile.Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verify("12345678", time.Unix(300000, 0), gafile.Options{}); err != nil {
		t.Fatal(err)
	}
	updated := f.Bytes()
	stockTemp := filepath.Join(dir, "ga~Ab3xYz") // mkstemp's pattern
	if err := os.WriteFile(stockTemp, old, 0o400); err != nil {
		t.Fatal(err)
	}
	// leftovers lists the directory's entries other than the file and the
	// stock module's temporary file.
	leftovers := func() []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			if p := filepath.Join(dir, e.Name()); p != file && p != stockTemp {
				out = append(out, e.Name())
			}
		}
		return out
	}

	reset := func() {
		os.Remove(file)
		if err := os.WriteFile(file, old, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// verify runs one attempt, killed after delay unless it is negative.
	verify := func(delay time.Duration) (int, []byte) {
		cmd, stdin, stderr := startVerify(t, bin, file, 300000)
		io.WriteString(stdin, "12345678\n")
		stdin.Close()
		if delay >= 0 {
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
		}
		code := exitCode(t, cmd)
		if delay < 0 && code != 0 {
			t.Fatalf("verify-file: exit status %d: %s", code, stderr)
		}
		got, err := os.ReadFile(file)
		switch {
		case err != nil:
			t.Fatalf("after a kill: %v", err)
		case !bytes.Equal(got, old) && !bytes.Equal(got, updated):
			t.Fatalf("after a kill (exit %d) the file is neither old nor new:\n%q", code, got)
		case code == 0 && !bytes.Equal(got, updated):
			t.Fatalf("accepted, but the file was not updated")
		}
		return code, got
	}
	// How long does one uninterrupted run take, from the answer to the exit?
	reset()
	begin := time.Now()
	verify(-1)
	run := time.Since(begin)

	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	left := 0
	for range 200 {
		reset()
		// The delay only spreads the kills over the run; correctness does
		// not depend on it.
		code, got := verify(time.Duration(rng.Int64N(int64(run) * 3 / 2)))
		switch {
		case code != -1:
			seen["finished"]++
		case bytes.Equal(got, old):
			seen["killed, old"]++
		default:
			seen["killed, new"]++
		}
		if len(leftovers()) > 0 {
			left++
		}
	}
	reset()
	verify(-1)
	if l := leftovers(); len(l) > 0 {
		t.Errorf("after the kills and a run to its end, %d temporary files are left: %q", len(l), l)
	}
	if _, err := os.Stat(stockTemp); err != nil {
		t.Errorf("the stock module's temporary file was removed: %v", err)
	}
	t.Logf("one run takes %v; 200 runs: %v; %d left a temporary file until the next run", run, seen, left)
}

// TestVerifyFileExitStatus runs verify-file in-process on files in
// various states, with arguments in flag and module form.
func TestVerifyFileExitStatus(t *testing.T) {
	dir := t.TempDir()
	me := currentUser(t)
	files := map[string]struct {
		content string
		mode    os.FileMode
	}{
		"good":           {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n", 0o600},
		"group":          {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n", 0o640},
		"padded":         {"2SH3V3GDW7ZNMGYE====\n\" TOTP_AUTH\n", 0o600},
		"empty":          {"", 0o600},
		"bad-step":       {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" STEP_SIZE 0\n", 0o600},
		me + ".ga":       {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n", 0o600},
		"not-mine":       {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n", 0o600},
		"rate-limited":   {"2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 1 30 300000\n\" TOTP_AUTH\n", 0o600},
		"with-a-scratch": {"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n12345678\n", 0o600},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	chowned := os.Chown(filepath.Join(dir, "not-mine"), 12345, 12345) == nil
	if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	at := func(name string) string { return "secret=" + filepath.Join(dir, name) }
	type exitCase struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantMsg  string
	}
	tests := []exitCase{
		{"accepted", []string{at("good")}, "050548\n", 0, "accepted: time-based code"},
		{"flag form", []string{"--secret", filepath.Join(dir, "good")}, "050548", 0, "accepted"},
		{"pam_exec NUL", []string{at("good")}, "050548\x00", 0, "accepted"},
		{"CRLF", []string{at("good")}, "050548\r\n", 0, "accepted"},
		{"forward_pass", []string{at("good"), "forward_pass"}, "hunter2050548\n", 0, "accepted"},
		{"scratch code", []string{at("with-a-scratch")}, "12345678\n", 0, "accepted: scratch code"},
		{"wrong", []string{at("good")}, "123457\n", 1, "gafile: "},
		{"malformed", []string{at("good")}, "abc\n", 1, "malformed answer"},
		{"two lines", []string{at("good")}, "050548\n\n", 1, "malformed answer"},
		{"rate limited", []string{at("rate-limited")}, "050548\n", 1, "too many attempts"},
		{"missing", []string{at("missing")}, "050548\n", 2, "no such file"},
		{"missing nullok", []string{at("missing"), "nullok"}, "", 0, "no state file"},
		{"missing -nullok", []string{"-nullok", at("missing")}, "", 0, "no state file"},
		{"group readable", []string{at("group")}, "050548\n", 2, "permissions 0640 are more permissive than 0600"},
		{"allowed_perm", []string{at("group"), "allowed_perm=0640"}, "050548\n", 0, "accepted"},
		{"padded secret", []string{at("padded")}, "050548\n", 2, "line 1: secret is not base32"},
		{"empty file", []string{at("empty")}, "050548\n", 2, "size 0 bytes"},
		{"bad STEP_SIZE", []string{at("bad-step")}, "050548\n", 2, "line 3: STEP_SIZE must be 1 to 60"},
		{"directory", []string{at("a-directory")}, "050548\n", 2, "not a regular file"},
		{"${USER}", []string{"secret=" + filepath.Join(dir, "${USER}.ga")}, "050548\n", 0, "accepted"},
		{"user= and ~", []string{"secret=~/.google_authenticator", "user=0"}, "050548\n", 2, "no home directory"},
		{"unknown user", []string{at("good"), "user=no-such-user-here"}, "050548\n", 2, "no such user"},
		{"unknown argument", []string{at("good"), "bogus_option"}, "050548\n", 2, `unknown module argument "bogus_option"`},
		{"bool with value", []string{at("good"), "nullok=1"}, "050548\n", 2, "wrong form"},
		{"now is not an argument", []string{at("good"), "now=1"}, "050548\n", 2, "unknown module argument"},
		{"bad allowed_perm", []string{at("good"), "allowed_perm=abc"}, "050548\n", 2, "positive octal"},
		{"negative grace_period", []string{at("good"), "grace_period=-5"}, "050548\n", 2, "grace_period -5"},
		{"bad --now", []string{"--now", "yesterday", at("good")}, "050548\n", 2, "Unix seconds"},
		{"answer too long", []string{at("good")}, strings.Repeat("1", maxAnswer+1), 2, "longer than"},
	}
	if chowned {
		tests = append(tests,
			exitCase{"other owner", []string{at("not-mine")}, "050548\n", 2, "owned by user id 12345"},
			exitCase{"no_strict_owner", []string{at("not-mine"), "no_strict_owner"}, "050548\n", 0, "accepted"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "PAM_USER" {
					return me
				}
				return ""
			}
			var out, errb bytes.Buffer
			args := append([]string{"verify-file", "--now", "300000"}, tc.args...)
			err := run(t.Context(), args, getenv, strings.NewReader(tc.stdin), &out, &errb)
			code, msg := 0, errb.String()
			var ee exitError
			if errors.As(err, &ee) {
				code, msg = ee.code, msg+ee.msg
			} else if err != nil {
				t.Fatalf("run(%q) = %v, want an exit status", args, err)
			}
			if code != tc.wantCode || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("run(%q) = exit %d, %q; want exit %d, %q", tc.args, code, msg, tc.wantCode, tc.wantMsg)
			}
			if strings.Contains(msg, "050548") || strings.Contains(msg, "2SH3V3GDW7ZNMGYE") {
				t.Errorf("run(%q) printed the code or the secret: %q", tc.args, msg)
			}
		})
	}
}

// TestParseUser checks the module's reading of user=.
func TestParseUser(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true},
		{"1000", 1000, true},
		{"1000abc", 1000, true},
		{"root", 0, true},
		{"no-such-user-here", 0, false},
	}
	for _, tc := range tests {
		got, err := parseUser(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseUser(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestVerifyFileNotSaved makes the directory read-only (a read-only bind
// mount as root, else chmod): an attempt that must change the file fails
// and leaves it as it was, unless allow_readonly, which accepts it anyway.
func TestVerifyFileNotSaved(t *testing.T) {
	bin := buildOtpgate(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ga")
	const content = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) (int, string) {
		argv := append([]string{"verify-file", "--now", "300000", "secret=" + file}, args...)
		var cmd *exec.Cmd
		if os.Geteuid() == 0 {
			testenv.LookPath(t, "unshare")
			cmd = exec.Command("unshare", "--mount", "sh", "-c",
				`mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"`,
				"sh", dir, bin)
			cmd.Args = append(cmd.Args, argv...)
		} else {
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(dir, 0o700)
			cmd = exec.Command(bin, argv...)
		}
		cmd.Env = append(os.Environ(), "PAM_USER="+currentUser(t))
		cmd.Stdin = strings.NewReader("050548\n")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		return exitCode(t, startedCmd(t, cmd)), stderr.String()
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"fails", nil, 2, "state file not saved"},
		{"allow_readonly", []string{"allow_readonly"}, 0, "accepted"},
		{"allow_readonly again", []string{"allow_readonly"}, 0, "accepted"},
	}
	for _, tc := range tests {
		code, msg := verify(tc.args...)
		if code != tc.wantCode || !strings.Contains(msg, tc.wantMsg) {
			t.Errorf("%s: exit %d, %q; want exit %d, %q", tc.name, code, msg, tc.wantCode, tc.wantMsg)
		}
		if got, _ := os.ReadFile(file); string(got) != content {
			t.Errorf("%s: the file changed: %q", tc.name, got)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: %d entries in the directory, want only the file", tc.name, len(ents))
		}
	}
}

// startedCmd starts cmd.
func startedCmd(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestVerifyFileActsAsUser runs verify-file as root for another account:
// like the module, it reads and rewrites the file as that account, so the
// new file belongs to it.
func TestVerifyFileActsAsUser(t *testing.T) {
	testenv.Root(t)
	bin := buildOtpgate(t)
	dir, nobody, uid, gid := testenv.NobodyDir(t, "home")
	file := filepath.Join(dir, "ga")
	if err := os.WriteFile(file, []byte("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, uid, gid); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      string
		wantCode int
		wantMsg  string
	}{
		{"root's file check", "PAM_USER=root", 2, "owned by user id " + nobody.Uid + ", want 0"},
		{"as nobody", "PAM_USER=nobody", 0, "accepted"},
	}
	for _, tc := range tests {
		cmd := exec.Command(bin, "verify-file", "--now", "300000", "secret="+file)
		cmd.Env = append(os.Environ(), tc.env)
		cmd.Stdin = strings.NewReader("050548\n")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if code := exitCode(t, startedCmd(t, cmd)); code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantMsg) {
			t.Errorf("%s: exit %d, %q; want exit %d, %q", tc.name, code, stderr.String(), tc.wantCode, tc.wantMsg)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != uid || int(st.Gid) != gid || st.Mode&0o7777 != 0o400 {
		t.Errorf("rewritten file: owner %d:%d mode %04o, want %d:%d 0400", st.Uid, st.Gid, st.Mode&0o7777, uid, gid)
	}
}

// benchFile is a typical state file (see gafile's benchmarks).
const benchFile = "QRN6OXBEKOJQY6IMIIDS5OWC7Y\n\" RATE_LIMIT 3 30\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n" +
	"84182260\n37160582\n19928367\n60374312\n49511094\n"

// benchAttempts runs one accepted attempt a step apart per iteration
// through try, which reports acceptance.
func benchAttempts(b *testing.B, try func(file string, now int64, answer string) bool) {
	file := filepath.Join(b.TempDir(), "ga")
	if err := os.WriteFile(file, []byte(benchFile), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := gafile.Parse([]byte(benchFile))
	if err != nil {
		b.Fatal(err)
	}
	key := otp.Key{Secret: f.Secret()}
	step := uint64(10000)
	b.ReportAllocs()
	for b.Loop() {
		if !try(file, int64(step)*30, key.HOTP(step)) {
			b.Fatalf("step %d refused", step)
		}
		step++
	}
}

// BenchmarkStockModule is the reference: one verification of a typical file
// by the stock module under pamtester, including the harness (unshare, a
// bind mount, libfaketime); BenchmarkStockHarness is the harness alone.
func BenchmarkStockModule(b *testing.B) {
	stock := newStockModule(b)
	benchAttempts(b, func(file string, now int64, answer string) bool {
		return stock.try(b, file, now, answer, nil, "")
	})
}

// BenchmarkStockHarness runs /bin/true the way BenchmarkStockModule runs
// pamtester, to subtract the harness from the stock module's figure.
func BenchmarkStockHarness(b *testing.B) {
	stock := newStockModule(b)
	b.ReportAllocs()
	for b.Loop() {
		cmd := exec.Command("unshare", "--mount", "sh", "-c",
			`mount --bind "$1" /etc/pam.d && exec env TZ=UTC LD_PRELOAD="$2" FAKETIME="$3" true`,
			"sh", stock.pamDir, stock.faketime, "1970-01-04 11:20:00")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkVerifyFileCommand is the same verification by otpgate
// verify-file, one process each.
func BenchmarkVerifyFileCommand(b *testing.B) {
	bin := buildOtpgate(b)
	me := currentUser(b)
	benchAttempts(b, func(file string, now int64, answer string) bool {
		cmd := exec.Command(bin, "verify-file", "--now", strconv.FormatInt(now, 10), "secret="+file)
		cmd.Env = append(os.Environ(), "PAM_USER="+me)
		cmd.Stdin = strings.NewReader(answer + "\n")
		return cmd.Run() == nil
	})
}

// TestGraceRecordSaved shows the grace-period decision (gafile's package
// doc): on a plain TOTP file, module 1.08 does not save the record of a
// successful login, verify-file does, and the stock module honours that
// record: the host logs in within the period without a code.
func TestGraceRecordSaved(t *testing.T) {
	stock := newStockModule(t)
	bin := buildOtpgate(t)
	dir := t.TempDir()
	const content = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n"
	theirs, mine := filepath.Join(dir, "stock"), filepath.Join(dir, "ours")
	for _, p := range []string{theirs, mine} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"grace_period=3600"}
	if !stock.try(t, theirs, 300000, "050548", args, "10.0.0.1") {
		t.Fatal("the stock module refused the right code")
	}
	if got, _ := os.ReadFile(theirs); string(got) != content {
		t.Errorf("module 1.08 saved the grace record after all: %q", got)
	}
	if code, reason := ours(t, bin, mine, 300000, "050548", args, "10.0.0.1"); code != 0 {
		t.Fatalf("verify-file: exit %d (%s)", code, reason)
	}
	want := "2SH3V3GDW7ZNMGYE\n\" LAST0 10.0.0.1 300000\n\" TOTP_AUTH\n"
	if got, _ := os.ReadFile(mine); string(got) != want {
		t.Errorf("verify-file saved %q, want %q", got, want)
	}
	if !stock.try(t, mine, 301000, "", args, "10.0.0.1") {
		t.Error("the stock module refused a host within its grace period recorded by verify-file")
	}
	if stock.try(t, mine, 301000, "", args, "10.0.0.2") {
		t.Error("the stock module accepted another host without a code")
	}
}

// randomFile returns a random state file as google-authenticator or a
// hand edit might leave it, and its step size.
func randomFile(rng *rand.Rand) (content string, step int) {
	secrets := []string{"2SH3V3GDW7ZNMGYE", "QRN6OXBEKOJQY6IMIIDS5OWC7Y", "WXAISWKSWU76KDKK4QNWEQM6IY7OOGPK", "qrn6 oxbe-kojq y6im iids 5owc 7y"}
	var lines []string
	step = 30
	if rng.IntN(3) == 0 {
		step = []int{15, 30, 60}[rng.IntN(3)]
		lines = append(lines, fmt.Sprintf(`" STEP_SIZE %d`, step))
	}
	if rng.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf(`" RATE_LIMIT %d %d`, 1+rng.IntN(5), 15+rng.IntN(106)))
	}
	if rng.IntN(2) == 0 {
		lines = append(lines, fmt.Sprintf(`" WINDOW_SIZE %d`, 1+rng.IntN(8)))
	}
	if rng.IntN(2) == 0 {
		lines = append(lines, `" DISALLOW_REUSE`)
	}
	if rng.IntN(4) == 0 {
		lines = append(lines, fmt.Sprintf(`" TIME_SKEW %d`, rng.IntN(5)-2))
	}
	if rng.IntN(4) == 0 {
		lines = append(lines, fmt.Sprintf(`" HOTP_COUNTER %d`, 1+rng.IntN(20)))
	} else {
		lines = append(lines, `" TOTP_AUTH`)
	}
	for range rng.IntN(4) {
		lines = append(lines, strconv.Itoa(10000000+rng.IntN(90000000)))
	}
	if rng.IntN(3) == 0 {
		lines = append(lines, "")
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	eol := "\n"
	if rng.IntN(4) == 0 {
		eol = "\r\n"
	}
	return secrets[rng.IntN(len(secrets))] + eol + strings.Join(lines, eol) + eol, step
}

// randomAnswer returns an answer worth trying at now: a code of a nearby
// step or counter, a skewed one, a scratch code, a wrong or malformed one.
func randomAnswer(rng *rand.Rand, f *gafile.File, now int64, step int, forwardPass bool) string {
	key := otp.Key{Secret: f.Secret()}
	var code string
	switch n := rng.IntN(10); {
	case n < 5:
		if c := f.HOTPCounter(); c > 0 {
			code = key.HOTP(uint64(c + int64(rng.IntN(8)-2)))
		} else {
			code = key.HOTP(uint64(now/int64(step) + int64(rng.IntN(9)-4)))
		}
	case n == 5:
		code = key.HOTP(uint64(now/int64(step) - 100 + int64(rng.IntN(3))))
	case n == 6:
		if codes := f.ScratchCodes(); len(codes) > 0 {
			code = strconv.Itoa(codes[rng.IntN(len(codes))])
		} else {
			code = "12345678"
		}
	case n == 7:
		code = fmt.Sprintf("%06d", rng.IntN(1000000))
	case n == 8:
		code = []string{"", "abc", "12345", " 123456", "1234567"}[rng.IntN(5)]
	default:
		code = key.HOTP(uint64(now/int64(step) + int64(rng.IntN(3)-1)))
	}
	if forwardPass {
		return []string{"", "pw", "hunter2"}[rng.IntN(3)] + code
	}
	return code
}

// TestVerifyFileRandomDifferential compares the stock module and
// verify-file on random files and random attempt sequences (a fixed seed,
// so that a failure can be replayed).
func TestVerifyFileRandomDifferential(t *testing.T) {
	stock := newStockModule(t)
	bin := buildOtpgate(t)
	rng := rand.New(rand.NewPCG(2026, 11))
	compared := 0
	for i := range 12 {
		content, step := randomFile(rng)
		dir := t.TempDir()
		theirs, mine := filepath.Join(dir, "stock"), filepath.Join(dir, "ours")
		for _, p := range []string{theirs, mine} {
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var args []string
		for _, a := range []string{"forward_pass", "noskewadj", "no_increment_hotp"} {
			if rng.IntN(4) == 0 {
				args = append(args, a)
			}
		}
		now := int64(1_700_000_000 + rng.IntN(1_000_000))
		history := fmt.Sprintf("file %q, module arguments %q", content, args)
		for range 25 {
			now += int64(rng.IntN(4)) * int64(rng.IntN(31))
			f, err := gafile.Parse([]byte(content))
			if err != nil {
				t.Fatalf("file %d: %v", i, err)
			}
			answer := randomAnswer(rng, f, now, step, slices.Contains(args, "forward_pass"))
			history += fmt.Sprintf("\n%d %q", now, answer)
			want := stock.try(t, theirs, now, answer, args, "")
			code, reason := ours(t, bin, mine, now, answer, args, "")
			a, _ := os.ReadFile(theirs)
			b, _ := os.ReadFile(mine)
			if (code == 0) != want || !bytes.Equal(a, b) {
				t.Fatalf("file %d: stock module accepted = %v, verify-file exit %d (%s)\nstock module:\n%q\nverify-file:\n%q\nhistory: %s",
					i, want, code, reason, a, b, history)
			}
			content = string(a)
			compared++
		}
	}
	t.Logf("%d random attempts compared", compared)
}

// TestVerifyFileUnderPamExec runs verify-file where it is meant to sit: in a
// PAM stack, behind pam_exec expose_authtok, driven by pamtester.
func TestVerifyFileUnderPamExec(t *testing.T) {
	stock := newStockModule(t)
	bin := buildOtpgate(t)
	file := filepath.Join(t.TempDir(), "ga")
	if err := os.WriteFile(file, []byte("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "auth required pam_exec.so expose_authtok quiet " + bin + " verify-file --now 300000 secret=" + file + "\n"
	if err := os.WriteFile(filepath.Join(stock.pamDir, "otpgate-test"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		answer string
		want   bool
	}{
		{"050548", true},
		{"050548", false},
		{"123456", false},
	} {
		cmd := exec.Command("unshare", "--mount", "sh", "-c",
			`mount --bind "$1" /etc/pam.d && exec pamtester otpgate-test root authenticate`, "sh", stock.pamDir)
		cmd.Stdin = strings.NewReader(tc.answer + "\n")
		out, err := cmd.CombinedOutput()
		if got := err == nil; got != tc.want {
			t.Errorf("pam_exec verify-file with %q: accepted = %v, want %v\n%s", tc.answer, got, tc.want, out)
		}
	}
	if got, _ := os.ReadFile(file); string(got) != "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n" {
		t.Errorf("file after the logins: %q", got)
	}
}
