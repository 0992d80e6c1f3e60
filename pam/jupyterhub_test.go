package pam

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestJupyterHub: Debian's JupyterHub 3.0 with its configurable-http-proxy,
// configured by examples/pam/jupyterhub_config.py (its subclass answers
// PAM with the password, then the code, as pamela 1.1+ does for JupyterHub
// 5) and examples/pam/jupyterhub (pam_unix replaced by pam_matrix). The
// test signs in through the login form over plain HTTP.
func TestJupyterHub(t *testing.T) {
	testenv.Root(t)
	hub := testenv.LookPath(t, "jupyterhub")
	testenv.LookPath(t, "configurable-http-proxy")
	testenv.Python(t, "jupyterhub", "pamela")
	s := newFakeServer(t)
	key := s.addUser(t, "root", true)
	s.addUser(t, "nobody", false)
	st := exampleStack(t, "jupyterhub", s, map[string]string{"root": "root-pw", "nobody": "nobody-pw"})

	dir := t.TempDir()
	example, err := filepath.Abs("../examples/pam/jupyterhub_config.py")
	if err != nil {
		t.Fatal(err)
	}
	templates, _ := filepath.Abs("../examples/pam/jupyterhub-templates")
	port, proxyAPI, hubPort := freePort(t), freePort(t), freePort(t)
	config := fmt.Sprintf(`exec(open(%q).read())
c.JupyterHub.bind_url = "http://127.0.0.1:%d"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:%d"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d"
c.JupyterHub.db_url = "sqlite:///%s/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "%s/cookie_secret"
c.JupyterHub.pid_file = "%s/jupyterhub.pid"
c.Authenticator.admin_users = set()
c.PAMAuthenticator.service = %q
c.OTPPAMAuthenticator.service = %q
`, example, port, hubPort, proxyAPI, dir, dir, dir, st.name, st.name)
	cfgFile := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cmd := exec.Command(hub, "-f", cfgFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH=/usr/share/nodejs", "OTPGATE_JUPYTERHUB_TEMPLATES="+templates, "PATH=/usr/bin:/bin:/usr/sbin:/sbin")
	cmd.Stdout, cmd.Stderr = &log, &log
	// The hub starts the proxy: both go in a process group of their own,
	// killed together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM: the hub stops the proxy it started (in a session of
		// its own); then the proxy's pid file, then SIGKILL for the rest.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		if b, err := os.ReadFile(filepath.Join(dir, "jupyterhub-proxy.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("jupyterhub log:\n%s", log.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	var page string
	for {
		r, err := http.Get(base + "/hub/login")
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode == 200 {
				page = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("JupyterHub did not serve /hub/login: %v\n%s", err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(page, "OTP (optional):") || !strings.Contains(page, `name="otp"`) {
		t.Errorf("login form has no OTP (optional): field:\n%s", page)
	}

	// login posts the form and reports whether the hub let the user in
	// (a redirect away from the login page, and /hub/home served).
	login := func(user, password, code string) bool {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		form := url.Values{"username": {user}, "password": {password}, "otp": {code}}
		r, err := c.PostForm(base+"/hub/login", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusFound {
			if !strings.Contains(string(body), "Invalid username or password") {
				t.Errorf("login %s: status %d without the refusal text", user, r.StatusCode)
			}
			return false
		}
		h, err := c.Get(base + "/hub/home")
		if err != nil {
			t.Fatal(err)
		}
		h.Body.Close()
		return h.StatusCode == 200
	}
	code := key.TOTP(time.Now())
	if !login("root", "root-pw", code) {
		t.Errorf("password and right code: not signed in")
	}
	if req := s.lastAuth(); req["service"] != st.name || req["rhost"] != "127.0.0.1" {
		t.Errorf("request %v: want service %s and the client's address as rhost", req, st.name)
	}
	if login("root", "root-pw", code) {
		t.Errorf("replayed code: signed in")
	}
	if login("root", "root-pw", "000000") {
		t.Errorf("wrong code: signed in")
	}
	if login("root", "wrong", key.TOTP(time.Now().Add(30*time.Second))) {
		t.Errorf("wrong password: signed in")
	}
	if !login("nobody", "nobody-pw", "") {
		t.Errorf("no second factor, optional, password alone: not signed in")
	}
}

// syncBuffer is a bytes.Buffer that the hub's output and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
