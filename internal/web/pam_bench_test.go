package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// pamBench is a server whose throttling never triggers, logging to
// io.Discard, with alice (TOTP, her current code used already by the
// enrolment) and plain (no second factor), and a host's token.
func pamBench(b *testing.B) (*env, string, string) {
	free := mfa.ThrottlePolicy{Free: 1 << 30, Base: time.Second, Max: time.Second, Forget: time.Hour}
	e := newEnv(b, setup{logTo: io.Discard, mopts: mfa.Options{Throttles: mfa.Throttles{Account: free, Address: free, Code: free}}})
	e.addUser("alice")
	e.addUser("plain")
	c := e.client()
	e.login(c, "alice", "", "/settings")
	key, _ := e.enroll(c)
	return e, e.addHost("login1", false), key.TOTP(e.clock.Now())
}

// BenchmarkPAMAuthenticate is POST /api/v1/pam/authenticate: the host
// token looked up, the body decoded and checked, then for "code" the
// user's code budget, the code checked against the store and refused as
// used by the conditional UPDATE (the whole check, a write included), for
// "no_second_factor" a user without one. "handler" calls ServeHTTP
// directly (access log included); "http" goes over loopback with 8
// parallel keep-alive clients, as hosts do. req/s is the figure.
func BenchmarkPAMAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		name, user string
		status     int
	}{{"code", "alice", 401}, {"no_second_factor", "plain", 200}} {
		b.Run("handler/"+tc.name, func(b *testing.B) {
			e, token, code := pamBench(b)
			body := pamBody(tc.user, code)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/api/v1/pam/authenticate", strings.NewReader(body))
				req.RemoteAddr = "192.0.2.1:40000"
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				clear(w.h)
				e.handler.ServeHTTP(w, req)
				if w.status != tc.status {
					b.Fatalf("status %d, want %d", w.status, tc.status)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run("http/"+tc.name, func(b *testing.B) {
			e, token, code := pamBench(b)
			body := pamBody(tc.user, code)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			var failed atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/pam/authenticate", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+token)
					r, err := c.Do(req)
					if err != nil {
						failed.Store(-1)
						return
					}
					if r.StatusCode != tc.status {
						failed.Store(int64(r.StatusCode))
					}
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			if s := failed.Load(); s != 0 {
				b.Fatalf("a request failed (status %d), want %d", s, tc.status)
			}
		})
	}
}
