package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// gateRun is one end-to-end set-up: the real otpgate binary, a real
// Jupyter notebook server and an echo app as upstreams, and a proxy in
// front of them, all on loopback.
type gateRun struct {
	dir            string
	gate           *gateServer
	jupyter, echo  string // upstream addresses
	cert, key      string
	roots          *x509.CertPool
	proxy          string // the proxy's address, where *.example.test leads
	alice          *fileUser
	bob            string
	bobKey         otp.Key
	password       string // both users'
	logPath        string // otpgate's log
	kernelDirectly string // a kernel started on Jupyter, not through the gate
}

// newGateRun starts otpgate, Jupyter and the echo app with two users:
// alice (a system account, named after the proxy) whose codes come from
// her ~/.google_authenticator, in groups jupyter and staff; and bob, with a
// TOTP in otpgate's store, in group jupyter. Rules: the notebook for the
// group jupyter, the echo app for alice only, both with a second factor.
func newGateRun(t *testing.T, proxyName string) *gateRun {
	t.Helper()
	dir := t.TempDir()
	g := &gateRun{dir: dir, password: "correct horse battery staple", bob: "bob"}
	g.cert, g.key, g.roots = gateCert(t, dir)
	g.alice = newFileUser(t, dir, "e2e-alice-"+proxyName)
	rules := filepath.Join(dir, "access-rules")
	if err := os.WriteFile(rules, []byte(fmt.Sprintf(
		"host %s groups jupyter second-factor required\nhost %s users %s second-factor required\n",
		notebookHost, echoHost, g.alice.name)), 0o644); err != nil {
		t.Fatal(err)
	}
	g.gate = prepareGate(t, dir, "-access-rules", rules,
		"-user-file", filepath.Join(dir, "home", "${USER}", ".google_authenticator"))

	// alice through the user command of the real binary, bob in-process.
	add := exec.Command(g.gate.bin, append([]string{"user", "add", g.alice.name, "--password-stdin",
		"--display-name", "Alice Example", "--groups", "jupyter,staff"}, g.gate.args...)...)
	add.Stdin = strings.NewReader(g.password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("otpgate user add: %v\n%s", err, out)
	}
	svc, closeStore := g.gate.service(t)
	g.bobKey = storeUser(t, svc, mfa.NewUser{Name: g.bob, Password: g.password, DisplayName: "Bob Example", Groups: []string{"jupyter"}})
	closeStore()

	g.logPath = filepath.Join(dir, "otpgate.log")
	g.gate.start(t, g.logPath)
	g.jupyter = startJupyter(t, dir)
	g.echo = echoUpstream(t)

	// A kernel started by the operator, straight on Jupyter: the anonymous
	// websocket below asks for it through the gate.
	direct := gateClientDirect()
	var k struct{ ID string }
	fetch(t, direct, "GET", "http://"+g.jupyter+"/tree", nil, nil)
	if st := jupyterJSON(t, direct, "POST", "http://"+g.jupyter+"/api/kernels", &k); st != 201 || k.ID == "" {
		t.Fatalf("starting a kernel on Jupyter directly: status %d", st)
	}
	g.kernelDirectly = k.ID
	return g
}

// gateClientDirect is a plain client with a cookie jar, for the upstreams.
func gateClientDirect() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

// client is a fresh browser in front of the proxy.
func (g *gateRun) client() *http.Client { return gateClient(g.proxy, g.roots) }

