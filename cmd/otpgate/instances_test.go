package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/seed"
)

// writeDBFile writes a -db-file holding dsn.
func writeDBFile(t *testing.T, dsn string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "db.url")
	if err := os.WriteFile(f, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// runInput runs an otpgate command in-process with stdin and returns its
// output.
func runInput(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	return out.String() + errb.String(), err
}

// startServeProcess runs the built binary's "serve" and returns its base URL.
func startServeProcess(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case addr := <-addrc:
		return "http://" + addr
	case <-time.After(15 * time.Second):
		t.Fatal("otpgate serve did not start")
	}
	return ""
}

// verify posts to /api/v1/verify and returns the status and outcome.
func verify(t *testing.T, base, user, password, code string) (int, string) {
	body := fmt.Sprintf(`{"username":%q,"password":%q,"otp":%q}`, user, password, code)
	r, err := http.Post(base+"/api/v1/verify", "application/json", strings.NewReader(body))
	if err != nil {
		t.Errorf("POST /api/v1/verify: %v", err)
		return 0, ""
	}
	defer r.Body.Close()
	var v struct{ Outcome, Error string }
	json.NewDecoder(r.Body).Decode(&v)
	return r.StatusCode, v.Outcome + v.Error
}

func status(t *testing.T, c *http.Client, method, u string, form url.Values) int {
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r, err := c.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, u, err)
		return 0
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

