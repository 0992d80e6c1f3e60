package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://otp.example.org", true},
		{"https://otp.example.org/otpgate/", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://otp.example.org", false},
		{"http://192.0.2.1", false},
		{"ftp://otp.example.org", false},
		{"https://user:pw@otp.example.org", false},
		{"https://otp.example.org/?x=1", false},
		{"otp.example.org", false},
		{"", false},
	} {
		if _, err := checkURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkURL(%q) error = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	euid := os.Geteuid()
	good := write("good", "tok-123\n", 0o600)
	if tok, err := readToken(good, euid); err != nil || tok != "tok-123" {
		t.Errorf("readToken(0600 file) = %q, %v; want tok-123", tok, err)
	}
	for _, tc := range []struct{ name, path, wantErr string }{
		{"group readable", write("group", "tok", 0o640), "mode 0640"},
		{"world readable", write("world", "tok", 0o604), "mode 0604"},
		{"empty", write("empty", "\n", 0o600), "empty"},
		{"inner space", write("space", "to k", 0o600), "not printable ASCII"},
		{"too long", write("long", strings.Repeat("t", 5000), 0o600), "longer than 4096"},
		{"missing", filepath.Join(dir, "none"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"no argument", "", "no tokenfile"},
	} {
		if _, err := readToken(tc.path, euid); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("readToken(%s) error = %v, want one with %q", tc.name, err, tc.wantErr)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if _, err := readToken(link, euid); err == nil {
		t.Errorf("readToken(symlink) = nil error, want a refusal")
	}
	if euid == 0 {
		// As root, a token file owned by another user is refused.
		nobodyDir, _, uid, gid := testenv.NobodyDir(t, "tok")
		p := filepath.Join(nobodyDir, "token")
		if err := os.WriteFile(p, []byte("tok"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		if _, err := readToken(p, 0); err == nil || !strings.Contains(err.Error(), "owned by uid") {
			t.Errorf("readToken(owned by nobody, as root) error = %v, want a refusal", err)
		}
	}
}

// TestRun: one request in, one answer out, against a server that checks
// what the protocol says it sends.
func TestRun(t *testing.T) {
	var got map[string]any
	var gotAuth string
	var stop chan struct{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/pam/authenticate", func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		got = nil
		json.NewDecoder(r.Body).Decode(&got)
		if got["code"] == "123456" {
			w.Write([]byte(`{"result":"ok"}`))
			return
		}
		w.WriteHeader(401)
		w.Write([]byte(`{"result":"code_wrong","message":"Wrong code."}`))
	})
	mux.HandleFunc("POST /api/v1/pam/account", func(w http.ResponseWriter, r *http.Request) {
		got = nil
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"result":"denied","message":"Disabled."}`))
	})
	mux.HandleFunc("POST /slow/api/v1/pam/authenticate", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	stop = make(chan struct{})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(stop) // before Close, which waits for handlers
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("host-token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-url=" + srv.URL, "-tokenfile=" + token, "-timeout=500ms"}
	ask := func(args []string, req request) string {
		return run(context.Background(), args, bytes.NewReader(encodeRequest(req)), os.Geteuid()).Line()
	}

	auth := request{Op: "authenticate", User: "alice", Code: "123456", Service: "sshd", RHost: "192.0.2.7", TTY: "ssh"}
	if line := ask(args, auth); line != "ok\n" {
		t.Errorf("right code: %q, want ok", line)
	}
	if gotAuth != "Bearer host-token-1" {
		t.Errorf("Authorization = %q, want the token file's token", gotAuth)
	}
	want := map[string]any{"user": "alice", "code": "123456", "service": "sshd", "rhost": "192.0.2.7", "tty": "ssh"}
	if len(got) != len(want) {
		t.Errorf("request body %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("request %s = %v, want %v", k, got[k], v)
		}
	}
	withPassword := auth
	withPassword.Password, withPassword.HasPassword = "pw", true
	ask(args, withPassword)
	if got["password"] != "pw" {
		t.Errorf("pass_password: request body %v has no password", got)
	}
	if line := ask(args, request{Op: "account", User: "alice", Service: "sshd", RHost: "192.0.2.7", TTY: "ssh"}); line != "denied Disabled.\n" {
		t.Errorf("account: %q", line)
	}
	if len(got) != 4 || got["user"] != "alice" || got["service"] != "sshd" || got["rhost"] != "192.0.2.7" || got["password"] != nil || got["code"] != nil {
		t.Errorf("account request body %v, want the user, service, rhost and tty only", got)
	}
	bad := auth
	bad.User = "al\xffce"
	if line := ask(args, bad); !strings.HasPrefix(line, "invalid user is not UTF-8") {
		t.Errorf("non-UTF-8 user: %q", line)
	}
	start := time.Now()
	slowArgs := []string{"-url=" + srv.URL + "/slow", "-tokenfile=" + token, "-timeout=300ms"}
	if line := ask(slowArgs, auth); !strings.HasPrefix(line, "unavailable") || !strings.Contains(line, "did not answer within 300ms") {
		t.Errorf("slow server: %q", line)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("slow server: answered after %v, want about 300ms", d)
	}
	if line := ask([]string{"-url=" + srv.URL}, auth); line != "unavailable no tokenfile= argument\n" {
		t.Errorf("no token file: %q", line)
	}
	if line := ask([]string{"-tokenfile=" + token, "-bogus"}, auth); !strings.HasPrefix(line, "unavailable helper arguments") {
		t.Errorf("unknown flag: %q", line)
	}
	if line := run(context.Background(), args, strings.NewReader("garbage"), 0).Line(); !strings.HasPrefix(line, "invalid bad request framing") {
		t.Errorf("garbage request: %q", line)
	}
}
