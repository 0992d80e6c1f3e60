package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// testClock is the time of every instance of a test, set by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// instance is one otpgate server: its own connection pool, service and
// handler, sharing with the others only the database and the secret key.
type instance struct {
	svc *mfa.Service
	url string
}

// startInstances starts n instances on the database of dsn.
func startInstances(t *testing.T, dsn string, n int, c *testClock, code mfa.ThrottlePolicy) []instance {
	t.Helper()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	var out []instance
	for range n {
		s := openStore(t, dsn, postgres.Options{MaxConns: 16})
		cipher, err := mfa.NewCipher(key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		svc := mfa.NewService(mfa.Deps{Store: s, Cipher: cipher, Rand: rand.Reader, Now: c.now,
			Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.HashLimits{Concurrent: 4, Queue: 64})},
			mfa.Options{Window: otp.Skew(1), Throttles: mfa.Throttles{Code: code,
				Address: mfa.ThrottlePolicy{Free: 1 << 20, Base: time.Second, Max: time.Second, Forget: time.Hour}}})
		h, err := web.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, web.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		out = append(out, instance{svc: svc, url: srv.URL})
	}
	return out
}

// enrol creates user bob (password "password-bob") with a confirmed TOTP
// authenticator and returns its key; the step of now is used up.
func enrol(t *testing.T, svc *mfa.Service, c *testClock) otp.Key {
	t.Helper()
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, mfa.NewUser{Name: "bob", Password: "password-bob"})
	if err != nil {
		t.Fatal(err)
	}
	_, e, err := svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: c.now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ConfirmEnrolment(ctx, u, e.ID, e.URI.Key.TOTP(c.now())); err != nil {
		t.Fatal(err)
	}
	return e.URI.Key
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// verify calls POST /api/v1/verify and returns the status.
func verify(t *testing.T, base, password, code string) int {
	body, _ := json.Marshal(map[string]string{"username": "bob", "password": password, "otp": code})
	resp, err := http.Post(base+"/api/v1/verify", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Errorf("POST /api/v1/verify: %v", err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestInstancesOneCode submits one valid code 200 times at once, spread
// over two instances: exactly one submission signs in.
func TestInstancesOneCode(t *testing.T) {
	dsn, _ := freshSchema(t)
	c := &testClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	// Account throttling out of the way, so that every submission reaches
	// the code check.
	loose := mfa.ThrottlePolicy{Free: 1 << 20, Base: time.Second, Max: time.Second, Forget: time.Hour}
	inst := startInstances(t, dsn, 2, c, loose)
	key := enrol(t, inst[0].svc, c)
	c.set(c.now().Add(30 * time.Second))
	code := key.TOTP(c.now())

	const n = 200
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = verify(t, inst[i%2].url, "password-bob", code)
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusUnauthorized] != n-1 {
		t.Errorf("%d concurrent submissions of one code over two instances: statuses %v, want one 200 and %d 401", n, count, n-1)
	}
}

// TestInstancesThrottleShared sends a burst of wrong codes to one instance:
// the same account is then throttled on the other.
func TestInstancesThrottleShared(t *testing.T) {
	dsn, _ := freshSchema(t)
	c := &testClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	inst := startInstances(t, dsn, 2, c, mfa.DefaultThrottles.Code)
	key := enrol(t, inst[0].svc, c)
	c.set(c.now().Add(30 * time.Second))
	for i := range mfa.DefaultThrottles.Code.Free {
		if got := verify(t, inst[0].url, "password-bob", "000000"); got != http.StatusUnauthorized {
			t.Fatalf("wrong code %d on instance 0 = %d, want 401", i, got)
		}
	}
	if got := verify(t, inst[1].url, "password-bob", key.TOTP(c.now())); got != http.StatusTooManyRequests {
		t.Errorf("right code on instance 1 after %d wrong ones on instance 0 = %d, want 429", mfa.DefaultThrottles.Code.Free, got)
	}
}

// TestInstancesSessionShared signs in on one instance: the session is
// accepted by the other and, after logout, by neither.
func TestInstancesSessionShared(t *testing.T) {
	dsn, _ := freshSchema(t)
	c := &testClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	inst := startInstances(t, dsn, 2, c, mfa.DefaultThrottles.Code)
	key := enrol(t, inst[0].svc, c)
	c.set(c.now().Add(30 * time.Second))

	form := url.Values{"username": {"bob"}, "password": {"password-bob"}, "otp": {key.TOTP(c.now())}}
	resp, err := noRedirect.PostForm(inst[0].url+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			cookie = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil {
		t.Fatalf("POST /login on instance 0 = %d, cookie %v, want 303 and a session cookie", resp.StatusCode, cookie)
	}
	get := func(i int) int {
		req, _ := http.NewRequest("GET", inst[i].url+"/settings", nil)
		req.AddCookie(cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range inst {
		if got := get(i); got != http.StatusOK {
			t.Errorf("GET /settings on instance %d with the session of instance 0 = %d, want 200", i, got)
		}
	}
	req, _ := http.NewRequest("POST", inst[1].url+"/logout", nil)
	req.AddCookie(cookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := range inst {
		if got := get(i); got == http.StatusOK {
			t.Errorf("GET /settings on instance %d after logout on instance 1 = %d, want refused", i, got)
		}
	}
}
