package pam

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/seed"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// otpgateBinary builds cmd/otpgate once for the test binary.
var otpgateBinary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

func buildOtpgate(t testing.TB) string {
	t.Helper()
	otpgateBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "otpgate-pam-test-")
		if err != nil {
			otpgateBinary.err = err
			return
		}
		otpgateBinary.path = filepath.Join(dir, "otpgate")
		cmd := exec.Command("go", "build", "-o", otpgateBinary.path, "../cmd/otpgate")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		otpgateBinary.out, otpgateBinary.err = cmd.CombinedOutput()
	})
	if otpgateBinary.err != nil {
		t.Fatalf("go build ./cmd/otpgate: %v\n%s", otpgateBinary.err, otpgateBinary.out)
	}
	return otpgateBinary.path
}

// TestMain removes the otpgate binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if otpgateBinary.path != "" {
		os.RemoveAll(filepath.Dir(otpgateBinary.path))
	}
	os.Exit(code)
}

// fast are the test's argon2 settings, as cmd/otpgate's tests use them.
var fast = []string{"-argon2-memory", "1024", "-argon2-time", "1", "-argon2-threads", "1"}

// realServer is `otpgate serve` in a process of its own, with users u0
// (TOTP), u1 (TOTP, disabled) and nf (no second factor), and one
// registered host.
type realServer struct {
	url, token string
	seed       []byte
	cmd        *exec.Cmd
	log        *strings.Builder
	logMu      *sync.Mutex
	admin      func(stdin string, args ...string) string // an otpgate command on the server's data
}

// addHost runs otpgate host add and returns the token it printed.
func (s *realServer) addHost(t testing.TB, name string, flags ...string) string {
	t.Helper()
	m := regexp.MustCompile(`\n\n([A-Za-z0-9_-]{43})\n\n`).FindStringSubmatch(s.admin("", append([]string{"host", "add", name}, flags...)...))
	if m == nil {
		t.Fatal("host add printed no token")
	}
	return m[1]
}

