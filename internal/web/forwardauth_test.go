package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	url0 "net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
)

const testRules = `# who may pass where
host notebook.example.org  path /          groups hpc        second-factor required
host wiki.example.org      path /private   deny
host wiki.example.org      path /admin     users carol
host wiki.example.org:8443                 users bob         second-factor optional
host wiki.example.org                      users *           second-factor optional
host open.example.org                      users *
`

// faSetup is a server with forward-auth rules, the test client's address
// (127.0.0.1) trusted unless trusted says otherwise, a clock shared with
// the session cache, and the cache TTL given.
func faSetup(t *testing.T, trusted string, ttl time.Duration) (*env, *clockNow) {
	t.Helper()
	return faSetupLog(t, trusted, ttl, slog.LevelInfo)
}

// faSetupLog is faSetup with the server logging from level.
func faSetupLog(t *testing.T, trusted string, ttl time.Duration, level slog.Level) (*env, *clockNow) {
	t.Helper()
	rules, err := access.Parse("rules.conf", strings.NewReader(testRules))
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := web.ParseTrustedProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	cn := &clockNow{}
	e := newEnv(t, setup{opts: web.Options{BaseURL: "http://mfa.example.org", CookieDomain: "example.org",
		TrustedProxies: proxies, Rules: rules, SessionCacheTTL: ttl, Now: cn.Now}, logLevel: level})
	cn.c = e.clock
	return e, cn
}

// clockNow lets the web options take the env's clock once it exists.
type clockNow struct{ c *clock }

func (c *clockNow) Now() time.Time { return c.c.Now() }

// session signs name in (with a code when key is set) on a fresh client
// and returns the session token.
func (e *env) session(name string, withCode bool, key func() string) string {
	e.t.Helper()
	code := ""
	if withCode {
		code = key()
	}
	r := e.post(e.client(), "/login", url0.Values{"username": {name}, "password": {testPassword}, "otp": {code}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("login %s = %d\n%s", name, r.status, r.body)
	}
	return cookieValue(e.t, r.header)
}

func cookieValue(t testing.TB, h http.Header) string {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "otpgate_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %q", h.Values("Set-Cookie"))
	return ""
}

// auth asks an endpoint about original, with the session token (if any)
// and extra request headers. Like the shipped proxy configurations, it
// says the port the request came on (X-Forwarded-Port): original's, or
// its scheme's; an X-Forwarded-Port in extra replaces it, and an empty
// one leaves it out.
func (e *env) auth(endpoint, token, original string, extra ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+endpoint, nil)
	if token != "" {
		req.Header.Set("Cookie", "otpgate_session="+token)
	}
	if original != "" {
		req.Header.Set("X-Original-URL", original)
		if u, err := url0.Parse(original); err == nil {
			port := u.Port()
			if port == "" {
				port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
			}
			req.Header.Set("X-Forwarded-Port", port)
		}
	}
	replaced := false
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i] == "X-Forwarded-Port" {
			if !replaced {
				req.Header.Del(extra[i])
				replaced = true
			}
			if extra[i+1] == "" {
				continue
			}
		}
		req.Header.Add(extra[i], extra[i+1])
	}
	return e.do(e.client(), req)
}

// faUsers makes alice (TOTP, group hpc), bob (no TOTP, group staff) and
// carol (TOTP, no group) and returns their full sessions, and alice's
// session that has passed only the password.
func faUsers(t testing.TB, e *env) (alice, bob, carol, alicePending string) {
	ctx := context.Background()
	for _, p := range []struct {
		name, display string
		groups        []string
	}{{"alice", "Alice Ångström", []string{"hpc"}}, {"bob", "", []string{"staff"}}, {"carol", "Carol", nil}} {
		u := e.addUser(p.name)
		if _, err := e.svc.SetProfile(ctx, u.ID, mfa.Profile{DisplayName: &p.display, Groups: &p.groups}); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string]func() string{}
	for _, name := range []string{"alice", "carol"} {
		c := anyHostClient()
		e.login(c, name, "", "/settings")
		key, _ := e.enroll(c)
		keys[name] = func() string { return key.TOTP(e.clock.Now()) }
	}
	e.aliceCode = keys["alice"]
	e.nextStep()
	alice = e.session("alice", true, keys["alice"])
	carol = e.session("carol", true, keys["carol"])
	bob = e.session("bob", false, nil)
	alicePending = e.session("alice", false, nil)
	return alice, bob, carol, alicePending
}

