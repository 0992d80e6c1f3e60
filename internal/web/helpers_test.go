package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// clock is a settable time shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one server on a real SQLite store in a temporary directory.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	svc   *mfa.Service
	store mfa.Store
	// dbPath is the SQLite file of the store.
	dbPath string
	// events are the account changes the service reported.
	events *eventLog
	clock  *clock
	logs   *strings.Builder
	// handler is the server's handler, for benchmarks without a network.
	handler http.Handler
	// aliceCode gives alice's current code, once forward-auth tests
	// enrolled her.
	aliceCode func() string
	// audit writes the audit log to the store; failures has its failure
	// lines.
	audit    *mfa.AuditLog
	failures *syncBuilder
	// oidc is the OpenID provider, with setup.oidc.
	oidc *oidc.Provider
}

// syncBuilder is a strings.Builder safe for the server and the test.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// auditLog returns the audit log as written so far, newest first.
func (e *env) auditLog(f mfa.AuditFilter) []mfa.AuditEntry {
	e.t.Helper()
	e.audit.Flush()
	if f.Limit == 0 {
		f.Limit = 1 << 20
	}
	l, err := e.store.AuditLog(context.Background(), f)
	if err != nil {
		e.t.Fatalf("AuditLog() = %v", err)
	}
	return l
}

// testArgon2 keeps password hashing fast in tests.
var testArgon2 = mfa.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

type setup struct {
	opts  web.Options
	mopts mfa.Options
	// files, if set, gives users a second factor from their files.
	files mfa.FileFactor
	// firstFactors, if set, are the sources of passwords (mfa.Deps).
	firstFactors []mfa.FirstFactor
	// logTo, when set, takes the server's log instead of env.logs.
	logTo io.Writer
	// logLevel is the least level logged (info when zero).
	logLevel slog.Level
	// noAudit runs the server without an audit log (benchmarks' baseline).
	noAudit bool
	// oidc serves the OpenID provider, on the same store (env.oidc).
	oidc bool
}

func newEnv(t testing.TB, s setup) *env {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "otpgate.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	cipher, err := mfa.NewCipher(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Mid-step, so that the codes of the previous and next steps are
	// clearly off the clock.
	clk := &clock{t: time.Date(2026, 11, 28, 9, 0, 15, 0, time.UTC)}
	events := &eventLog{}
	if s.mopts.Throttles.Code == (mfa.ThrottlePolicy{}) {
		// The tests give wrong codes on purpose; TestThrottling and
		// TestCodeBudgetOdds run the default budget.
		s.mopts.Throttles.Code = mfa.ThrottlePolicy{Free: 50, Base: time.Second, Max: time.Minute, Forget: time.Hour}
	}
	if s.mopts.Window == (otp.Window{}) {
		s.mopts.Window = otp.Skew(1)
	}
	failures := &syncBuilder{}
	audit := mfa.NewAuditLog(store, mfa.AuditOptions{Failures: failures}, func(err error) { t.Errorf("audit log: %v", err) })
	t.Cleanup(audit.Close)
	deps := mfa.Deps{Store: store, Hasher: mfa.NewHasher(testArgon2, rand.Reader, mfa.HashLimits{Concurrent: 4, Queue: 256}), Cipher: cipher,
		Rand: rand.Reader, Now: clk.Now, Files: s.files, FirstFactors: s.firstFactors, Events: events.add, Audit: audit.Record}
	if s.noAudit {
		deps.Audit = nil
	}
	var provider *oidc.Provider
	if s.oidc {
		deps.SessionEnded = func(ctx context.Context, e mfa.SessionEnd) { provider.SessionsEnded(ctx, e) }
	}
	svc := mfa.NewService(deps, s.mopts)
	logs := &strings.Builder{}
	var logMu sync.Mutex
	var lw io.Writer = lockedWriter{&logMu, logs}
	if s.logTo != nil {
		lw = s.logTo
	}
	log := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: s.logLevel}))
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if s.oidc {
		if provider, err = oidc.New(oidc.Deps{Store: store, Service: svc, Cipher: cipher, Log: log, Rand: rand.Reader, Now: clk.Now},
			oidc.Options{Issuer: srv.URL}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(provider.Close)
		s.opts.OIDC = provider
	}
	if h, err = web.NewServer(log, svc, s.opts); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, svc: svc, store: store, dbPath: dbPath, events: events, clock: clk, logs: logs, handler: h,
		audit: audit, failures: failures, oidc: provider}
}

