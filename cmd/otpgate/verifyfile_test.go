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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// buildOtpgate builds this command into a temporary directory.
func buildOtpgate(t *testing.T) string {
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
}

const moduleSO = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so"

func newStockModule(t *testing.T) *stockModule {
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
func (m *stockModule) try(t *testing.T, file string, now int64, answer string, args []string, rhost string) bool {
	t.Helper()
	conf := "auth required " + moduleSO + " secret=" + file + " " + strings.Join(args, " ") + "\n"
	if err := os.WriteFile(filepath.Join(m.pamDir, "otpgate-test"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pamtester := "pamtester otpgate-test root authenticate"
	if rhost != "" {
		pamtester = "pamtester -I rhost=" + rhost + " otpgate-test root authenticate"
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
// after every attempt.
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
			var content []byte
			var args []string
			rhost := ""
			write := func() {
				for _, p := range []string{theirs, mine} {
					os.Remove(p)
					if err := os.WriteFile(p, content, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			attempts := 0
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
					a, _ := os.ReadFile(theirs)
					b, _ := os.ReadFile(mine)
					if !bytes.Equal(a, b) {
						t.Fatalf("%s: answer %q at %d: files differ\nstock module:\n%q\nverify-file:\n%q", where, s.args[1], now, a, b)
					}
					sa, _ := os.Stat(theirs)
					sb, _ := os.Stat(mine)
					if sa.Mode() != sb.Mode() {
						t.Errorf("%s: mode after the stock module %v, after verify-file %v", where, sa.Mode(), sb.Mode())
					}
					content = a
				}
			}
			t.Logf("%d attempts compared", attempts)
		})
	}
}

// currentUser returns the name of the user running the test.
func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// startVerify starts otpgate verify-file on file with the given arguments;
// it blocks reading the answer until the returned pipe is written and closed.
func startVerify(t *testing.T, bin, file string, now int64, args ...string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
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
func exitCode(t *testing.T, cmd *exec.Cmd) int {
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

// TestVerifyFileKilled kills verify-file at random moments while it
// updates a file: the file must always be the old one or the new one.
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

	reset := func() {
		os.Remove(file)
		if err := os.WriteFile(file, old, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// How long does one uninterrupted run take, from the answer to the exit?
	reset()
	cmd, stdin, stderr := startVerify(t, bin, file, 300000)
	begin := time.Now()
	io.WriteString(stdin, "12345678\n")
	stdin.Close()
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("verify-file: exit status %d: %s", code, stderr)
	}
	run := time.Since(begin)

	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for range 150 {
		reset()
		cmd, stdin, _ := startVerify(t, bin, file, 300000)
		io.WriteString(stdin, "12345678\n")
		stdin.Close()
		// The delay only spreads the kills over the run; correctness does
		// not depend on it.
		time.Sleep(time.Duration(rng.Int64N(int64(run) * 3 / 2)))
		cmd.Process.Kill()
		code := exitCode(t, cmd)
		got, err := os.ReadFile(file)
		switch {
		case err != nil:
			t.Fatalf("after a kill: %v", err)
		case bytes.Equal(got, old):
			seen["old"]++
		case bytes.Equal(got, updated):
			seen["new"]++
		default:
			t.Fatalf("after a kill (exit %d) the file is neither old nor new:\n%q", code, got)
		}
		if code == 0 && !bytes.Equal(got, updated) {
			t.Fatalf("accepted, but the file was not updated")
		}
	}
	t.Logf("one run takes %v; after kills: %v", run, seen)
}
