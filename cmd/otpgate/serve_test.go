package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fastFlags keep password hashing quick in tests.
var fastFlags = []string{"-argon2-memory", "1024", "-argon2-time", "1", "-argon2-threads", "1"}

// server is `otpgate serve` running in-process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() error
}

func startServer(t testing.TB, dataDir string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-data-dir", dataDir}, fastFlags...)
	args = append(args, extra...)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), s.stdout, s.stderr)
	}()
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("serve did not stop")
		}
	}
	addrRe := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := addrRe.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Poll /healthz as a client would.
	for {
		r, err := http.Get(s.url + "/healthz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// log returns the server's log so far, once the lines of every request
// answered before the call have been written out (the server buffers its
// log for up to logFlushInterval).
func (s *server) log() string {
	time.Sleep(3 * logFlushInterval)
	return s.stderr.String()
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar}}
}

// post submits a form, following redirects, and returns the final page.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	r, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(body)
}

var (
	setupRe = regexp.MustCompile(`(/setup\?token=[A-Za-z0-9_-]+)`)
	keyRe   = regexp.MustCompile(`<code class="key" id="key"[^>]*>([A-Z2-7 ]+)</code>`)
	idRe    = regexp.MustCompile(`name="id" value="([0-9a-f]+)"`)
)

// TestServeEndToEnd runs the server on 127.0.0.1:0 and goes through first
// start, an operator command while it runs, TOTP setup, both logins, the
// JSON API, a restart, and a graceful stop.
func TestServeEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	m := setupRe.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no setup link on stdout:\n%s", s.stdout)
	}
	// The log, on stderr, says where the link is, and does not hold it.
	if logs := s.stderr.String(); strings.Contains(logs, "token=") || !strings.Contains(logs, "link to create the first administrator is on standard output") {
		t.Errorf("log (stderr) holds the setup link or does not point to it:\n%s", logs)
	}
	for _, f := range []string{"otpgate.db", "secret.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("data directory lacks %s: %v", f, err)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "secret.key")); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode = %v, want 0600", st.Mode())
	}
	admin := newBrowser(t, s.url)
	if _, body := admin.get(m[1]); !strings.Contains(body, "Create the first administrator") {
		t.Fatalf("setup page:\n%s", body)
	}
	token := strings.TrimPrefix(m[1], "/setup?token=")
	if code, body := admin.post("/setup", url.Values{"token": {token}, "username": {"admin"}, "password": {"admin password"}, "confirm": {"admin password"}}); code != 200 || !strings.Contains(body, "Set up TOTP") {
		t.Fatalf("POST /setup = %d\n%s", code, body)
	}

	// The operator adds a user while the server runs.
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "alice"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("alice password\n"), &out, &errb)
	if err != nil {
		t.Fatalf("user add = %v\n%s", err, errb.String())
	}

	alice := newBrowser(t, s.url)
	if code, body := alice.post("/login", url.Values{"username": {"alice"}, "password": {"alice password"}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("alice's login = %d\n%s", code, body)
	}
	_, body := alice.post("/settings/security/totp", nil)
	km, im := keyRe.FindStringSubmatch(body), idRe.FindStringSubmatch(body)
	if km == nil || im == nil {
		t.Fatalf("no key on the setup page:\n%s", body)
	}
	secret, err := otp.DecodeSecret(km[1])
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	code, body := alice.post("/settings/security/totp/confirm", url.Values{"id": {im[1]}, "code": {key.TOTP(time.Now())}})
	if code != 200 || !strings.Contains(body, "TOTP is enabled") {
		t.Fatalf("confirm = %d\n%s", code, body)
	}
	recovery := regexp.MustCompile(`<li><code>([a-z2-7-]{19})</code></li>`).FindStringSubmatch(body)
	if recovery == nil {
		t.Fatalf("no recovery code on the confirmation page:\n%s", body)
	}
	alice.post("/logout", nil)

	// Two-step login with a code of the next step (the last one is used).
	b := newBrowser(t, s.url)
	if _, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice password"}}); !strings.Contains(body, "Verification code") {
		t.Fatalf("login with TOTP did not ask for the code:\n%s", body)
	}
	next := key.TOTP(time.Now().Add(30 * time.Second))
	if code, body := b.post("/login/totp", url.Values{"code": {next}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("second step = %d\n%s", code, body)
	}
	// The API refuses the same code (replay), and lists users.
	req, _ := http.NewRequest("POST", s.url+"/api/v1/verify", strings.NewReader(`{"username":"alice","password":"alice password","otp":"`+next+`"}`))
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiBody, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 401 || !strings.Contains(string(apiBody), `"code_wrong"`) {
		t.Errorf("API with a used code = %d %s", r.StatusCode, apiBody)
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "list", "-data-dir", dir}, func(string) string { return "" }, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`alice\s+local\s+no\s+no\s+yes`).MatchString(out.String()) || !regexp.MustCompile(`admin\s+local\s+yes\s+no\s+no`).MatchString(out.String()) {
		t.Errorf("user list =\n%s", out.String())
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve on cancel = %v, want nil", err)
	}
	logs := s.stderr.String()
	for _, want := range []string{"msg=\"shutting down\"", "msg=stopped", "path=/login/totp status=303 ", "user=alice"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, secret := range []string{"alice password", "admin password", next, token, km[1]} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds a secret")
		}
	}

	// A restart keeps everything and prints no new setup link.
	s2 := startServer(t, dir)
	defer s2.stop()
	if strings.Contains(s2.stdout.String(), "/setup") {
		t.Errorf("second start printed a setup link")
	}
	c := newBrowser(t, s2.url)
	if _, body := c.post("/login", url.Values{"username": {"alice"}, "password": {"alice password"}, "otp": {recovery[1]}}); !strings.Contains(body, "You used a recovery code") {
		t.Errorf("one-form login after restart failed:\n%s", body)
	}
}

