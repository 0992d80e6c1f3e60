package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// startJupyter runs the Debian notebook server, without auth of its own, on
// a free loopback port, serving dir, and returns its address.
func startJupyter(t testing.TB, dir string) string {
	t.Helper()
	bin := testenv.LookPath(t, "jupyter-notebook")
	// Debian's kernel is /usr/bin/python3 -m ipykernel_launcher.
	if exec.Command("/usr/bin/python3", "-c", "import ipykernel").Run() != nil {
		testenv.SkipOrFail(t, "python3-ipykernel missing (the notebook's kernel)")
	}
	nbDir := filepath.Join(dir, "notebooks")
	home := filepath.Join(dir, "jupyter-home")
	for _, d := range []string{nbDir, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nb := `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	if err := os.WriteFile(filepath.Join(nbDir, "e2e.ipynb"), []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port="+port,
		"--port-retries=0", "--NotebookApp.token=", "--NotebookApp.password=",
		// Host is the public name the proxy passes on.
		"--NotebookApp.allow_remote_access=True", "--notebook-dir="+nbDir)
	cmd.Env = append(os.Environ(), "HOME="+home, "JUPYTER_CONFIG_DIR="+filepath.Join(home, "config"),
		"JUPYTER_DATA_DIR="+filepath.Join(home, "data"), "JUPYTER_RUNTIME_DIR="+filepath.Join(home, "runtime"),
		"IPYTHONDIR="+filepath.Join(home, "ipython"), "PATH=/usr/bin:/bin:/usr/sbin:/sbin")
	waitListening(t, addr, "jupyter-notebook", startProcess(t, cmd, filepath.Join(dir, "jupyter.log")))
	return addr
}

// echoUpstream is an app beside Jupyter that answers with the request
// headers it received, as the proxy passed them on.
func echoUpstream(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "uri": r.RequestURI, "headers": r.Header})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// fileUser is a system account whose second factor is the
// ~/.google_authenticator file made by our google-authenticator command.
type fileUser struct {
	name string
	home string
	file string
	key  otp.Key
}

// newFileUser creates a system user (removed when the test ends) with a
// home under dir, and runs our google-authenticator in it non-interactively:
// TOTP, reuse refused, 10 logins per 30 s, a window of 5 codes.
func newFileUser(t testing.TB, dir, name string) *fileUser {
	t.Helper()
	testenv.Root(t)
	useradd := testenv.LookPath(t, "useradd")
	userdel := testenv.LookPath(t, "userdel")
	// A run killed before its clean-up may have left the account behind.
	if _, err := user.Lookup(name); err == nil {
		exec.Command(userdel, name).Run()
	}
	homes := filepath.Join(dir, "home")
	home := filepath.Join(homes, name)
	if out, err := exec.Command(useradd, "--system", "--no-create-home", "--home-dir", home,
		"--shell", "/usr/sbin/nologin", "--user-group", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(userdel, name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	// The account (the stock module drops to it) must reach its home:
	// the test's temporary directories are 0700.
	for _, d := range []string{filepath.Dir(dir), dir, homes} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ga := filepath.Join(t.TempDir(), "google-authenticator")
	if out, err := exec.Command("go", "build", "-o", ga, "../google-authenticator").CombinedOutput(); err != nil {
		t.Fatalf("go build google-authenticator: %v\n%s", err, out)
	}
	cmd := exec.Command(ga, "-t", "-d", "-f", "-C", "-q", "-Q", "NONE", "-r", "10", "-R", "30", "-w", "5", "-e", "2",
		"-l", name+"@"+gateDomain, "-i", "otpgate-e2e")
	cmd.Env = append(os.Environ(), "HOME="+home, "USER="+name)
	cmd.Stdin = strings.NewReader("")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("google-authenticator: %v\n%s", err, out)
	}
	file := filepath.Join(home, ".google_authenticator")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gafile.Parse(data)
	if err != nil {
		t.Fatalf("google-authenticator wrote a file gafile cannot read: %v", err)
	}
	for _, p := range []string{home, file} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return &fileUser{name: name, home: home, file: file, key: otp.Key{Secret: f.Secret()}}
}

// stockPAM asks the stock PAM module, through pamtester as the file's
// user, whether it accepts code now (see stockModule).
func (u *fileUser) stockPAM(t testing.TB, code string) bool {
	t.Helper()
	m := newStockModule(t)
	m.user = u.name
	return m.try(t, u.file, time.Now().Unix(), code, nil, "")
}

// jupyterJSON sends an API request to the notebook through c the way the
// notebook's own pages do (the _xsrf cookie echoed in X-XSRFToken) and
// decodes the JSON answer into v.
func jupyterJSON(t testing.TB, c *http.Client, method, url string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == "_xsrf" {
			req.Header.Set("X-XSRFToken", ck.Value)
		}
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer r.Body.Close()
	if r.StatusCode/100 == 2 && v != nil {
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return r.StatusCode
}

// websocketUpgrade asks for a websocket on url through c (with its
// cookies) and returns the status: 101 when the upgrade went through.
func websocketUpgrade(t testing.TB, c *http.Client, url, origin string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Origin", origin)
	r, err := noFollow(c).Do(req)
	if err != nil {
		t.Fatalf("websocket %s: %v", url, err)
	}
	r.Body.Close()
	if r.StatusCode == http.StatusSwitchingProtocols && r.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("websocket %s: 101 without the right Sec-WebSocket-Accept: %q", url, r.Header.Get("Sec-WebSocket-Accept"))
	}
	return r.StatusCode
}

// describe is a short account of a response for error messages.
func describe(r *http.Response) string {
	return fmt.Sprintf("%s %s -> %d (Location %q)", r.Request.Method, r.Request.URL, r.StatusCode, r.Header.Get("Location"))
}
