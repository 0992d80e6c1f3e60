package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
	"github.com/otpgate/otpgate/internal/mfa"
)

// defaultArgon2 undoes fastFlags: the benchmark measures the default hash.
var defaultArgon2 = []string{"-argon2-memory", "65536", "-argon2-time", "3", "-argon2-threads", "4"}

// BenchmarkSignInFirstFactor measures whole sign-ins (POST /api/v1/verify
// with the password of a user without TOTP, answered 200) on `otpgate
// serve` with the default argon2id settings, in one run on one machine:
//
//   - local: the default, -first-factors local, a user of otpgate's own;
//   - ldap: -first-factors ldap,local (examples/otpgate/ldap.conf), a
//     directory user, against a real slapd over StartTLS;
//   - ldap-then-local: the same server, a local user (break-glass), whom
//     the directory is asked about first.
//
// The machine is shared, so the targets take turns, in rounds. Latency:
// one sign-in at a time, p50 and p99 over all of a target's sign-ins.
// Throughput: 8 clients at once for a fixed count, sign-ins per second,
// the median of the rounds. It reports the ratios of
// ldap to local (latency p50, and sign-ins per second).
func BenchmarkSignInFirstFactor(b *testing.B) {
	srv := ldaptest.Start(b, directoryLDIF())
	localDir := filepath.Join(b.TempDir(), "local")
	local := startServer(b, localDir, defaultArgon2...)
	defer local.stop()
	ldapDir := filepath.Join(b.TempDir(), "ldap")
	dir := ldapServe(b, srv, ldapDir, defaultArgon2...)
	defer dir.stop()
	for _, d := range []string{localDir, ldapDir} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"user", "add", "-data-dir", d, "--password-stdin", "root"},
			func(string) string { return "" }, strings.NewReader("root local password\n"), &out, &errb); err != nil {
			b.Fatalf("user add root = %v\n%s", err, errb.String())
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	signIn := func(base, user, password string) time.Duration {
		body, _ := json.Marshal(map[string]string{"username": user, "password": password})
		start := time.Now()
		r, err := client.Post(base+"/api/v1/verify", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		took := time.Since(start)
		if r.StatusCode != 200 {
			b.Fatalf("sign-in of %s on %s = %d", user, base, r.StatusCode)
		}
		return took
	}
	targets := []struct {
		name, base, user, password string
	}{
		{"local", local.url, "root", "root local password"},
		{"ldap", dir.url, "alice", "alice-dir-pw"},
		{"ldap-then-local", dir.url, "root", "root local password"},
	}
	for _, tg := range targets { // warm up: records, pools, caches
		signIn(tg.base, tg.user, tg.password)
	}

	const rounds, perRound, clients, perClient = 5, 10, 8, 4
	lat := make([][]time.Duration, len(targets))
	rates := make([][]float64, len(targets))
	for b.Loop() {
		for range rounds {
			for i, tg := range targets {
				for range perRound {
					lat[i] = append(lat[i], signIn(tg.base, tg.user, tg.password))
				}
			}
			for i, tg := range targets {
				var wg sync.WaitGroup
				start := time.Now()
				for range clients {
					wg.Go(func() {
						for range perClient {
							signIn(tg.base, tg.user, tg.password)
						}
					})
				}
				wg.Wait()
				rates[i] = append(rates[i], clients*perClient/time.Since(start).Seconds())
			}
		}
	}
	rate := make([]float64, len(targets))
	for i := range targets {
		rate[i] = median(rates[i])
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))]) / float64(time.Millisecond)
	}
	for i, tg := range targets {
		b.ReportMetric(pct(lat[i], 0.50), tg.name+"-p50-ms")
		b.ReportMetric(pct(lat[i], 0.99), tg.name+"-p99-ms")
		b.ReportMetric(rate[i], tg.name+"-signins/s")
	}
	p50Ratio := pct(lat[1], 0.50) / pct(lat[0], 0.50)
	rateRatio := rate[1] / rate[0]
	b.ReportMetric(p50Ratio, "ldap/local-p50")
	b.ReportMetric(rateRatio, "ldap/local-signins/s")
	b.Logf("argon2id %d KiB, t=%d: local p50 %.1f ms p99 %.1f ms %.1f/s; ldap p50 %.1f ms p99 %.1f ms %.1f/s; ldap-then-local p50 %.1f ms p99 %.1f ms %.1f/s; ldap/local p50 %.2f, sign-ins/s %.2f",
		mfa.DefaultArgon2.Memory, mfa.DefaultArgon2.Time,
		pct(lat[0], .5), pct(lat[0], .99), rate[0], pct(lat[1], .5), pct(lat[1], .99), rate[1],
		pct(lat[2], .5), pct(lat[2], .99), rate[2], p50Ratio, rateRatio)
}