// TestGateNginxJupyter runs the scenario behind nginx, configured with the
// shipped examples/nginx/otpgate.conf.
func TestGateNginxJupyter(t *testing.T) {
	nginx := testenv.LookPath(t, "nginx")
	g := newGateRun(t, "nginx")
	g.proxy = startNginx(t, nginx, g)
	g.scenario(t)
	// The example's access log names the user the gate let through.
	log, err := os.ReadFile(filepath.Join(g.dir, "nginx", "logs", "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m) - ` + g.alice.name + ` \[[^]]+\] "GET /notebooks/e2e\.ipynb\?kernel_name=python3&from=e2e HTTP/1\.1" 200 `)
	if !line.Match(log) {
		t.Errorf("nginx's access log lacks alice's notebook request with her name:\n%s", tail(log, 3000))
	}
}

// TestGateCaddyJupyter runs the same scenario behind Caddy, configured with
// the shipped examples/caddy/Caddyfile.
func TestGateCaddyJupyter(t *testing.T) {
	caddy := testenv.LookPath(t, "caddy")
	g := newGateRun(t, "caddy")
	g.proxy = startCaddy(t, caddy, g)
	g.scenario(t)
}

// startNginx runs nginx with the shipped configuration, adapted: the test's
// domain, ports and certificate, and a copy of the notebook's server block
// for the echo app.
func startNginx(t *testing.T, nginx string, g *gateRun) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/nginx/otpgate.conf")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	conf := string(src)
	prefix := filepath.Join(g.dir, "nginx")
	for _, r := range [][2]string{
		{"/var/log/nginx/", prefix + "/logs/"},
		{"example.org", gateDomain},
		{"listen 443 ssl;", "listen " + addr + " ssl;"},
		{"/etc/ssl/certs/" + gateDomain + ".pem", g.cert},
		{"/etc/ssl/private/" + gateDomain + ".key", g.key},
		{"127.0.0.1:8080", g.gate.addr},
		{"127.0.0.1:8888", g.jupyter},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("examples/nginx/otpgate.conf lacks %q", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	i := strings.Index(conf, "# Jupyter behind the gate.")
	if i < 0 {
		t.Fatal("examples/nginx/otpgate.conf: no Jupyter server block")
	}
	echoBlock := strings.NewReplacer(notebookHost, echoHost, g.jupyter, g.echo).Replace(conf[i:])
	conf += "\n" + echoBlock
	if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "otpgate.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	main := user + `daemon off;
worker_processes 1;
pid ` + prefix + `/nginx.pid;
error_log ` + prefix + `/logs/error.log info;
events { worker_connections 256; }
http {
    access_log ` + prefix + `/logs/access.log;
    include ` + prefix + `/otpgate.conf;
}
`
	if err := os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", prefix, "-e", prefix+"/logs/error.log", "-c", prefix+"/nginx.conf").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	exited := startProcess(t, exec.Command(nginx, "-p", prefix, "-e", prefix+"/logs/error.log", "-c", prefix+"/nginx.conf"),
		filepath.Join(g.dir, "nginx.log"))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := os.ReadFile(prefix + "/logs/error.log")
			t.Logf("nginx error.log:\n%s", tail(out, 3000))
		}
	})
	waitListening(t, addr, "nginx", exited)
	return addr
}

// startCaddy runs Caddy with the shipped Caddyfile, adapted: global options
// for the test's ports and storage, the test's certificate in each site,
// and a copy of the notebook's site for the echo app.
func startCaddy(t *testing.T, caddy string, g *gateRun) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/caddy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	httpAddr := freeAddr(t)
	conf := string(src)
	_, port, _ := strings.Cut(addr, ":")
	for _, r := range [][2]string{
		{"example.org", gateDomain},
		{"127.0.0.1:8080", g.gate.addr},
		{"127.0.0.1:8888", g.jupyter},
		// The port the sites listen on, as every site tells the gate.
		{"import otpgate 443", "import otpgate " + port},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("examples/caddy/Caddyfile lacks %q", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	site := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(notebookHost) + ` \{$.*?^\}$`).FindString(conf)
	if site == "" {
		t.Fatal("examples/caddy/Caddyfile: no notebook site")
	}
	conf += "\n" + strings.NewReplacer(notebookHost, echoHost, g.jupyter, g.echo).Replace(site) + "\n"
	tlsLine := "\n\ttls " + g.cert + " " + g.key
	for _, h := range []string{authHost, notebookHost, echoHost} {
		conf = strings.Replace(conf, "\n"+h+" {", "\n"+h+" {"+tlsLine, 1)
	}
	caddyDir := filepath.Join(g.dir, "caddy")
	_, httpPort, _ := strings.Cut(httpAddr, ":")
	global := "{\n\tadmin off\n\tauto_https disable_redirects\n\thttps_port " + port +
		"\n\thttp_port " + httpPort + "\n\tdefault_bind 127.0.0.1\n\tstorage file_system " + caddyDir + "\n}\n\n"
	if err := os.MkdirAll(caddyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(caddyDir, "Caddyfile")
	if err := os.WriteFile(file, []byte(global+conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--adapter", "caddyfile", "--config", file)
	cmd.Env = append(os.Environ(), "HOME="+caddyDir, "XDG_DATA_HOME="+caddyDir, "XDG_CONFIG_HOME="+caddyDir)
	waitListening(t, addr, "caddy", startProcess(t, cmd, filepath.Join(g.dir, "caddy.log")))
	return addr
}

// scenario is the test both proxies pass.
func (g *gateRun) scenario(t *testing.T) {
	nb := "https://" + notebookHost
	echo := "https://" + echoHost
	t.Run("no session", func(t *testing.T) { g.anonymous(t, nb, echo) })

	// alice: the stock module takes the previous step's code first (this
	// also shows the module accepts her file), so the gate must refuse it
	// as used; the current step's code lets her in.
	now := time.Now()
	prev, cur, next := g.alice.key.TOTP(now.Add(-30*time.Second)), g.alice.key.TOTP(now), g.alice.key.TOTP(now.Add(30*time.Second))
	if !g.alice.stockPAM(t, prev) {
		t.Fatalf("the stock module refused a fresh code from the file made by google-authenticator")
	}
	alice := g.client()
	start := nb + "/notebooks/e2e.ipynb?kernel_name=python3&from=e2e"
	r, _ := signIn(t, alice, start, g.alice.name, g.password, prev)
	if r.Request.URL.Host != authHost || r.StatusCode == 200 {
		t.Fatalf("the gate accepted a code the stock module had used: %s", describe(r))
	}
	r, body := signIn(t, alice, start, g.alice.name, g.password, cur)
	if r.StatusCode != 200 || r.Request.URL.String() != start || !strings.Contains(body, "e2e.ipynb") {
		t.Fatalf("alice did not land on the notebook she asked for: %s\n%.400s", describe(r), body)
	}
	if g.alice.stockPAM(t, cur) {
		t.Errorf("the stock module accepted the code the gate had used")
	}
	if !g.alice.stockPAM(t, next) {
		t.Errorf("the stock module refused the next step's code (so its refusal above proves nothing)")
	}
	t.Run("alice in the notebook", func(t *testing.T) { g.notebookWorks(t, alice, nb) })
	t.Run("identity headers", func(t *testing.T) { g.identityHeaders(t, alice, echo) })

	// bob, with a TOTP in otpgate's store.
	bob := g.client()
	r, body = signIn(t, bob, nb+"/tree", g.bob, g.password, g.bobKey.TOTP(time.Now()))
	if r.StatusCode != 200 || r.Request.URL.String() != nb+"/tree" {
		t.Fatalf("bob did not reach the notebook: %s\n%.400s", describe(r), body)
	}
	t.Run("bob in the notebook", func(t *testing.T) { g.notebookWorks(t, bob, nb) })
	t.Run("rules and forged original URLs", func(t *testing.T) { g.forgedTarget(t, bob, nb, echo) })
	t.Run("direct requests from an untrusted address", func(t *testing.T) { g.untrusted(t, alice) })

	// Signing out through the notebook's link ends alice's access to both
	// apps; bob's session is his own.
	r, _ = signOut(t, alice, nb+"/tree")
	if r.Request.URL.Host != authHost || r.Request.URL.Path != "/login" {
		t.Errorf("after sign-out: %s, want the login page", describe(r))
	}
	g.anonymous(t, nb, echo, alice)
	if r, _ := fetch(t, bob, "GET", nb+"/tree", nil, nil); r.StatusCode != 200 || r.Request.URL.Host != notebookHost {
		t.Errorf("bob after alice's sign-out: %s", describe(r))
	}
	t.Run("client addresses in the log", g.clientAddresses)
}

// Client addresses: the test's clients reach the proxy from clientIP (not
// a trusted proxy); forgedClient is what they claim in X-Forwarded-For and
// X-Real-IP; trustedClient is what the trusted proxy's address claims when
// the test asks otpgate directly.
const (
	clientIP      = "127.0.0.3"
	forgedClient  = "203.0.113.9"
	trustedClient = "198.51.100.7"
)

// clientAddresses reads otpgate's access log: the client address that the
// proxy saw is logged for requests through it, the trusted address's claim
// too, and a forged address never. The server buffers its log for up to
// logFlushInterval, so the lines of the requests made are written first.
func (g *gateRun) clientAddresses(t *testing.T) {
	time.Sleep(3 * logFlushInterval)
	data, err := os.ReadFile(g.logPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, forgedClient) {
			t.Errorf("a forged client address reached the log: %s", line)
		}
		var rec struct {
			Path       string
			ClientAddr string `json:"client_addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.ClientAddr != "" {
			seen[rec.ClientAddr]++
		}
	}
	if seen[clientIP] == 0 || seen[trustedClient] == 0 {
		t.Errorf("client addresses logged: %v, want %s (through the proxy) and %s (from the trusted address)", seen, clientIP, trustedClient)
	}
}

// anonymous checks that, without a valid session (a fresh client, or the
// given one), every notebook and echo URL is redirected to the login page
// with rd, or refused, and never reaches the upstream.
func (g *gateRun) anonymous(t *testing.T, nb, echo string, clients ...*http.Client) {
	t.Helper()
	c := g.client()
	if len(clients) > 0 {
		c = clients[0]
	}
	nf := noFollow(c)
	forged := http.Header{"Remote-User": {g.alice.name}, "Remote-Groups": {"jupyter"}}
	// Session cookies: an unknown token of the right form, and hostile ones.
	unknown := http.Header{"Cookie": {"otpgate_session=" + strings.Repeat("A", 43)}}
	hostile := http.Header{"Cookie": {"otpgate_session=../../etc/passwd; otpgate_session=" + strings.Repeat("%00", 300)}}
	for _, u := range []string{nb + "/", nb + "/tree", nb + "/notebooks/e2e.ipynb", nb + "/api/contents",
		nb + "/api/kernels", nb + "/api/kernels/" + g.kernelDirectly, nb + "/api/contents/e2e.ipynb?content=1", echo + "/"} {
		for _, h := range []http.Header{nil, forged, unknown, hostile} {
			r, body := fetch(t, nf, "GET", u, nil, h)
			if r.StatusCode != http.StatusFound {
				t.Errorf("no session: %s, want 302 to the login page\n%.300s", describe(r), body)
				continue
			}
			loc, err := url.Parse(r.Header.Get("Location"))
			if err != nil || loc.Host != authHost || loc.Path != "/login" || loc.Query().Get("rd") != u {
				t.Errorf("no session: %s, want https://%s/login?rd=%s", describe(r), authHost, url.QueryEscape(u))
			}
		}
	}
	// The forward-auth endpoints are not public.
	for _, p := range []string{"/auth/nginx", "/auth/redirect"} {
		if r, _ := fetch(t, nf, "GET", "https://"+authHost+p, nil, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s, want 404 (the proxy keeps the endpoints to itself)", describe(r))
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		r, _ := fetch(t, nf, m, nb+"/api/kernels/"+g.kernelDirectly, nil, http.Header{"X-XSRFToken": {"x"}})
		if r.StatusCode/100 == 2 {
			t.Errorf("no session: %s passed", describe(r))
		}
	}
	ws := nb + "/api/kernels/" + g.kernelDirectly + "/channels"
	if st := websocketUpgrade(t, c, ws, nb); st == http.StatusSwitchingProtocols || st/100 == 2 {
		t.Errorf("no session: websocket upgrade answered %d", st)
	}
}

// notebookWorks checks the notebook's API and a kernel's websocket through
// the gate for a signed-in client.
func (g *gateRun) notebookWorks(t *testing.T, c *http.Client, nb string) {
	var contents struct{ Content []struct{ Name string } }
	if st := jupyterJSON(t, c, "GET", nb+"/api/contents", &contents); st != 200 {
		t.Fatalf("GET /api/contents through the gate: %d", st)
	}
	found := false
	for _, f := range contents.Content {
		found = found || f.Name == "e2e.ipynb"
	}
	if !found {
		t.Errorf("/api/contents lacks e2e.ipynb: %+v", contents)
	}
	var k struct{ ID string }
	if st := jupyterJSON(t, c, "POST", nb+"/api/kernels", &k); st != 201 || k.ID == "" {
		t.Fatalf("POST /api/kernels through the gate: %d", st)
	}
	if st := websocketUpgrade(t, c, nb+"/api/kernels/"+k.ID+"/channels", nb); st != http.StatusSwitchingProtocols {
		t.Errorf("websocket to the kernel through the gate: %d, want 101", st)
	}
	if st := jupyterJSON(t, c, "DELETE", nb+"/api/kernels/"+k.ID, nil); st != 204 {
		t.Errorf("DELETE the kernel through the gate: %d", st)
	}
}

// echoed is what the echo app received.
type echoed struct {
	Host    string
	URI     string
	Headers http.Header
}

// identityHeaders sends forged identity and forwarded headers through the
// proxy as alice and checks what the upstream sees.
func (g *gateRun) identityHeaders(t *testing.T, c *http.Client, echo string) {
	forged := http.Header{
		"Remote-User":       {"root"},
		"Remote-Name":       {"Mallory"},
		"Remote-Groups":     {"admins"},
		"X-Forwarded-For":   {forgedClient},
		"X-Real-Ip":         {forgedClient},
		"X-Forwarded-Host":  {"evil.example.net"},
		"X-Forwarded-Proto": {"http"},
		"X-Forwarded-Uri":   {"/admin"},
		"X-Original-Url":    {"https://evil.example.net/admin"},
	}
	for _, h := range []http.Header{nil, forged} {
		r, body := fetch(t, c, "GET", echo+"/whoami?x=1", nil, h)
		if r.StatusCode != 200 || r.Request.URL.Host != echoHost {
			t.Fatalf("alice on the echo app: %s\n%.300s", describe(r), body)
		}
		var e echoed
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("echo: %v\n%s", err, body)
		}
		want := map[string]string{"Remote-User": g.alice.name, "Remote-Name": "Alice Example", "Remote-Groups": "jupyter,staff"}
		for k, v := range want {
			if got := e.Headers.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("forged=%v: upstream got %s %q, want exactly %q", h != nil, k, got, v)
			}
		}
		for k, vs := range e.Headers {
			for _, v := range vs {
				if strings.Contains(v, forgedClient) || strings.Contains(v, "evil.example.net") || strings.Contains(v, "Mallory") {
					t.Errorf("forged=%v: the client's value reached the upstream: %s: %s", h != nil, k, v)
				}
			}
		}
		if e.Host != echoHost || e.URI != "/whoami?x=1" {
			t.Errorf("upstream got Host %q URI %q", e.Host, e.URI)
		}
	}
}

