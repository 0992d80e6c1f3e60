package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/web"
)

// bareHandler is the peer of the forward-auth benchmarks: a net/http
// handler that answers 200 and nothing else.
var bareHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// forwardAuthBench is a server with one rule and a signed-in user with a
// second factor, logging from level to io.Discard (at debug, the access
// line of a granted check is formatted), and the request nginx sends it.
func forwardAuthBench(b *testing.B, ttl time.Duration, level slog.Level) (*env, func() *http.Request) {
	rules, err := access.Parse("bench", strings.NewReader("host notebook.example.org groups hpc"))
	if err != nil {
		b.Fatal(err)
	}
	proxies, _ := web.ParseTrustedProxies("127.0.0.1/32,192.0.2.0/24")
	cn := &clockNow{}
	e := newEnv(b, setup{logTo: io.Discard, logLevel: level,
		opts: web.Options{TrustedProxies: proxies, Rules: rules, SessionCacheTTL: ttl, Now: cn.Now}})
	cn.c = e.clock
	alice, _, _, _ := faUsers(b, e)
	return e, func() *http.Request {
		req := httptest.NewRequest("GET", "/auth/nginx", nil)
		req.RemoteAddr = "192.0.2.1:40000"
		req.Header.Set("Cookie", "otpgate_session="+alice)
		req.Header.Set("X-Original-URL", "https://notebook.example.org/lab/tree")
		return req
	}
}

// BenchmarkForwardAuth compares the forward-auth check of a valid session
// with a bare handler: "handler" calls ServeHTTP directly (the cost of the
// check itself, access log included), "http" goes over loopback with
// parallel keep-alive clients, as a proxy does; "logged" logs at debug
// level, where granted checks have an access line. The target is
// at least 80% of the bare handler's requests per second.
func BenchmarkForwardAuth(b *testing.B) {
	for _, tc := range []struct {
		name  string
		ttl   time.Duration // -1: the bare handler
		level slog.Level
	}{{"bare", -1, 0}, {"cached", time.Second, slog.LevelInfo}, {"cached-logged", time.Second, slog.LevelDebug}, {"uncached", 0, slog.LevelInfo}} {
		b.Run("handler/"+tc.name, func(b *testing.B) {
			h := http.Handler(bareHandler)
			newReq := func() *http.Request { return httptest.NewRequest("GET", "/auth/nginx", nil) }
			if tc.ttl >= 0 {
				var e *env
				e, newReq = forwardAuthBench(b, tc.ttl, tc.level)
				h = e.handler
			}
			req := newReq()
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.status != 200 {
					b.Fatalf("status %d, want 200", w.status)
				}
			}
		})
		b.Run("http/"+tc.name, func(b *testing.B) {
			url := ""
			header := http.Header{} // shared, read-only
			if tc.ttl < 0 {
				srv := httptest.NewServer(bareHandler)
				b.Cleanup(srv.Close)
				url = srv.URL
			} else {
				e, newReq := forwardAuthBench(b, tc.ttl, tc.level)
				url, header = e.srv.URL, newReq().Header
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			var failed atomic.Bool
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url+"/auth/nginx", nil)
					req.Header = header
					r, err := c.Do(req)
					if err != nil || r.StatusCode != 200 {
						failed.Store(true)
						return
					}
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
			})
			if failed.Load() {
				b.Fatal("a request failed")
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
