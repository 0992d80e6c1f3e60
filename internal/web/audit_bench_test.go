package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
)

// BenchmarkAuditCost is what the audit log adds: a sign-in through the
// JSON API (password and a used code, refused: one entry and one failure
// line each), a forward-auth check that passes (not recorded, uncached so
// that the store is asked) and one refused (recorded), each with the
// audit log and without it, on the handler directly.
func BenchmarkAuditCost(b *testing.B) {
	for _, audit := range []bool{true, false} {
		name := map[bool]string{true: "audit", false: "no-audit"}[audit]
		free := mfa.ThrottlePolicy{Free: 1 << 30, Base: time.Second, Max: time.Second, Forget: time.Hour}
		rules, err := access.Parse("bench", strings.NewReader("host notebook.example.org groups hpc\nhost * deny"))
		if err != nil {
			b.Fatal(err)
		}
		proxies, _ := web.ParseTrustedProxies("192.0.2.0/24")
		e := newEnv(b, setup{noAudit: !audit, logTo: io.Discard, opts: web.Options{TrustedProxies: proxies, Rules: rules},
			mopts: mfa.Options{Throttles: mfa.Throttles{Account: free, Address: free, Code: free}}})
		alice, _, _, _ := faUsers(b, e)
		code := e.aliceCode()
		e.verifyFrom("192.0.2.1", "alice", testPassword, code)
		b.Run("sign-in/"+name, func(b *testing.B) {
			body := `{"username":"alice","password":"` + testPassword + `","otp":"` + code + `"}`
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/api/v1/verify", strings.NewReader(body))
				req.RemoteAddr = "198.51.100.1:4000"
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				e.handler.ServeHTTP(w, req)
				if w.Code != http.StatusUnauthorized {
					b.Fatalf("verify = %d, want 401 (used code)", w.Code)
				}
			}
		})
		for _, fa := range []struct {
			name, url string
			want      int
		}{{"forward-auth-pass", "https://notebook.example.org/lab", 200}, {"forward-auth-denied", "https://other.example.org/", 403}} {
			b.Run(fa.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("GET", "/auth/nginx", nil)
					req.RemoteAddr = "192.0.2.1:40000"
					req.Header.Set("Cookie", "otpgate_session="+alice)
					req.Header.Set("X-Original-URL", fa.url)
					w := httptest.NewRecorder()
					e.handler.ServeHTTP(w, req)
					if w.Code != fa.want {
						b.Fatalf("forward-auth = %d, want %d", w.Code, fa.want)
					}
				}
			})
		}
	}
}