func startRealServer(t testing.TB, serveFlags ...string) *realServer {
	t.Helper()
	bin := buildOtpgate(t)
	data := filepath.Join(t.TempDir(), "data")
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(append(args, "-data-dir", data), fast...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("otpgate %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	s := &realServer{seed: []byte("pam test seed"), log: &strings.Builder{}, logMu: &sync.Mutex{}}
	admin("password123\n", "seed", "-accounts", "2", "-seed", string(s.seed), "-prefix", "u", "--password-stdin")
	admin("password123\n", "user", "add", "nf", "--password-stdin")
	admin("", "user", "disable", "u1")
	s.admin = admin
	s.token = s.addHost(t, "pamtest")

	s.cmd = exec.Command(bin, append(append([]string{"serve", "-addr", "127.0.0.1:0", "-data-dir", data}, fast...), serveFlags...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logMu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("otpgate serve did not start:\n%s", s.logText())
	}
	return s
}

func (s *realServer) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

func (s *realServer) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

func (s *realServer) key(name string) otp.Key { return seed.Key(s.seed, name) }

func (s *realServer) args(t testing.TB, extra ...string) string {
	_, helper := built(t)
	return strings.Join(append([]string{"url=" + s.url, "token_file=" + writeToken(t, s.token), "helper=" + helper}, extra...), " ")
}

// webLogin posts the server's sign-in form and reports whether it signed
// the user in (a redirect that sets a cookie).
func (s *realServer) webLogin(t *testing.T, user, password, code string) bool {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.PostForm(s.url+"/login", url.Values{"username": {user}, "password": {password}, "otp": {code}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode/100 == 3 && len(r.Cookies()) > 0
}

// shownMessage is a PAM_ERROR_MSG that pamtester printed after the prompt.
var shownMessage = regexp.MustCompile(`Verification code: (\S[^\n]*)\n`)

// TestRealServer: the module against a real `otpgate serve` with a host
// token made by `otpgate host add`.
func TestRealServer(t *testing.T) {
	s := startRealServer(t)
	plain := authStack(t, s.args(t))
	optional := authStack(t, s.args(t, "optional"))
	account := newStack(t, "account required MODULE "+s.args(t))
	key := s.key("u0")
	code := key.TOTP(time.Now())

	pamtesterItems(t, []string{"rhost=198.51.100.9", "tty=pts/4"}, plain, "u0", code+"\n").check(t, "right code", true, succeededText)
	pamtester(t, plain, "u0", code+"\n").check(t, "replayed code", false, authErr)
	// One code, once, across PAM and the web sign-in.
	if s.webLogin(t, "u0", "password123", code) {
		t.Errorf("web sign-in with the code PAM took: signed in")
	}
	next := key.TOTP(time.Now().Add(30 * time.Second))
	if !s.webLogin(t, "u0", "password123", next) {
		t.Errorf("web sign-in with a fresh code: not signed in")
	}
	pamtester(t, plain, "u0", next+"\n").check(t, "code the web sign-in took", false, authErr)
	wrong := []byte(key.TOTP(time.Now().Add(time.Hour)))
	pamtester(t, plain, "u0", string(wrong)+"\n").check(t, "wrong code", false, authErr)
	pamtester(t, plain, "u0", "\n").check(t, "empty code, second factor", false, authErr)
	pamtester(t, optional, "u0", "\n").check(t, "empty code, second factor, optional", false, authErr)
	pamtester(t, plain, "nf", "\n").check(t, "no second factor, not optional", false, authErr)
	pamtester(t, optional, "nf", "\n").check(t, "no second factor, optional", true, succeededText)
	pamtester(t, plain, "u1", s.key("u1").TOTP(time.Now())+"\n").check(t, "disabled user", false, authErr)
	pamtester(t, account, "u0", "", "acct_mgmt").check(t, "account, enabled", true, accountOK)
	pamtester(t, account, "u1", "", "acct_mgmt").check(t, "account, disabled", false, permDenied)

	// pass_password on a host allowed to have passwords checked: the
	// password an earlier module stored (pam_set_items sets PAM_AUTHTOK
	// from the environment) goes to the server, which checks it; nf has
	// no second factor, so only the password decides.
	pwHost := s.addHost(t, "pwhost", "--allow-password")
	_, helper := built(t)
	pwArgs := "url=" + s.url + " token_file=" + writeToken(t, pwHost) + " helper=" + helper + " optional"
	pw := newStack(t, "auth required "+pamSetItems, "auth required MODULE "+pwArgs+" pass_password")
	pamtesterEnv(t, []string{"PAM_AUTHTOK=password123"}, nil, pw, "nf", "\n").check(t, "pass_password, right password", true, succeededText)
	pamtesterEnv(t, []string{"PAM_AUTHTOK=not-the-password"}, nil, pw, "nf", "\n").check(t, "pass_password, wrong password", false, authErr)
	// Without pass_password the server does not check it.
	noPW := newStack(t, "auth required "+pamSetItems, "auth required MODULE "+pwArgs)
	pamtesterEnv(t, []string{"PAM_AUTHTOK=not-the-password"}, nil, noPW, "nf", "\n").check(t, "no pass_password", true, succeededText)

	// Wrong codes until the server's code budget makes them wait: then the
	// module shows the server's message, and even a right code is refused.
	throttled := false
	for i := 0; i < 30 && !throttled; i++ {
		r := pamtester(t, plain, "u0", string(wrong)+"\n")
		r.check(t, "wrong code", false, authErr)
		if m := shownMessage.FindStringSubmatch(r.out); m != nil && !strings.HasPrefix(m[1], "pamtester:") {
			throttled = true
			t.Logf("throttled after %d more wrong codes: %q", i+1, m[1])
		}
	}
	if !throttled {
		t.Errorf("30 wrong codes and no throttle message")
	}
	pamtester(t, plain, "u0", key.TOTP(time.Now().Add(30*time.Second))+"\n").check(t, "right code while throttled", false, authErr)

	bad := authStack(t, "url="+s.url+" token_file="+writeToken(t, strings.Repeat("A", 43))+" helper="+build.helper)
	pamtester(t, bad, "u0", key.TOTP(time.Now())+"\n").check(t, "unknown host token", false, authInfoUnav)

	if log := s.logText(); !strings.Contains(log, "198.51.100.9") || strings.Contains(log, code) || strings.Contains(log, s.token) {
		t.Errorf("server log lacks PAM_RHOST, or holds the code or the token:\n%s", log)
	}

	s.stop()
	r := pamtester(t, plain, "u0", key.TOTP(time.Now())+"\n")
	r.check(t, "server stopped", false, authInfoUnav)
	if r.elapsed > 3*time.Second {
		t.Errorf("server stopped: answered after %v, want within the 3s timeout", r.elapsed)
	}
	t.Logf("server stopped: answered in %v", r.elapsed.Round(time.Millisecond))
}

// TestRealServerUserFile: a user whose second factor is a
// google-authenticator file the server reads (-user-file) logs in through
// pam_otpgate, and Google's module on the same file refuses the code
// otpgate took, and the other way round: a site can move host by host.
func TestRealServerUserFile(t *testing.T) {
	google := googleModule(t)
	dir, _, uid, gid := testenv.NobodyDir(t, "files")
	file := filepath.Join(dir, "nobody")
	const secret = "QRN6OXBEKOJQY6IMIIDS5OWC7Y"
	if err := os.WriteFile(file, []byte(secret+"\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, uid, gid); err != nil {
		t.Fatal(err)
	}
	s := startRealServer(t, "-user-file", dir+"/${USER}")
	s.admin("password of nobody\n", "user", "add", "--password-stdin", "nobody")
	sec, err := otp.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: sec}
	ours := authStack(t, s.args(t))
	stock := newStack(t, "auth required pam_permit.so", "auth required "+google+" secret="+file+" user=nobody")

	now := time.Now()
	code := key.TOTP(now)
	pamtester(t, ours, "nobody", code+"\n").check(t, "pam_otpgate, the file's current code", true, succeededText)
	pamtester(t, stock, "nobody", code+"\n").check(t, "Google's module, the code otpgate took", false, authErr)
	next := key.TOTP(now.Add(30 * time.Second))
	pamtester(t, stock, "nobody", next+"\n").check(t, "Google's module, a fresh code", true, succeededText)
	pamtester(t, ours, "nobody", next+"\n").check(t, "pam_otpgate, the code Google's module took", false, authErr)
}
