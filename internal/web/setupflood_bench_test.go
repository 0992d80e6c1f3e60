package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// BenchmarkSignInDuringSetupFlood measures a real sign-in (the JSON API,
// right password, real argon2id cost and the default hash limits) while
// 300 clients post bogus first-administrator setups without pause, the
// attack run's flood. It reports the sign-ins' p50 and p99 in ms.
func BenchmarkSignInDuringSetupFlood(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "otpgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cipher, _ := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: time.Now,
		Hasher: mfa.NewHasher(mfa.DefaultArgon2, rand.Reader, mfa.DefaultHashLimits)}, mfa.Options{Window: otp.Skew(1)})
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"}); err != nil {
		b.Fatal(err)
	}
	h, err := web.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, web.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	srv := ts.URL
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 400}}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	form := url.Values{"token": {"bogus"}, "username": {"eve"}, "password": {"eve password"}, "confirm": {"eve password"}}.Encode()
	for range 300 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", srv+"/setup", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				if r, err := client.Do(req); err == nil {
					r.Body.Close()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the flood under way
	var lat []time.Duration
	for b.Loop() {
		for range 20 {
			start := time.Now()
			r, err := client.Post(srv+"/api/v1/verify", "application/json",
				strings.NewReader(`{"username":"alice","password":"alice password"}`))
			if err != nil {
				b.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != 200 {
				b.Fatalf("sign-in during the flood = %d", r.StatusCode)
			}
			lat = append(lat, time.Since(start))
		}
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
