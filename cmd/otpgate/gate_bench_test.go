package main

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
)

// BenchmarkForwardAuth measures the forward-auth check of a valid session
// (GET /auth/nginx with the session cookie and X-Original-URL, allowed by a
// rule, answered 200 with the identity headers) on the real server, built
// and run as its own process, against a bare net/http handler that answers
// 200, in the same run: wrk on loopback, 2 threads, 64 connections, 2 s a
// turn, three rounds of turns; the server's /healthz shows what its access
// log and routing cost without the check, and a second server on the same
// store, run with -log-level debug, what the access line of each granted
// check costs. It reports each target's median requests per second and p99
// latency, and the forward-auth check's ratios to the bare handler:
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
	logged := *g
	logged.addr, logged.args = freeAddr(b), append(slices.Clone(g.args), "-log-level", "debug")
	logged.start(b, filepath.Join(dir, "otpgate-debug.log"))

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

	// The machine is shared, so the targets take turns, in rounds; a
	// ratio is the median of the rounds' ratios, each between runs a few
	// seconds apart, and a figure the median of its rounds. Every target
	// gets the same request, as nginx would send it, so that the
	// difference is what the server does with it.
	headers := map[string]string{"Cookie": cookie, "X-Original-URL": "https://" + notebookHost + "/tree"}
	targets := []struct {
		name, url string
	}{
		{"bare", "http://" + ln.Addr().String() + "/"},
		{"forward-auth", "http://" + g.addr + "/auth/nginx"},
		{"forward-auth-logged", "http://" + logged.addr + "/auth/nginx"},
		// The real server's answer without the check (it pings the store).
		{"healthz", "http://" + g.addr + "/healthz"},
	}
	const n = 5
	rps := make([][]float64, len(targets))
	p99 := make([][]float64, len(targets))
	for b.Loop() {
		for range n {
			for i, tg := range targets {
				r, p := runWrk(b, wrk, dir, "forward-auth", tg.url, wrkRequest{headers: headers, status: 200, conns: 64, seconds: 2})
				rps[i], p99[i] = append(rps[i], r), append(p99[i], p)
			}
		}
	}
	for i, tg := range targets {
		b.ReportMetric(median(rps[i]), tg.name+"-req/s")
		b.ReportMetric(median(p99[i]), tg.name+"-p99-ms")
	}
	// ratios are xs[round] / ys[round].
	ratios := func(xs, ys []float64) []float64 {
		rs := make([]float64, len(xs))
		for i := range xs {
			rs[i] = xs[i] / ys[i]
		}
		return rs
	}
	rounds := ratios(rps[1], rps[0])
	rpsRatio, p99Ratio, loggedRatio := median(rounds), median(ratios(p99[1], p99[0])), median(ratios(rps[2], rps[0]))
	b.ReportMetric(rpsRatio, "rps-ratio")
	b.ReportMetric(p99Ratio, "p99-ratio")
	b.ReportMetric(loggedRatio, "logged-rps-ratio")
	b.Logf("forward-auth %.0f req/s, p99 %.2f ms; bare %.0f req/s, p99 %.2f ms; ratios to bare %.2f (target >= 0.8), p99 %.2f (target <= 1.5); "+
		"with every check logged (debug) %.0f req/s, ratio %.2f; healthz %.0f req/s, p99 %.2f ms; rounds' ratios %.2f",
		median(rps[1]), median(p99[1]), median(rps[0]), median(p99[0]), rpsRatio, p99Ratio,
		median(rps[2]), loggedRatio, median(rps[3]), median(p99[3]), rounds)
}

// median returns the middle value of xs (the upper one of an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