// TestTwoProcesses runs two real "otpgate serve" processes on one
// PostgreSQL database, behind a TCP proxy that can cut them off it: one
// valid code submitted 200 times at once is accepted once; wrong codes on
// one throttle the account on the other; a session of one is valid on the
// other and, after logout, on neither; with the database cut off they
// refuse (503, /healthz 503) and accept nothing, and they recover without a
// restart.
func TestTwoProcesses(t *testing.T) {
	dsn, _, _ := pgtest.Schema(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "otpgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p, proxied := pgtest.NewProxy(t, dsn)
	dbFile := writeDBFile(t, proxied)
	keyFile := filepath.Join(dir, "secret.key")
	common := append([]string{"-db-file", dbFile, "-secret-key-file", keyFile, "-db-statement-timeout", "2s",
		"-throttle-address-free", "1000000"}, fastFlags...)

	// Accounts made by the operator's command, with secrets from the seed.
	const password = "seed password"
	seedText := "two processes"
	out, err := runInput(t, password+"\n", append([]string{"seed", "-accounts", "10", "-seed", seedText, "-password-stdin",
		"-data-dir", filepath.Join(dir, "seeder")}, common...)...)
	if err != nil {
		t.Fatalf("seed = %v\n%s", err, out)
	}
	code := func(i int) string { return seed.Key([]byte(seedText), seed.Name("", i)).TOTP(time.Now()) }

	a := startServeProcess(t, bin, append([]string{"-data-dir", filepath.Join(dir, "a")}, common...)...)
	b := startServeProcess(t, bin, append([]string{"-data-dir", filepath.Join(dir, "b")}, common...)...)
	instances := []string{a, b}

	t.Run("KeyMismatchRefused", func(t *testing.T) {
		out, err := runInput(t, "", append([]string{"user", "list", "-data-dir", filepath.Join(dir, "c"), "-db-file", dbFile}, fastFlags...)...)
		if err == nil || !strings.Contains(err.Error(), "does not match") || strings.Contains(err.Error(), "otpgate_test:") {
			t.Errorf("user list with a fresh key = %v\n%s; want a refusal naming the key, not the password", err, out)
		}
	})

	t.Run("OneCodeOnce", func(t *testing.T) {
		c := code(0)
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 200 {
			wg.Go(func() {
				<-start
				if st, _ := verify(t, instances[i%2], "seed0", password, c); st == 200 {
					ok.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("200 concurrent submissions of one code over two processes: %d accepted, want 1", ok.Load())
		}
	})

	t.Run("ThrottleShared", func(t *testing.T) {
		for range 8 {
			if st, _ := verify(t, a, "seed1", password, "000000"); st == 200 {
				t.Fatal("a wrong code was accepted")
			}
		}
		if st, outcome := verify(t, b, "seed1", password, code(1)); st != 429 {
			t.Errorf("valid code on the other instance after a burst of wrong ones = %d %s, want 429 throttled", st, outcome)
		}
	})

	t.Run("SessionShared", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if st := status(t, c, "POST", a+"/login", url.Values{"username": {"seed2"}, "password": {password}, "otp": {code(2)}}); st != 303 {
			t.Fatalf("login on A = %d, want 303", st)
		}
		// The cookie is per host: carry it to B by hand.
		bu, _ := url.Parse(b)
		au, _ := url.Parse(a)
		jar.SetCookies(bu, jar.Cookies(au))
		for _, base := range instances {
			if st := status(t, c, "GET", base+"/settings", nil); st != 200 {
				t.Errorf("GET %s/settings with the session = %d, want 200", base, st)
			}
		}
		if st := status(t, c, "POST", a+"/logout", url.Values{}); st != 303 {
			t.Errorf("logout on A = %d", st)
		}
		jar.SetCookies(au, jar.Cookies(bu)) // the old token again, on both
		for _, base := range instances {
			if st := status(t, c, "GET", base+"/settings", nil); st != 303 {
				t.Errorf("GET %s/settings after logout = %d, want 303 to the login page", base, st)
			}
		}
	})

	t.Run("Outage", func(t *testing.T) {
		// The load: a used code and a wrong code on both instances, over and
		// over; none may ever be accepted.
		var wrong, refused, total atomic.Int32
		stop := make(chan struct{})
		var wg sync.WaitGroup
		used := code(0)
		for w := range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					c := used
					if w%2 == 1 {
						c = "123456"
					}
					st, _ := verify(t, instances[w%2], "seed0", password, c)
					total.Add(1)
					switch st {
					case 200:
						wrong.Add(1)
					case 503:
						refused.Add(1)
					}
				}
			})
		}
		health := func(base string) (int, string) {
			r, err := http.Get(base + "/healthz")
			if err != nil {
				return 0, err.Error()
			}
			defer r.Body.Close()
			b, _ := io.ReadAll(r.Body)
			return r.StatusCode, string(b)
		}
		waitHealth := func(want int) {
			t.Helper()
			for _, base := range instances {
				deadline := time.Now().Add(10 * time.Second)
				for {
					st, body := health(base)
					if st == want {
						if want == 503 && !strings.Contains(body, "database unavailable") {
							t.Errorf("/healthz during the outage = %s, want the reason", body)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s/healthz = %d %s, want %d", base, st, body, want)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
		p.Cut()
		waitHealth(503)
		for _, base := range instances {
			if st, msg := verify(t, base, "seed3", password, code(3)); st != 503 || !strings.Contains(msg, "unavailable") {
				t.Errorf("valid code during the outage = %d %q, want 503 login service unavailable", st, msg)
			}
			if st := status(t, http.DefaultClient, "POST", base+"/login", url.Values{"username": {"seed3"}, "password": {password}}); st != 503 {
				t.Errorf("POST /login during the outage = %d, want 503", st)
			}
			req, _ := http.NewRequest("GET", base+"/settings", nil)
			req.AddCookie(&http.Cookie{Name: "otpgate_session", Value: seed.Token([]byte(seedText), "seed5")})
			if r, err := http.DefaultTransport.RoundTrip(req); err != nil {
				t.Errorf("GET /settings during the outage: %v", err)
			} else if r.StatusCode != 503 {
				r.Body.Close()
				t.Errorf("GET /settings with a session during the outage = %s, want 503", r.Status)
			} else {
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if !strings.Contains(string(b), "Login service unavailable, try again") {
					t.Errorf("GET /settings during the outage: page lacks the message:\n%s", b)
				}
			}
		}
		p.Resume(t)
		waitHealth(200)
		close(stop)
		wg.Wait()
		if wrong.Load() > 0 {
			t.Errorf("%d used or wrong codes accepted under load", wrong.Load())
		}
		if refused.Load() == 0 {
			t.Error("no 503 under load while the database was cut off")
		}
		// Recovered without a restart: a fresh code is accepted, once.
		c := code(4)
		if st, outcome := verify(t, b, "seed4", password, c); st != 200 {
			t.Errorf("valid code after the database came back = %d %s, want 200", st, outcome)
		}
		if st, _ := verify(t, a, "seed4", password, c); st == 200 {
			t.Error("the same code accepted again on the other instance")
		}
		t.Logf("load: %d requests, %d answered 503 during the outage, %d wrongly accepted", total.Load(), refused.Load(), wrong.Load())
	})
}