func TestServeHelpDocumentsEverySetting(t *testing.T) {
	out, _, err := runCmd(t, "serve", "--help")
	if err != nil {
		t.Fatalf("serve --help = %v", err)
	}
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	configFlags(fs, &c)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out, "-"+f.Name+" ") || !strings.Contains(out, envName(f.Name)) {
			t.Errorf("serve --help lacks -%s or %s", f.Name, envName(f.Name))
		}
	})
}

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "otpgate.conf")
	os.WriteFile(file, []byte("# settings\nissuer = FromFile\naddr = 127.0.0.1:7000\ntotp-skew = 2\nrequire-totp = true\nlog-level = debug\n"), 0o600)
	env := map[string]string{"OTPGATE_ADDR": "127.0.0.1:7001", "OTPGATE_CONFIG": file, "OTPGATE_DATA_DIR": "/from/env"}
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFlags(fs, &c)
	if _, err := loadConfig(fs, []string{"-data-dir", "/from/flag"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"flag over env", c.DataDir, "/from/flag"},
		{"env over file", c.Addr, "127.0.0.1:7001"},
		{"file over default", c.Issuer, "FromFile"},
		{"default", c.LogFormat, "text"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if c.TOTPSkew != 2 || !c.RequireTOTP || c.LogLevel != slog.LevelDebug {
		t.Errorf("file settings: skew %d require %v log level %v, want 2 true DEBUG", c.TOTPSkew, c.RequireTOTP, c.LogLevel)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("no-such-setting = 1\n"), 0o600)
	tests := []struct {
		name string
		args []string
	}{
		{"bad addr", []string{"serve", "-addr", "nope"}},
		{"bad base url", []string{"serve", "-base-url", "ftp://x"}},
		{"bad skew", []string{"serve", "-totp-skew", "99"}},
		{"bad log format", []string{"serve", "-log-format", "xml"}},
		{"bad log level", []string{"serve", "-log-level", "loud"}},
		{"unknown flag", []string{"serve", "-frob"}},
		{"bad config line", []string{"serve", "-config", bad}},
		{"missing config", []string{"serve", "-config", filepath.Join(dir, "missing")}},
		{"argument", []string{"serve", "-data-dir", dir, "extra"}},
		{"bad throttle", []string{"serve", "-throttle-account-base", "0s"}},
		{"bad cookie domain", []string{"serve", "-cookie-domain", "Example.ORG"}},
		{"cookie domain not over base url", []string{"serve", "-cookie-domain", "example.org", "-base-url", "https://mfa.example.net"}},
		{"bad trusted proxy", []string{"serve", "-trusted-proxies", "127.0.0.1,proxy.example.org"}},
		{"missing rules", []string{"serve", "-access-rules", filepath.Join(dir, "missing")}},
		{"bad rules", []string{"serve", "-access-rules", bad}},
		{"bad cache ttl", []string{"serve", "-session-cache-ttl", "-1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.args...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Errorf("run(%q) = %v, want exit status 2", tc.args, err)
			}
		})
	}
}

func TestSecretKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	k1, err := loadOrCreateKey(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("loadOrCreateKey = %d bytes, %v", len(k1), err)
	}
	k2, err := loadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second load = %v, want the same key", err)
	}
	os.Chmod(path, 0o644)
	if _, err := loadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("key readable by others: %v, want a refusal", err)
	}
	os.Chmod(path, 0o600)
	os.WriteFile(path, []byte("not hex"), 0o600)
	if _, err := loadOrCreateKey(path); err == nil {
		t.Errorf("garbage key file accepted")
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	user := func(stdin string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		all := append(append([]string{"user"}, args...), append([]string{"-data-dir", dir}, fastFlags...)...)
		err := run(context.Background(), all, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
		return out.String(), err
	}
	status := func(err error) int {
		var ee exitError
		if err == nil {
			return 0
		}
		if errors.As(err, &ee) {
			return ee.code
		}
		return -1
	}
	tests := []struct {
		name   string
		stdin  string
		args   []string
		want   int
		output string
	}{
		{"add", "bob password\n", []string{"add", "--password-stdin", "bob"}, 0, "user bob added"},
		{"add admin, flags after name", "carol password", []string{"add", "carol", "-admin", "--password-stdin"}, 0, "user carol added"},
		{"add duplicate", "bob password\n", []string{"add", "--password-stdin", "bob"}, 1, ""},
		{"add short password", "short\n", []string{"add", "--password-stdin", "dave"}, 1, ""},
		{"add bad name", "long enough pw\n", []string{"add", "--password-stdin", "da ve"}, 1, ""},
		{"add no terminal", "", []string{"add", "erin"}, 2, ""},
		{"add empty stdin", "", []string{"add", "--password-stdin", "erin"}, 1, ""},
		{"add no name", "", []string{"add"}, 2, ""},
		{"add with profile", "dave password\n", []string{"add", "--password-stdin", "--display-name", "Dave Ünder", "--groups", "Staff, hpc,staff", "dave"}, 0, "user dave added"},
		{"add bad group", "erin password\n", []string{"add", "--password-stdin", "--groups", "hpc,a b", "erin"}, 1, ""},
		{"add bad display name", "erin password\n", []string{"add", "--password-stdin", "--display-name", "Erin\r\nX-Evil: 1", "erin"}, 1, ""},
		{"set display name", "", []string{"set", "bob", "--display-name", "Bob B."}, 0, `user bob: display name "Bob B.", groups ""`},
		{"set groups", "", []string{"set", "bob", "--groups", "jupyter"}, 0, `user bob: display name "Bob B.", groups "jupyter"`},
		{"set nothing", "", []string{"set", "bob"}, 2, ""},
		{"set bad group", "", []string{"set", "bob", "--groups", "-x"}, 1, ""},
		{"set unknown", "", []string{"set", "nobody", "--groups", "x"}, 1, ""},
		{"profile flag on disable", "", []string{"disable", "bob", "--groups", "x"}, 2, ""},
		{"passwd", "new bob password\n", []string{"passwd", "--password-stdin", "bob"}, 0, "password of bob changed"},
		{"passwd unknown", "new password\n", []string{"passwd", "--password-stdin", "nobody"}, 1, ""},
		{"disable", "", []string{"disable", "bob"}, 0, "user bob disabled"},
		{"list", "", []string{"list"}, 0, "carol"},
		{"enable", "", []string{"enable", "bob"}, 0, "user bob enabled"},
		{"reset-totp", "", []string{"reset-totp", "bob"}, 0, "TOTP of bob removed"},
		{"delete", "", []string{"delete", "carol"}, 0, "user carol deleted"},
		{"delete unknown", "", []string{"delete", "carol"}, 1, ""},
		{"unknown action", "", []string{"frob"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := user(tc.stdin, tc.args...)
			if status(err) != tc.want || !strings.Contains(out, tc.output) {
				t.Errorf("user %q = %q, %v, want status %d and %q", tc.args, out, err, tc.want, tc.output)
			}
		})
	}
	out, _ := user("", "list")
	if !regexp.MustCompile(`bob\s+local\s+no\s+no\s+no\s+\S+ \S+\s+jupyter\s+Bob B\.\n`).MatchString(out) || strings.Contains(out, "carol") ||
		!regexp.MustCompile(`dave\s+local\s+no\s+no\s+no\s+\S+ \S+\s+hpc,staff\s+Dave Ünder\n`).MatchString(out) {
		t.Errorf("final list =\n%s", out)
	}
}

// TestServeForwardAuth runs serve with forward-auth settings from the
// command line and a rules file, and checks that a user made with the user
// command passes with the identity headers, and that a refused rule, a
// missing session and an untrusted header source are refused.
func TestServeForwardAuth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	rules := filepath.Join(t.TempDir(), "rules.conf")
	os.WriteFile(rules, []byte("host app.example.org path /staff groups staff second-factor optional\nhost app.example.org deny\n"), 0o600)
	s := startServer(t, dir, "-trusted-proxies", "127.0.0.1/32", "-access-rules", rules, "-session-cache-ttl", "0")
	defer s.stop()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "--display-name", "Ann Ng", "--groups", "staff,hpc", "ann"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("ann password\n"), &out, &errb)
	if err != nil {
		t.Fatalf("user add = %v\n%s", err, errb.String())
	}
	ann := newBrowser(t, s.url)
	if code, body := ann.post("/login", url.Values{"username": {"ann"}, "password": {"ann password"}}); code != 200 || !strings.Contains(body, "Personal settings") {
		t.Fatalf("ann's login = %d\n%s", code, body)
	}
	check := func(original string, want int, wantUser string) http.Header {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/auth/nginx", nil)
		req.Header.Set("X-Original-URL", original)
		r, err := ann.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want || r.Header.Get("Remote-User") != wantUser {
			t.Errorf("/auth/nginx for %s = %d %q, want %d %q", original, r.StatusCode, r.Header.Get("Remote-User"), want, wantUser)
		}
		return r.Header
	}
	h := check("https://app.example.org/staff/x", 200, "ann")
	if h.Get("Remote-Name") != "Ann Ng" || h.Get("Remote-Groups") != "hpc,staff" {
		t.Errorf("identity headers = %q", h)
	}
	check("https://app.example.org/other", 403, "")
	// The user command changes groups; with the cache off, at once.
	err = run(context.Background(), []string{"user", "set", "-data-dir", dir, "ann", "--groups", "hpc"},
		func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("user set = %v", err)
	}
	check("https://app.example.org/staff/x", 403, "")
	ann.post("/logout", nil)
	check("https://app.example.org/staff/x", 401, "")
}

// TestDataDirPrivate: a data directory made beforehand with a wider mode
// is made 0700 by the first command that opens the store; one owned by
// another user is refused.
func TestDataDirPrivate(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"user add", []string{"user", "add", "bob", "--password-stdin"}},
		{"serve", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
				t.Fatal(err)
			}
			if tc.args == nil {
				s := startServer(t, dir)
				defer s.stop()
			} else if out, err := runInput(t, "a password long enough\n", append(append(tc.args, "-data-dir", dir), fastFlags...)...); err != nil {
				t.Fatalf("%s = %v\n%s", tc.name, err, out)
			}
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 {
				t.Errorf("data directory made 0755 beforehand, after %s: mode %v, want 0700", tc.name, st.Mode().Perm())
			}
		})
	}
	t.Run("another user's", func(t *testing.T) {
		dir, _, _, _ := testenv.NobodyDir(t, "data")
		_, err := runInput(t, "", "user", "list", "-data-dir", dir)
		if err == nil || !strings.Contains(err.Error(), "owned by uid") {
			t.Errorf("user list on a data directory owned by nobody = %v, want a refusal", err)
		}
	})
}
