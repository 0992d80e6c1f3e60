package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// hostTokenRe finds the token "host add" prints.
var hostTokenRe = regexp.MustCompile(`\n\n([A-Za-z0-9_-]{43})\n\n`)

func TestHostCommands(t *testing.T) {
	dir := t.TempDir()
	host := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		all := append(append([]string{"host"}, args...), append([]string{"-data-dir", dir}, fastFlags...)...)
		err := run(context.Background(), all, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
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
		args   []string
		want   int
		output string
	}{
		{"add", []string{"add", "web1"}, 0, "host web1 added (second-factor checks); its token, shown this once:"},
		{"add, where the token goes", []string{"add", "web2"}, 0, "in a file only root can read (mode 0600), which pam_otpgate reads (token_file=/etc/otpgate/host.token)"},
		{"add allowing passwords, flag after name", []string{"add", "Jupyter", "--allow-password"}, 0, "host jupyter added (second-factor and password checks)"},
		{"add duplicate", []string{"add", "web1"}, 1, ""},
		{"add bad name", []string{"add", "web 1"}, 1, ""},
		{"add no name", []string{"add"}, 2, ""},
		{"add two names", []string{"add", "a", "b"}, 2, ""},
		{"list with a name", []string{"list", "web1"}, 2, ""},
		{"allow-password on remove", []string{"remove", "web2", "--allow-password"}, 2, ""},
		{"list", []string{"list"}, 0, "NAME     ALLOW-PASSWORD  CREATED\njupyter  yes"},
		{"remove", []string{"remove", "web2"}, 0, "host web2 removed; its token no longer works"},
		{"remove unknown", []string{"remove", "web2"}, 1, ""},
		{"unknown action", []string{"frob"}, 2, ""},
		{"help", []string{"help"}, 0, "usage: otpgate host <action>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := host(tc.args...)
			if status(err) != tc.want || !strings.Contains(out, tc.output) {
				t.Errorf("host %q = %q, %v, want status %d and %q", tc.args, out, err, tc.want, tc.output)
			}
			if tc.want == 0 && tc.args[0] == "add" && hostTokenRe.FindStringSubmatch(out) == nil {
				t.Errorf("host %q = %q, want a token on a line of its own", tc.args, out)
			}
		})
	}
	out, _ := host("list")
	if !regexp.MustCompile(`(?m)^jupyter\s+yes\s+\S+ \S+\nweb1\s+no\s+\S+ \S+\n$`).MatchString(out) {
		t.Errorf("final list =\n%s", out)
	}
}

// TestHostTokenServes: a token "host add" printed works on a running
// server's PAM endpoint, and stops working at "host remove".
func TestHostTokenServes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out, err := runInput(t, "", append([]string{"host", "add", "login1", "-data-dir", data}, fastFlags...)...)
	m := hostTokenRe.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("host add = %v\n%s", err, out)
	}
	s := startServer(t, data)
	defer s.stop()
	ask := func() int {
		req, _ := http.NewRequest("POST", s.url+"/api/v1/pam/authenticate", strings.NewReader(`{"user":"nobody","service":"sshd","rhost":"203.0.113.5"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+m[1])
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if got := ask(); got != 200 {
		t.Errorf("PAM request with the printed token = %d, want 200", got)
	}
	if out, err := runInput(t, "", append([]string{"host", "remove", "login1", "-data-dir", data}, fastFlags...)...); err != nil {
		t.Fatalf("host remove while the server runs = %v\n%s", err, out)
	}
	if got := ask(); got != 401 {
		t.Errorf("PAM request with a removed host's token = %d, want 401", got)
	}
	if log := s.log(); !strings.Contains(log, "host=login1 service=sshd client_addr=203.0.113.5") || strings.Contains(log, m[1]) {
		t.Errorf("server log lacks the PAM request's host, service and client, or holds the token:\n%s", log)
	}
}