// eventLog keeps the account changes a service reports.
type eventLog struct {
	mu   sync.Mutex
	list []mfa.Event
}

func (l *eventLog) add(_ context.Context, e mfa.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, e)
}

// has reports whether a change of that kind was reported for the user.
func (l *eventLog) has(kind mfa.EventKind, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.list {
		if e.Kind == kind && e.User.Name == user {
			return true
		}
	}
	return false
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// client is a browser: it keeps cookies and does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (e *env) do(c *http.Client, req *http.Request) resp {
	e.t.Helper()
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, body: string(b), location: r.Header.Get("Location"), header: r.Header}
}

func (e *env) get(c *http.Client, path string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(c, req)
}

func (e *env) post(c *http.Client, path string, form url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(c, req)
}

func (e *env) postJSON(c *http.Client, path, body string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.do(c, req)
}

const testPassword = "correct horse battery"

func (e *env) addUser(name string) mfa.User {
	e.t.Helper()
	u, err := e.svc.CreateUser(context.Background(), mfa.NewUser{Name: name, Password: testPassword})
	if err != nil {
		e.t.Fatalf("CreateUser(%s) = %v", name, err)
	}
	return u
}

// login signs c in with the password alone and checks the redirect.
func (e *env) login(c *http.Client, name, otpCode, wantLocation string) resp {
	e.t.Helper()
	r := e.post(c, "/login", url.Values{"username": {name}, "password": {testPassword}, "otp": {otpCode}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, wantLocation) {
		e.t.Fatalf("POST /login as %s = %d %q, want 303 to %s\n%s", name, r.status, r.location, wantLocation, r.body)
	}
	return r
}

var (
	keyRe      = regexp.MustCompile(`<code class="key" id="key"[^>]*>([A-Z2-7 ]+)</code>`)
	idRe       = regexp.MustCompile(`name="id" value="([0-9a-f]+)"`)
	recoveryRe = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// enroll sets up TOTP for the signed-in c and returns the key and the
// recovery codes.
func (e *env) enroll(c *http.Client) (otp.Key, []string) {
	e.t.Helper()
	r := e.post(c, "/settings/security/totp", nil)
	if r.status != 200 {
		e.t.Fatalf("POST /settings/security/totp = %d\n%s", r.status, r.body)
	}
	key, id := e.keyOf(r.body)
	r = e.post(c, "/settings/security/totp/confirm", url.Values{"id": {id}, "code": {key.TOTP(e.clock.Now())}})
	if r.status != 200 || !strings.Contains(r.body, "TOTP is enabled") {
		e.t.Fatalf("confirm = %d\n%s", r.status, r.body)
	}
	var codes []string
	for _, m := range recoveryRe.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	return key, codes
}

func (e *env) keyOf(body string) (otp.Key, string) {
	e.t.Helper()
	km, im := keyRe.FindStringSubmatch(body), idRe.FindStringSubmatch(body)
	if km == nil || im == nil {
		e.t.Fatalf("no key or id in the setup page:\n%s", body)
	}
	secret, err := otp.DecodeSecret(km[1])
	if err != nil {
		e.t.Fatalf("DecodeSecret(%q) = %v", km[1], err)
	}
	return otp.Key{Secret: secret}, im[1]
}

// nextStep moves the clock to the next TOTP step.
func (e *env) nextStep() { e.clock.Add(30 * time.Second) }
