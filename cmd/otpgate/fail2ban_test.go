package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// TestFail2banFilter runs the server behind a trusted proxy, makes it
// refuse sign-ins from several addresses (wrong password on the page and
// in the API, unknown user, wrong code after the right password, over
// IPv4 and IPv6) and sign one in, then gives the server's real standard
// error to Debian's fail2ban-regex with examples/fail2ban/filter.d/otpgate.conf:
// it must find exactly the addresses of the failure lines, in order, and
// nothing in the other lines (the access log names the same addresses and
// reasons).
func TestFail2banFilter(t *testing.T) {
	f2b := testenv.LookPath(t, "fail2ban-regex")
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "-trusted-proxies", "127.0.0.1/32")
	defer s.stop()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "ann"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("ann password\n"), &out, &errb); err != nil {
		t.Fatalf("user add = %v\n%s", err, errb.String())
	}
	send := func(addr, path, ctype, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", addr)
		r, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	const form, js = "application/x-www-form-urlencoded", "application/json"
	send("203.0.113.5", "/login", form, "username=ann&password=wrong")
	send("203.0.113.5", "/api/v1/verify", js, `{"username":"ann","password":"wrong again"}`)
	send("2001:db8::7", "/api/v1/verify", js, `{"username":"nobody","password":"x"}`)
	send("198.51.100.6", "/login", form, "username=ann&password=still+wrong")
	if got := send("192.0.2.99", "/api/v1/verify", js, `{"username":"ann","password":"ann password"}`); got != 200 {
		t.Fatalf("right password = %d, want 200", got)
	}
	logText := s.log()
	lineRe := regexp.MustCompile(`(?m)^\S+ otpgate-failure addr=(\S+) `)
	var want []string
	for _, m := range lineRe.FindAllStringSubmatch(logText, -1) {
		want = append(want, m[1])
	}
	if !slices.Equal(want, []string{"203.0.113.5", "203.0.113.5", "2001:db8::7", "198.51.100.6"}) {
		t.Fatalf("failure lines name %v, want the four refused sign-ins' addresses\n%s", want, logText)
	}
	logFile := filepath.Join(t.TempDir(), "stderr.log")
	if err := os.WriteFile(logFile, []byte(logText), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(f2b, "-o", "ip", logFile, filepath.Join("..", "..", "examples", "fail2ban", "filter.d", "otpgate.conf"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, b)
	}
	got := strings.Fields(string(b))
	if !slices.Equal(got, want) {
		t.Errorf("fail2ban-regex matched %v, want %v (the failure lines, and only those)\n%s", got, want, logText)
	}
	if n := strings.Count(logText, "\n"); n <= len(want) {
		t.Errorf("the log has %d lines: the other lines are missing", n)
	}
}