func TestForwardAuthRules(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32,::1", time.Second)
	alice, bob, carol, alicePending := faUsers(t, e)
	tests := []struct {
		name, token, url string
		want             int
		user             string
	}{
		{"no session", "", "https://notebook.example.org/lab", 401, ""},
		{"unknown token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "https://notebook.example.org/", 401, ""},
		{"malformed cookie", "../../etc/passwd", "https://notebook.example.org/", 401, ""},
		{"password only, code pending", alicePending, "https://notebook.example.org/", 401, ""},
		{"group member", alice, "https://notebook.example.org/lab/tree", 200, "alice"},
		{"host in another case", alice, "https://NoteBook.Example.ORG/lab", 200, "alice"},
		{"host with port", alice, "https://notebook.example.org:443/", 200, "alice"},
		{"not in the group", bob, "https://notebook.example.org/", 403, ""},
		{"deny rule", alice, "https://wiki.example.org/private/x", 403, ""},
		{"deny rule via dot segments", alice, "https://wiki.example.org/public/../private", 403, ""},
		{"deny rule via escaped dots", alice, "https://wiki.example.org/public/%2e%2e/private", 403, ""},
		{"user rule, other user", alice, "https://wiki.example.org/admin", 403, ""},
		{"user rule", carol, "https://wiki.example.org/admin/users", 200, "carol"},
		{"path prefix on segments", alice, "https://wiki.example.org/administrator", 200, "alice"},
		{"port rule", bob, "https://wiki.example.org:8443/", 200, "bob"},
		{"port rule, other user", alice, "https://wiki.example.org:8443/", 403, ""},
		{"optional, user without second factor", bob, "https://wiki.example.org/", 200, "bob"},
		{"optional, user with second factor", alice, "https://wiki.example.org/", 200, "alice"},
		{"optional, second factor not passed", alicePending, "https://wiki.example.org/", 401, ""},
		{"required, user without second factor", bob, "https://open.example.org/", 403, ""},
		{"required", carol, "https://open.example.org/", 200, "carol"},
		{"no rule", alice, "https://other.example.net/", 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.auth("/auth/nginx", tc.token, tc.url)
			if r.status != tc.want || r.header.Get("Remote-User") != tc.user {
				t.Errorf("/auth/nginx for %s = %d, Remote-User %q, want %d, %q", tc.url, r.status, r.header.Get("Remote-User"), tc.want, tc.user)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
			}
			want := tc.want
			if want == 401 {
				want = 302
			}
			if r := e.auth("/auth/redirect", tc.token, tc.url); r.status != want {
				t.Errorf("/auth/redirect for %s = %d, want %d", tc.url, r.status, want)
			}
		})
	}

	// Identity headers, exactly; what the client sent is never echoed.
	r := e.auth("/auth/nginx", alice, "https://notebook.example.org/", "Remote-User", "root", "Remote-Groups", "admin", "Remote-Name", "Root")
	for h, want := range map[string]string{"Remote-User": "alice", "Remote-Name": "Alice Ångström", "Remote-Groups": "hpc"} {
		if got := r.header.Values(h); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want exactly %q", h, got, want)
		}
	}
	r = e.auth("/auth/nginx", carol, "https://open.example.org/", "Remote-User", "root")
	if got := r.header.Values("Remote-Groups"); len(got) != 1 || got[0] != "" || r.header.Get("Remote-Name") != "Carol" {
		t.Errorf("carol's headers = %q", r.header)
	}
	for _, token := range []string{"", bob} {
		r = e.auth("/auth/nginx", token, "https://notebook.example.org/", "Remote-User", "alice", "Remote-Groups", "hpc")
		if r.status == 200 || r.header.Get("Remote-User") != "" || r.header.Get("Remote-Groups") != "" {
			t.Errorf("spoofed Remote-* with session %q = %d %q, want refused without identity", token, r.status, r.header)
		}
	}

	// Caddy and Traefik: the original URL from X-Forwarded-*, and the
	// redirect to the login page carries it.
	r = e.auth("/auth/redirect", "", "", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "notebook.example.org", "X-Forwarded-Uri", "/lab?a=1&b=2")
	if want := "http://mfa.example.org/login?rd=" + url0.QueryEscape("https://notebook.example.org/lab?a=1&b=2"); r.status != 302 || r.location != want {
		t.Errorf("/auth/redirect without session = %d %q, want 302 %q", r.status, r.location, want)
	}
	r = e.auth("/auth/redirect", alice, "", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "notebook.example.org", "X-Forwarded-Uri", "/lab")
	if r.status != 200 || r.header.Get("Remote-User") != "alice" {
		t.Errorf("/auth/redirect with X-Forwarded-* = %d %q", r.status, r.header.Get("Remote-User"))
	}
	// Any method: nginx asks with the original request's.
	req, _ := http.NewRequest("POST", e.srv.URL+"/auth/nginx", nil)
	req.Header.Set("Cookie", "otpgate_session="+alice)
	req.Header.Set("X-Original-URL", "https://notebook.example.org/api/contents")
	if r := e.do(e.client(), req); r.status != 200 {
		t.Errorf("POST /auth/nginx = %d, want 200", r.status)
	}
}