// forgedTarget checks that the rules decide on the URL the client really
// asked for, whatever forwarded headers it sends: bob may use the notebook
// but not the echo app.
func (g *gateRun) forgedTarget(t *testing.T, bob *http.Client, nb, echo string) {
	forged := http.Header{
		"X-Original-Url":    {nb + "/tree"},
		"X-Forwarded-Host":  {notebookHost},
		"X-Forwarded-Uri":   {"/tree"},
		"X-Forwarded-Proto": {"https"},
		"Remote-User":       {g.alice.name},
	}
	for _, h := range []http.Header{nil, forged} {
		r, body := fetch(t, noFollow(bob), "GET", echo+"/", nil, h)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("bob on the echo app (forged=%v): %s, want 403\n%.300s", h != nil, describe(r), body)
		}
	}
}

// untrusted sends forwarded headers straight to otpgate from 127.0.0.2,
// which is not a trusted proxy: they must be ignored, while the same
// request from the trusted 127.0.0.1 is believed (so the test can fail).
func (g *gateRun) untrusted(t *testing.T, alice *http.Client) {
	var cookie string
	for _, ck := range alice.Jar.Cookies(&url.URL{Scheme: "https", Host: notebookHost, Path: "/"}) {
		if ck.Name == "otpgate_session" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("alice has no session cookie for the notebook's host (cookie domain)")
	}
	from := func(local string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	target := "https://" + notebookHost + "/tree"
	headers := http.Header{"X-Original-Url": {target}, "X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host": {notebookHost}, "X-Forwarded-Uri": {"/tree"}}
	ask := func(local, path, cookie string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+g.gate.addr+path, nil)
		for k, v := range headers {
			req.Header[k] = v
		}
		// The trusted proxy's client address is believed (and logged), the
		// untrusted peer's forged one must not be.
		req.Header.Set("X-Forwarded-For", map[bool]string{true: trustedClient, false: forgedClient}[local == "127.0.0.1"])
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		r, err := from(local).Do(req)
		if err != nil {
			t.Fatalf("%s from %s: %v", path, local, err)
		}
		r.Body.Close()
		return r
	}
	// With alice's session: the trusted proxy's question is answered, the
	// untrusted peer's has no original URL to allow.
	if r := ask("127.0.0.1", "/auth/nginx", cookie); r.StatusCode != 200 || r.Header.Get("Remote-User") != g.alice.name {
		t.Errorf("from the trusted proxy: %d %q, want 200 for alice", r.StatusCode, r.Header.Get("Remote-User"))
	}
	if r := ask("127.0.0.2", "/auth/nginx", cookie); r.StatusCode == 200 || r.Header.Get("Remote-User") != "" {
		t.Errorf("from an untrusted peer with forged forwarded headers: %d %q, want a refusal", r.StatusCode, r.Header.Get("Remote-User"))
	}
	// Without a session: only the trusted proxy's URL becomes rd.
	if r := ask("127.0.0.1", "/auth/redirect", ""); !strings.Contains(r.Header.Get("Location"), url.QueryEscape(target)) {
		t.Errorf("from the trusted proxy: Location %q lacks rd=%s", r.Header.Get("Location"), target)
	}
	if r := ask("127.0.0.2", "/auth/redirect", ""); strings.Contains(r.Header.Get("Location"), notebookHost) {
		t.Errorf("from an untrusted peer: Location %q took the forged URL", r.Header.Get("Location"))
	}
}
