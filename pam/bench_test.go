package pam

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

// googleModule finds Debian's pam_google_authenticator.so.
func googleModule(b testing.TB) string {
	for _, dir := range []string{"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security"} {
		p := filepath.Join(dir, "pam_google_authenticator.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.SkipOrFail(b, "pam_google_authenticator.so not installed (libpam-google-authenticator)")
	return ""
}

// BenchmarkPAM times one PAM authentication through pamtester (a process
// start, the stack, the prompt answered) with pam_otpgate (its helper and
// an HTTPS call to the test server, which accepts the code without the
// replay check so that one code serves every iteration; or an HTTP call to
// a real otpgate serve on loopback) and with Google's module (its state
// file, reuse and rate limit off), and reports the median and 99th
// percentile. Figures:
//
//	go test -run '^$' -bench PAM -benchtime 200x ./pam
func BenchmarkPAM(b *testing.B) {
	s := newFakeServer(b)
	key := s.addUser(b, "root", true)
	s.mu.Lock()
	s.users["root"].anyCode = true
	s.mu.Unlock()
	code := key.TOTP(time.Now())

	gaFile := filepath.Join(b.TempDir(), "google_authenticator")
	content := key.Secret.Base32() + "\n\" WINDOW_SIZE 17\n\" TOTP_AUTH\n"
	if err := os.WriteFile(gaFile, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stack func() stack
	}{
		{"otpgate-testserver", func() stack { return authStack(b, otpgateArgs(b, s)) }},
		// The real server cannot take one code twice: user nf has no second
		// factor and the module is optional, so each login is the whole
		// round trip (host token, user lookup) without a code check.
		{"otpgate-serve", func() stack { return authStack(b, startRealServer(b).args(b, "optional")) }},
		{"pam_permit-only", func() stack { return newStack(b, "auth required pam_permit.so") }},
		{"google", func() stack {
			return newStack(b, "auth required pam_permit.so", "auth required "+googleModule(b)+" secret="+gaFile+" user=root")
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st := tc.stack()
			var times []time.Duration
			for b.Loop() {
				user := "root"
				if tc.name == "otpgate-serve" {
					user = "nf"
				}
				r := pamtester(b, st, user, code+"\n")
				if !r.ok {
					b.Fatalf("%s: login failed:\n%s", tc.name, r.out)
				}
				times = append(times, r.elapsed)
			}
			slices.Sort(times)
			pct := func(p float64) float64 {
				return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			if testing.Verbose() {
				fmt.Printf("%s: %d logins, p50 %.1f ms, p99 %.1f ms\n", tc.name, len(times), pct(0.5), pct(0.99))
			}
		})
	}
}
