package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
)

// BenchmarkServerLoad measures the real server, built and run as its own
// process on loopback, with the load tool wrk (2 threads, 16 connections,
// 5 s per scenario): requests per second, 99th percentile latency, and the
// server's peak resident memory (VmHWM). Throttling is raised out of the
// way so that every request does the whole check; codes are already used,
// so each one goes through the replay check in the database and is
// refused. Passwords use the default argon2id parameters (64 MiB, 3 passes)
// with at most 2 hashes at once.
func BenchmarkServerLoad(b *testing.B) {
	wrk := testenv.LookPath(b, "wrk")
	dir := b.TempDir()
	bin := filepath.Join(dir, "otpgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	ctx := context.Background()

	// A user with a confirmed authenticator, made through the service.
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	configFlags(fs, &c)
	if _, err := loadConfig(fs, []string{"-data-dir", data}, func(string) string { return "" }); err != nil {
		b.Fatal(err)
	}
	svc, store, err := openService(ctx, &c, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, mfa.NewUser{Name: "bob", Password: "bob password"})
	if err != nil {
		b.Fatal(err)
	}
	_, enr, err := svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: time.Now()}})
	if err != nil {
		b.Fatal(err)
	}
	code := enr.URI.Key.TOTP(time.Now())
	if _, _, err := svc.ConfirmEnrolment(ctx, u, enr.ID, code); err != nil {
		b.Fatal(err)
	}
	store.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", "-addr", addr, "-data-dir", data, "-log-format", "json",
		"-throttle-account-free", "1000000000", "-throttle-address-free", "1000000000", "-throttle-code-free", "1000000000")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		r, err := http.Get(base + "/healthz")
		if err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A session waiting for its second step.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.PostForm(base+"/login", url.Values{"username": {"bob"}, "password": {"bob password"}})
	if err != nil {
		b.Fatal(err)
	}
	r.Body.Close()
	var cookie string
	for _, ck := range r.Cookies() {
		if ck.Name == "otpgate_session" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if r.StatusCode != 303 || cookie == "" {
		b.Fatalf("login = %d, no pending session", r.StatusCode)
	}

	scenarios := []struct {
		name, path, ctype, body, cookie string
		wantStatus                      int
	}{
		{"healthz", "/healthz", "", "", "", 200},
		{"second-step", "/login/totp", "application/x-www-form-urlencoded", "code=" + code, cookie, 401},
		{"api-verify", "/api/v1/verify", "application/json", `{"username":"bob","password":"bob password","otp":"` + code + `"}`, "", 401},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			req := wrkRequest{body: sc.body, headers: map[string]string{}, status: sc.wantStatus, conns: 16, seconds: 5}
			if sc.body != "" {
				req.headers["Content-Type"] = sc.ctype
			}
			if sc.cookie != "" {
				req.headers["Cookie"] = sc.cookie
			}
			b.ReportAllocs()
			var rps, p99 float64
			for b.Loop() {
				rps, p99 = runWrk(b, wrk, dir, sc.name, base+sc.path, req)
			}
			b.ReportMetric(rps, "req/s")
			b.ReportMetric(p99, "p99-ms")
			b.ReportMetric(peakRSS(b, cmd.Process.Pid), "peak-RSS-MiB")
		})
	}
}

// wrkRequest is the request wrk repeats, with 2 threads, and the status
// every answer must have.
type wrkRequest struct {
	// body, if not empty, makes the request a POST with this body.
	body    string
	headers map[string]string
	status  int
	// conns and seconds are wrk's connections and duration.
	conns, seconds int
}

// runWrk runs wrk against target with req (its script is dir/name.lua) and
// fails the benchmark when an answer has another status. It returns
// requests per second and the 99th percentile latency in milliseconds.
// For an expected 200 the script checks no answer itself: a Lua callback
// on every answer costs wrk, on the same two cores, more for an answer
// with more headers. One request made here must answer 200, and wrk counts
// every 4xx and 5xx under load.
func runWrk(b *testing.B, wrk, dir, name, target string, req wrkRequest) (rps, p99 float64) {
	b.Helper()
	var lua strings.Builder
	if req.body != "" {
		fmt.Fprintf(&lua, "wrk.method = \"POST\"\nwrk.body = %q\n", req.body)
	}
	for k, v := range req.headers {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v)
	}
	lua.WriteString(`done = function(summary, latency, requests)
  io.write(string.format("p99_us %d\n", latency:percentile(99)))
end
`)
	if req.status == http.StatusOK {
		probe(b, target, req)
	} else {
		fmt.Fprintf(&lua, `response = function(status, headers, body)
  if status ~= %d then io.write("unexpected status " .. status .. "\n"); wrk.thread:stop() end
end
`, req.status)
	}
	script := filepath.Join(dir, name+".lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", req.conns), fmt.Sprintf("-d%ds", req.seconds), "-s", script, target).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "unexpected status") || (req.status < 300 && strings.Contains(string(out), "Non-2xx")) {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	return match(b, out, `Requests/sec:\s+([0-9.]+)`), match(b, out, `p99_us (\d+)`) / 1000
}

// probe makes req once and fails the benchmark unless it answers 200.
func probe(b *testing.B, target string, req wrkRequest) {
	b.Helper()
	method := http.MethodGet
	if req.body != "" {
		method = http.MethodPost
	}
	r, err := http.NewRequest(method, target, strings.NewReader(req.body))
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range req.headers {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s = %d, want 200", method, target, resp.StatusCode)
	}
}

// match returns the number that re captures in wrk's output.
func match(b *testing.B, out []byte, re string) float64 {
	m := regexp.MustCompile(re).FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk output lacks %s:\n%s", re, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// peakRSS is the process's peak resident set size in MiB (VmHWM).
func peakRSS(b *testing.B, pid int) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	kb := match(b, st, `VmHWM:\s+(\d+) kB`)
	return kb / 1024
}