// TestForwardAuthAccessLog: a granted check is logged at debug level only
// (the proxy logs every request, and a page asks once for each of its
// resources); a refused one at info.
func TestForwardAuthAccessLog(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			e, _ := faSetupLog(t, "127.0.0.1/32", time.Second, level)
			alice, _, carol, _ := faUsers(t, e)
			for _, token := range []string{alice, alice} { // the store, then the cache
				if r := e.auth("/auth/nginx", token, "https://notebook.example.org/lab"); r.status != http.StatusOK {
					t.Fatalf("alice's check = %d, want 200", r.status)
				}
			}
			if r := e.auth("/auth/nginx", carol, "https://notebook.example.org/lab"); r.status != http.StatusForbidden {
				t.Fatalf("carol's check = %d, want 403", r.status)
			}
			if r := e.auth("/auth/nginx", "", "https://notebook.example.org/lab"); r.status != http.StatusUnauthorized {
				t.Fatalf("check without a session = %d, want 401", r.status)
			}
			logs := e.logs.String()
			for _, want := range []string{
				`level=INFO msg=request method=GET path=/auth/nginx status=403`,
				`user=carol reason="not allowed by the rule`,
				`level=INFO msg=request method=GET path=/auth/nginx status=401`,
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			want := 0
			if level == slog.LevelDebug {
				want = 2
			}
			line := regexp.MustCompile(`level=DEBUG msg=request method=GET path=/auth/nginx status=200 bytes=0 duration=\S+ remote_addr=127\.0\.0\.1:\d+ user=alice\n`)
			if got := len(line.FindAllString(logs, -1)); got != want || strings.Count(logs, "/auth/nginx status=200") != want {
				t.Errorf("%d granted checks logged at debug (%d in all), want %d:\n%s", got, strings.Count(logs, "/auth/nginx status=200"), want, logs)
			}
			if strings.Contains(logs, alice) {
				t.Errorf("the log holds a session token:\n%s", logs)
			}
		})
	}
}

