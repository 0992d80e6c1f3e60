package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
)

// BenchmarkForwardAuth measures the forward-auth check of a valid session
// (GET /auth/nginx with the session cookie and X-Original-URL, allowed by a
// rule, answered 200 with the identity headers) on the real server, built
// and run as its own process, against a bare net/http handler that answers
// 200, in the same run: wrk on loopback, 2 threads, 64 connections, 3 s
// each; the server's /healthz shows what its access log and routing cost
// without the check. The forward-auth sub-benchmark reports its ratios to the bare one:
// requests per second (target >= 0.8) and p99 latency (target <= 1.5).
func BenchmarkForwardAuth(b *testing.B) {
	wrk := testenv.LookPath(b, "wrk")
	dir := b.TempDir()
	rules := filepath.Join(dir, "access-rules")
	if err := os.WriteFile(rules, []byte("host "+notebookHost+" groups jupyter second-factor required\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	g := prepareGate(b, dir, "-access-rules", rules)
	svc, closeStore := g.service(b)
	const password = "bench password"
	key := storeUser(b, svc, mfa.NewUser{Name: "bob", Password: password, DisplayName: "Bob", Groups: []string{"jupyter"}})
	closeStore()
	g.start(b, filepath.Join(dir, "otpgate.log"))

	// A full session: password and code in one form, straight to otpgate.
	nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := nf.PostForm("http://"+g.addr+"/login", url.Values{"username": {"bob"}, "password": {password}, "otp": {key.TOTP(time.Now())}})
	if err != nil {
		b.Fatal(err)
	}
	r.Body.Close()
	var cookie string
	for _, c := range r.Cookies() {
		if c.Name == "otpgate_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if r.StatusCode != http.StatusSeeOther || cookie == "" {
		b.Fatalf("sign-in: %d, no session cookie", r.StatusCode)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })}
	go bare.Serve(ln)
	defer bare.Close()

	var bareRPS, bareP99 float64
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			bareRPS, bareP99 = runWrk(b, wrk, dir, "http://"+ln.Addr().String()+"/", nil)
		}
		b.ReportMetric(bareRPS, "req/s")
		b.ReportMetric(bareP99, "p99-ms")
	})
	// The real server's cheapest answer: what is left is the check itself.
	b.Run("healthz", func(b *testing.B) {
		var rps, p99 float64
		for b.Loop() {
			rps, p99 = runWrk(b, wrk, dir, "http://"+g.addr+"/healthz", nil)
		}
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(p99, "p99-ms")
	})
	b.Run("forward-auth", func(b *testing.B) {
		headers := map[string]string{"Cookie": cookie, "X-Original-URL": "https://" + notebookHost + "/tree"}
		var rps, p99 float64
		for b.Loop() {
			rps, p99 = runWrk(b, wrk, dir, "http://"+g.addr+"/auth/nginx", headers)
		}
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(p99, "p99-ms")
		if bareRPS > 0 && bareP99 > 0 {
			b.ReportMetric(rps/bareRPS, "rps-ratio")
			b.ReportMetric(p99/bareP99, "p99-ratio")
			b.Logf("forward-auth %.0f req/s, p99 %.2f ms; bare %.0f req/s, p99 %.2f ms; ratios %.2f (target >= 0.8), %.2f (target <= 1.5)",
				rps, p99, bareRPS, bareP99, rps/bareRPS, p99/bareP99)
		}
	})
}

// runWrk runs wrk for 3 s with 2 threads and 64 connections against target
// with the given request headers; every answer must be 200. It returns
// requests per second and the 99th percentile latency in milliseconds.
func runWrk(b *testing.B, wrk, dir, target string, headers map[string]string) (rps, p99 float64) {
	b.Helper()
	var lua strings.Builder
	for k, v := range headers {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v)
	}
	lua.WriteString(`done = function(summary, latency, requests)
  io.write(string.format("p99_us %d\n", latency:percentile(99)))
end
response = function(status, headers, body)
  if status ~= 200 then io.write("unexpected status " .. status .. "\n"); wrk.thread:stop() end
end
`)
	script := filepath.Join(dir, "forward-auth.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t2", "-c64", "-d3s", "-s", script, target).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "unexpected status") || strings.Contains(string(out), "Non-2xx") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	return match(b, out, `Requests/sec:\s+([0-9.]+)`), match(b, out, `p99_us (\d+)`) / 1000
}
