package pam

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

// Debian's libpam-wrapper: a preloaded libpam that reads service files
// from a directory of the test's, and pam_matrix, a password module with
// a passdb file of the test's (the password before the code, as pam_unix
// would be on a real host).
const (
	pamWrapper  = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
	pamMatrix   = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
	pamSetItems = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so"
)

// PAM return codes (security/_pam_types.h).
const (
	pamSuccess         = 0
	pamPermDenied      = 6
	pamAuthErr         = 7
	pamAuthInfoUnavail = 9
	pamConvErr         = 19
)

// wrappedStack is a service under pam_wrapper: password (pam_matrix),
// then pam_otpgate with args, for auth and account.
type wrappedStack struct {
	dir, service string
}

func newWrappedStack(t *testing.T, passwords map[string]string, args string) wrappedStack {
	t.Helper()
	for _, f := range []string{pamWrapper, pamMatrix} {
		if _, err := os.Stat(f); err != nil {
			testenv.SkipOrFail(t, "%s missing (libpam-wrapper)", f)
		}
	}
	module, _ := built(t)
	dir := t.TempDir()
	service := "jupyterhub"
	var passdb strings.Builder
	for user, pw := range passwords {
		passdb.WriteString(user + ":" + pw + ":" + service + "\n")
	}
	db := filepath.Join(dir, "passdb")
	if err := os.WriteFile(db, []byte(passdb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := strings.Join([]string{
		"auth required " + pamMatrix + " passdb=" + db,
		"auth required " + module + " " + args,
		"account required " + module + " " + args,
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, service), []byte(svc), 0o644); err != nil {
		t.Fatal(err)
	}
	return wrappedStack{dir: dir, service: service}
}

// python runs a script under pam_wrapper and returns its output and the
// module's log lines (pam_wrapper prints pam_syslog calls on stderr).
func (w wrappedStack) python(t *testing.T, py, script string, args ...string) (out, log string) {
	t.Helper()
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", script), w.service}, args...)...)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+pamWrapper, "PAM_WRAPPER=1", "PAM_WRAPPER_SERVICE_DIR="+w.dir, "PAM_WRAPPER_DEBUGLEVEL=2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s%s", script, args, err, b, stderr.String())
	}
	return strings.TrimSpace(string(b)), stderr.String()
}

// pamelaStack is a service in /etc/pam.d (real libpam, as JupyterHub
// uses it): pam_matrix for the password, then pam_otpgate.
func pamelaStack(t *testing.T, passwords map[string]string, args string) stack {
	t.Helper()
	w := newWrappedStack(t, passwords, args)
	b, err := os.ReadFile(filepath.Join(w.dir, w.service))
	if err != nil {
		t.Fatal(err)
	}
	st := newStack(t, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	// pam_matrix allows a user only the service named in its passdb.
	db := filepath.Join(w.dir, "passdb")
	p, _ := os.ReadFile(db)
	if err := os.WriteFile(db, []byte(strings.ReplaceAll(string(p), ":"+w.service+"\n", ":"+st.name+"\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return st
}

func pamela(t *testing.T, py string, st stack, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", "pamela_login.py"), st.name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pamela_login.py %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPamela signs in the way JupyterHub does through pamela: hidden
// prompts get the password, then the code.
func TestPamela(t *testing.T) {
	py := testenv.Python(t, "pamela")
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	s.addUser(t, "bob", false)
	s.addUser(t, "carol", true)
	s.disable("carol")
	pw := map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
	optional := pamelaStack(t, pw, otpgateArgs(t, s, "optional", "[prompt=OTP (optional): ]"))
	code := key.TOTP(time.Now())
	for _, tc := range []struct {
		name    string
		user    string
		answers []string
		want    string
	}{
		{"password and code", "alice", []string{"alice-pw", code}, "authenticate 0\naccount 0"},
		{"replayed code", "alice", []string{"alice-pw", code}, "authenticate 7"},
		{"wrong password", "alice", []string{"wrong", code}, "authenticate 7"},
		{"empty code, second factor", "alice", []string{"alice-pw", ""}, "authenticate 7"},
		{"no code given: a second hidden prompt fails the conversation", "alice", []string{"alice-pw"}, "authenticate 19"},
		{"empty code, no second factor, optional", "bob", []string{"bob-pw", ""}, "authenticate 0\naccount 0"},
		{"disabled user", "carol", []string{"carol-pw", "123456"}, "authenticate 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pamela(t, py, optional, append([]string{tc.user}, tc.answers...)...); got != tc.want {
				t.Errorf("pamela %s %q = %q, want %q", tc.user, tc.answers, got, tc.want)
			}
		})
	}
	required := pamelaStack(t, pw, otpgateArgs(t, s))
	if got := pamela(t, py, required, "bob", "bob-pw", ""); got != "authenticate 7" {
		t.Errorf("no second factor, not optional: %q, want authenticate 7", got)
	}
}

// TestPypamtest: with libpam-wrapper's own harness, hidden and visible
// prompts answered from separate lists; the module asks only hidden ones,
// and shows the server's throttle message as an error message.
func TestPypamtest(t *testing.T) {
	py := testenv.Python(t, "pypamtest")
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	st := newWrappedStack(t, map[string]string{"alice": "alice-pw"}, otpgateArgs(t, s))
	run := func(want int, hidden, visible []string) (string, map[string][]string, string) {
		h, _ := json.Marshal(append([]string{}, hidden...))
		v, _ := json.Marshal(append([]string{}, visible...))
		out, log := st.python(t, py, "pypamtest_login.py", "alice", itoa(want), string(h), string(v))
		verdict, rest, _ := strings.Cut(out, " ")
		var msgs map[string][]string
		if verdict == "pass" {
			json.Unmarshal([]byte(rest), &msgs)
		}
		return out, msgs, log
	}
	code := key.TOTP(time.Now())
	if out, _, _ := run(pamSuccess, []string{"alice-pw", code}, nil); !strings.HasPrefix(out, "pass") {
		t.Errorf("password and code: %s", out)
	}
	// The code as a visible answer is never read: the module asks hidden.
	if out, _, _ := run(pamAuthErr, []string{"alice-pw"}, []string{key.TOTP(time.Now().Add(30 * time.Second))}); !strings.HasPrefix(out, "pass") {
		t.Errorf("code only as a visible answer: %s", out)
	}
	if got := s.lastRequest()["code"]; got != "" {
		t.Errorf("code only as a visible answer: the server got code %q, want none", got)
	}
	// An answer of 100 KB (argv's limit is 128 KB a string): the module
	// refuses it itself, and the server hears nothing.
	before := len(s.requests)
	out, _, log := run(pamAuthErr, []string{"alice-pw", strings.Repeat("7", 100<<10)}, nil)
	if !strings.HasPrefix(out, "pass") || !strings.Contains(log, "code longer than 1024 bytes") || len(s.requests) != before {
		t.Errorf("100 KB code: %s, log %q, %d server requests", out, log, len(s.requests)-before)
	}
	for range maxFailures {
		run(pamAuthErr, []string{"alice-pw", "000000"}, nil)
	}
	next := key.TOTP(time.Now().Add(30 * time.Second))
	out, msgs, log := run(pamAuthErr, []string{"alice-pw", next}, nil)
	if !strings.HasPrefix(out, "pass") || len(msgs["errors"]) == 0 || !strings.Contains(msgs["errors"][0], "Too many wrong codes") {
		t.Errorf("throttled: %s, want PAM_AUTH_ERR with the server's message", out)
	}
	if !strings.Contains(log, `user "alice": refused: throttled`) || strings.Contains(log, next) {
		t.Errorf("throttled: log %q, want one refusal line without the code", log)
	}
	s.Close()
	out, _, log = run(pamAuthInfoUnavail, []string{"alice-pw", next}, nil)
	if !strings.HasPrefix(out, "pass") {
		t.Errorf("server stopped: %s", out)
	}
	if !strings.Contains(log, `user "alice": server unavailable: server 127.0.0.1`) || strings.Contains(log, next) {
		t.Errorf("server stopped: log %q, want the reason and not the code", log)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