func TestForwardAuthHostileInput(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", time.Second)
	alice, _, _, _ := faUsers(t, e)
	tests := []struct {
		name    string
		headers []string
		reason  string
	}{
		{"two original URLs", []string{"X-Original-URL", "https://notebook.example.org/", "X-Original-URL", "https://evil.org/"}, "more than once"},
		{"javascript", []string{"X-Original-URL", "javascript:alert(1)"}, "not an absolute http"},
		{"userinfo", []string{"X-Original-URL", "https://notebook.example.org@evil.org/"}, "forwarded host"},
		{"host list", []string{"X-Forwarded-Host", "notebook.example.org,evil.org"}, "forwarded host"},
		{"bad proto", []string{"X-Forwarded-Proto", "file", "X-Forwarded-Host", "notebook.example.org"}, "want http or https"},
		{"idn", []string{"X-Forwarded-Host", "xn--nbook-\u0435.example.org"}, "not printable ASCII"},
		{"two ports", []string{"X-Forwarded-Host", "notebook.example.org", "X-Forwarded-Port", "443", "X-Forwarded-Port", "8443"}, "X-Forwarded-Port"},
		{"port not a number", []string{"X-Forwarded-Host", "notebook.example.org", "X-Forwarded-Port", "https"}, "X-Forwarded-Port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, ep := range []string{"/auth/nginx", "/auth/redirect"} {
				r := e.auth(ep, alice, "", tc.headers...)
				if r.status != 400 || r.header.Get("Remote-User") != "" {
					t.Errorf("%s with %q = %d %q, want 400 without identity", ep, tc.headers, r.status, r.header.Get("Remote-User"))
				}
			}
			if !strings.Contains(e.logs.String(), tc.reason) {
				t.Errorf("log lacks %q:\n%s", tc.reason, e.logs.String())
			}
		})
	}
	for _, cookie := range []string{"otpgate_session=" + strings.Repeat("A", 200), "otpgate_session=\"x y\"", "otpgate_session=%00"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/auth/nginx", nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-Original-URL", "https://open.example.org/")
		if r := e.do(e.client(), req); r.status != 401 {
			t.Errorf("/auth/nginx with cookie %.40q = %d, want 401", cookie, r.status)
		}
	}
	if !strings.Contains(e.logs.String(), "session cookie too long") {
		t.Errorf("log lacks the refused cookie:\n%s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), alice) {
		t.Errorf("log holds a session token")
	}
}

func TestForwardAuthUntrustedPeer(t *testing.T) {
	e, _ := faSetup(t, "10.0.0.0/8", time.Second)
	alice, _, _, _ := faUsers(t, e)
	r := e.auth("/auth/nginx", alice, "https://notebook.example.org/")
	if r.status != 403 || r.header.Get("Remote-User") != "" {
		t.Errorf("/auth/nginx from an untrusted peer = %d %q, want 403", r.status, r.header.Get("Remote-User"))
	}
	if !strings.Contains(e.logs.String(), "forwarded headers from an untrusted peer ignored") {
		t.Errorf("no log line for ignored forwarded headers:\n%s", e.logs.String())
	}
	r = e.auth("/auth/redirect", "", "", "X-Forwarded-Host", "notebook.example.org", "X-Forwarded-Uri", "/lab")
	if r.status != 302 || r.location != "http://mfa.example.org/login" {
		t.Errorf("/auth/redirect from an untrusted peer = %d %q, want 302 to the login page without rd", r.status, r.location)
	}
	// The forwarded client address is ignored too: failures count on the
	// peer, so a client cannot escape throttling by inventing addresses.
	free := mfa.DefaultThrottles.Address.Free
	for i := range free + 1 {
		r := failedLogin(e, i)
		if want := map[bool]int{true: 429, false: 401}[i >= free]; r.status != want {
			t.Fatalf("failure %d with a new X-Forwarded-For = %d, want %d (counted on the peer)", i+1, r.status, want)
		}
	}
}

func TestForwardAuthTrustedClientAddress(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", time.Second)
	// From a trusted proxy, each forwarded client has its own counter:
	// more failures than an address may have, none throttled.
	for i := range mfa.DefaultThrottles.Address.Free + 5 {
		if r := failedLogin(e, i); r.status != 401 {
			t.Fatalf("failure %d from forwarded client %d = %d, want 401 (counted per client)", i+1, i, r.status)
		}
	}
}

// failedLogin posts a wrong password for user xI, forwarded for 198.51.100.I.
func failedLogin(e *env, i int) resp {
	e.t.Helper()
	form := url0.Values{"username": {"x" + strconv.Itoa(i)}, "password": {"wrong password"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String())
	return e.do(e.client(), req)
}

func TestForwardAuthSessionCache(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", time.Second)
	alice, bob, _, _ := faUsers(t, e)
	ctx := context.Background()
	status := func(token string) int { return e.auth("/auth/nginx", token, "https://wiki.example.org/").status }
	if s := status(alice); s != 200 {
		t.Fatalf("alice = %d, want 200", s)
	}
	// A revocation elsewhere (another instance, the user command) takes
	// effect within the TTL.
	if err := e.store.DeleteSession(ctx, mfa.HashToken(alice)); err != nil {
		t.Fatal(err)
	}
	if s := status(alice); s != 200 {
		t.Errorf("alice right after a revocation elsewhere = %d, want 200 (cached)", s)
	}
	e.clock.Add(time.Second)
	if s := status(alice); s != 401 {
		t.Errorf("alice one TTL after a revocation elsewhere = %d, want 401", s)
	}
	// A password-only user's answer is cached too, and forgotten at once
	// when he sets up TOTP through this server.
	if s := status(bob); s != 200 {
		t.Fatalf("bob = %d, want 200", s)
	}
	e.store.DeleteSession(ctx, mfa.HashToken(bob))
	if s := status(bob); s != 200 {
		t.Errorf("bob right after a revocation elsewhere = %d, want 200 (cached)", s)
	}
	e.clock.Add(time.Second)
	if s := status(bob); s != 401 {
		t.Errorf("bob one TTL after a revocation elsewhere = %d, want 401", s)
	}
	bob = e.session("bob", false, nil)
	if s := status(bob); s != 200 {
		t.Fatalf("bob signed in again = %d, want 200", s)
	}
	e.enrolAPI("bob")
	if s := status(bob); s != 401 {
		t.Errorf("bob's password-only session right after he set up TOTP = %d, want 401", s)
	}
	// Sign-out through this server forgets at once, for every host.
	e.nextStep()
	alice = e.session("alice", true, e.aliceCode)
	if s := status(alice); s != 200 {
		t.Fatalf("alice signed in again = %d, want 200", s)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/logout", strings.NewReader("rd="+url0.QueryEscape("https://notebook.example.org/lab")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", "otpgate_session="+alice)
	r := e.do(e.client(), req)
	if r.status != 303 || r.location != "https://notebook.example.org/lab" {
		t.Errorf("POST /logout with rd = %d %q, want 303 to rd", r.status, r.location)
	}
	if sc := strings.Join(r.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "Domain=example.org; Max-Age=0") {
		t.Errorf("logout Set-Cookie = %q, want the domain cookie removed", sc)
	}
	for _, u := range []string{"https://notebook.example.org/", "https://wiki.example.org/", "https://open.example.org/"} {
		if s := e.auth("/auth/nginx", alice, u).status; s != 401 {
			t.Errorf("%s right after sign-out = %d, want 401", u, s)
		}
	}
	// Sign out everywhere forgets every cached session of the user.
	e.nextStep()
	a1 := e.session("alice", true, e.aliceCode)
	e.nextStep()
	a2 := e.session("alice", true, e.aliceCode)
	for _, tok := range []string{a1, a2} {
		if s := status(tok); s != 200 {
			t.Fatalf("alice's sessions = %d, want 200", s)
		}
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/logout/all", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", "otpgate_session="+a1)
	if r := e.do(e.client(), req); r.status != 200 {
		t.Fatalf("POST /logout/all = %d", r.status)
	}
	for _, tok := range []string{a1, a2} {
		if s := status(tok); s != 401 {
			t.Errorf("a session right after sign-out everywhere = %d, want 401", s)
		}
	}
}

func TestForwardAuthCacheDisabled(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", 0)
	alice, _, _, _ := faUsers(t, e)
	if s := e.auth("/auth/nginx", alice, "https://wiki.example.org/").status; s != 200 {
		t.Fatalf("alice = %d, want 200", s)
	}
	e.store.DeleteSession(context.Background(), mfa.HashToken(alice))
	if s := e.auth("/auth/nginx", alice, "https://wiki.example.org/").status; s != 401 {
		t.Errorf("alice after revocation with the cache off = %d, want 401 at once", s)
	}
}

// anyHostJar keeps cookies whatever their domain, so that a test client
// on 127.0.0.1 holds a cookie set for example.org.
type anyHostJar struct {
	mu sync.Mutex
	m  map[string]*http.Cookie
}

func (j *anyHostJar) SetCookies(_ *url0.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *anyHostJar) Cookies(*url0.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var cs []*http.Cookie
	for _, c := range j.m {
		cs = append(cs, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return cs
}

func anyHostClient() *http.Client {
	return &http.Client{Jar: &anyHostJar{m: map[string]*http.Cookie{}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestLoginRD(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", time.Second)
	faUsers(t, e)
	const app = "https://notebook.example.org/lab/tree?x=1"
	tests := []struct {
		rd, want string
	}{
		{app, app},
		{"https://example.org/", "https://example.org/"},
		{"http://mfa.example.org/settings/security", "http://mfa.example.org/settings/security"},
		{"/settings/security", "/settings/security"},
		{"https://evil.org/", "/settings"},
		{"https://notebook.example.org.evil.org/", "/settings"},
		{"https://notebook.example.org@evil.org/", "/settings"},
		{"javascript:alert(1)", "/settings"},
		{"https:\\\\evil.org", "/settings"},
		{"//evil.org", "/settings"},
		{"https://xn--exmple-cua.org/", "/settings"},
	}
	for _, tc := range tests {
		// Password alone (bob has no second factor).
		r := e.post(e.client(), "/login", url0.Values{"username": {"bob"}, "password": {testPassword}, "rd": {tc.rd}})
		if r.status != 303 || r.location != tc.want {
			t.Errorf("login with rd=%q = %d %q, want 303 to %q", tc.rd, r.status, r.location, tc.want)
		}
		// The form carries rd as next.
		page := e.get(e.client(), "/login?rd="+url0.QueryEscape(tc.rd))
		if want := `name="next" value="` + htmlEscape(tc.want) + `"`; !strings.Contains(page.body, want) {
			t.Errorf("GET /login?rd=%q lacks %s", tc.rd, want)
		}
	}

	// One form with the code, and the second step.
	e.nextStep()
	r := e.post(e.client(), "/login", url0.Values{"username": {"alice"}, "password": {testPassword}, "otp": {e.aliceCode()}, "next": {app}})
	if r.status != 303 || r.location != app {
		t.Errorf("one-form login with code and rd = %d %q, want %q", r.status, r.location, app)
	}
	e.nextStep()
	c := anyHostClient()
	r = e.post(c, "/login", url0.Values{"username": {"alice"}, "password": {testPassword}, "next": {app}})
	if want := "/login/totp?next=" + url0.QueryEscape(app); r.status != 303 || r.location != want {
		t.Fatalf("login without code = %d %q, want %q", r.status, r.location, want)
	}
	if p := e.get(c, r.location); !strings.Contains(p.body, `value="`+htmlEscape(app)+`"`) {
		t.Errorf("second step page lacks rd:\n%s", p.body)
	}
	r = e.post(c, "/login/totp", url0.Values{"code": {e.aliceCode()}, "next": {app}})
	if r.status != 303 || r.location != app {
		t.Errorf("second step with rd = %d %q, want %q", r.status, r.location, app)
	}
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, "Domain=example.org") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("session cookie = %q, want Domain=example.org, HttpOnly", sc)
	}
	if csp := e.get(c, "/login").header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://example.org:* https://*.example.org:*") {
		t.Errorf("CSP = %q, want form-action to allow the cookie domain (redirects after a form post)", csp)
	}

	// Sign-out page: a GET shows a button and keeps an allowed rd only.
	if p := e.get(c, "/logout?rd="+url0.QueryEscape(app)); p.status != 200 || !strings.Contains(p.body, `name="rd" value="`+htmlEscape(app)+`"`) {
		t.Errorf("GET /logout?rd = %d\n%s", p.status, p.body)
	}
	if p := e.get(c, "/logout?rd="+url0.QueryEscape("https://evil.org/")); strings.Contains(p.body, "evil.org") {
		t.Errorf("GET /logout keeps a refused rd:\n%s", p.body)
	}
	r = e.post(c, "/logout", url0.Values{"rd": {"https://evil.org/?token=s3cret"}})
	if r.status != 303 || r.location != "/login" {
		t.Errorf("POST /logout with a refused rd = %d %q, want /login", r.status, r.location)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `msg="redirect target refused" path=/logout target=https://evil.org/`) || strings.Contains(logs, "s3cret") {
		t.Errorf("log of a refused rd (with the target, without its query):\n%s", logs)
	}
}

func TestForcedSetupKeepsRD(t *testing.T) {
	rules, _ := access.Parse("r", strings.NewReader("host * users *"))
	e := newEnv(t, setup{opts: web.Options{BaseURL: "http://mfa.example.org", CookieDomain: "example.org", Rules: rules}, mopts: mfa.Options{RequireSecondFactor: true}})
	e.addUser("dave")
	const app = "https://notebook.example.org/lab"
	c := anyHostClient()
	r := e.post(c, "/login", url0.Values{"username": {"dave"}, "password": {testPassword}, "next": {app}})
	if want := "/settings/security?next=" + url0.QueryEscape(app); r.status != 303 || r.location != want {
		t.Fatalf("login of a user who must set up TOTP = %d %q, want %q", r.status, r.location, want)
	}
	p := e.get(c, r.location)
	if !strings.Contains(p.body, `name="next" value="`+htmlEscape(app)+`"`) {
		t.Fatalf("forced setup page lacks rd:\n%s", p.body)
	}
	p = e.post(c, "/settings/security/totp", url0.Values{"next": {app}})
	key, id := e.keyOf(p.body)
	if !strings.Contains(p.body, `name="next" value="`+htmlEscape(app)+`"`) {
		t.Errorf("setup page lacks rd")
	}
	p = e.post(c, "/settings/security/totp/confirm", url0.Values{"id": {id}, "code": {key.TOTP(e.clock.Now())}, "next": {app}})
	if !strings.Contains(p.body, `<a href="`+htmlEscape(app)+`">Continue</a>`) {
		t.Errorf("setup done page does not continue to rd:\n%s", p.body)
	}
}

// htmlEscape is html/template's escaping of an attribute value for the
// URLs these tests use.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "\\", "&#92;", `"`, "&#34;").Replace(s)
}

// TestForwardAuthConcurrentChecks: many checks of one session at once,
// when nothing is cached (they share a store lookup), all pass; after a
// sign-out through this server, all are refused.
func TestForwardAuthConcurrentChecks(t *testing.T) {
	e, _ := faSetup(t, "127.0.0.1/32", time.Second)
	alice, _, _, _ := faUsers(t, e)
	check := func(want int) {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if s := e.auth("/auth/nginx", alice, "https://wiki.example.org/").status; s != want {
					t.Errorf("concurrent check = %d, want %d", s, want)
				}
			})
		}
		wg.Wait()
	}
	check(200)
	e.clock.Add(time.Second) // the entry expires
	check(200)
	req, _ := http.NewRequest("POST", e.srv.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", "otpgate_session="+alice)
	if r := e.do(e.client(), req); r.status != 303 {
		t.Fatalf("POST /logout = %d", r.status)
	}
	check(401)
}
