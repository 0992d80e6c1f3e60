package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// TestApacheOIDCExampleSyntax checks examples/oidc/apache with Debian's
// apache2 -t and the module loaded, and that the check does look at the
// module's directives: a misspelt one is refused.
func TestApacheOIDCExampleSyntax(t *testing.T) {
	apache := lookApache(t)
	dir := t.TempDir()
	cert, key, _ := gateCert(t, dir)
	site := newApacheSite(t, dir)
	site.configure(t, apacheSettings{issuer: "http://127.0.0.1:9", secret: "s", cert: cert, key: key})
	if out, err := apacheCheck(apache, site.conf); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Fatalf("apache2 -t on the example: %v\n%s", err, out)
	}
	vhost := filepath.Join(site.dir, "otpgate-app.conf")
	b, err := os.ReadFile(vhost)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "OIDCPKCEMethod S256", "OIDCPKCEMethods S256", 1)
	if err := os.WriteFile(vhost, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := apacheCheck(apache, site.conf); err == nil {
		t.Errorf("apache2 -t accepts a misspelt directive:\n%s", out)
	}
}

// TestApacheOIDCFailsClosed runs the example with a provider that does not
// answer: the open page is served, the protected ones never are.
func TestApacheOIDCFailsClosed(t *testing.T) {
	apache := lookApache(t)
	dir := t.TempDir()
	cert, key, roots := gateCert(t, dir)
	site := newApacheSite(t, dir)
	site.configure(t, apacheSettings{issuer: "http://" + freeAddr(t), secret: "s", cert: cert, key: key})
	startApache(t, apache, site)
	c := noFollow(gateClient(site.addr, roots))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/signed-out.html", http.StatusOK},
		{"/", http.StatusInternalServerError},
		{"/index.shtml", http.StatusInternalServerError},
		{"/staff/", http.StatusInternalServerError},
	} {
		req, _ := http.NewRequest("GET", site.url+tc.path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestApacheOIDCBrowser signs in to the Apache example through otpgate's
// provider in Debian's chromium: alice (password, then her code) comes
// back to the page showing her user name, groups and how she signed in,
// and gets the staff pages; carol, who has no second factor, sets up TOTP
// at sign-in (the QR code decoded from a screenshot) before the page, and
// is kept out of the staff pages; alice's sign-out through the end-session
// endpoint ends both the site's session and otpgate's.
func TestApacheOIDCBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	apache := lookApache(t)
	chromium := testenv.LookPath(t, "chromium")
	zbarimg := testenv.LookPath(t, "zbarimg")
	shots, err := os.MkdirTemp("", "otpgate-apache-oidc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	dir := t.TempDir()
	cert, key, roots := gateCert(t, dir)
	const password = "correct horse battery staple"

	// otpgate over http on loopback: the issuer is its own address.
	g := &gateServer{bin: buildOtpgate(t), addr: freeAddr(t), dataDir: filepath.Join(dir, "otpgate-data")}
	issuer := "http://" + g.addr
	g.args = append([]string{"-data-dir", g.dataDir, "-base-url", issuer, "-log-format", "json"}, fastFlags...)
	svc, closeStore := g.service(t)
	aliceKey := storeUser(t, svc, mfa.NewUser{Name: "alice", Password: password, DisplayName: "Alice Example",
		Groups: []string{"staff", "jupyter"}, Mail: "alice@example.org"})
	if _, err := svc.CreateUser(context.Background(), mfa.NewUser{Name: "carol", Password: password, Groups: []string{"jupyter"}}); err != nil {
		t.Fatal(err)
	}
	closeStore()

	// The site registered with the example's own command line.
	site := newApacheSite(t, dir)
	add := clientAddLine(t, filepath.Join(apacheExample, "otpgate-app.conf"))
	for i, a := range add {
		add[i] = strings.ReplaceAll(a, "app.example.org", site.host())
	}
	out, err := exec.Command(g.bin, append(add, g.args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("otpgate %s: %v\n%s", strings.Join(add, " "), err, out)
	}
	m := regexp.MustCompile(`(?m)^client_secret:\s+(\S+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("otpgate client add printed no secret:\n%s", out)
	}
	g.start(t, filepath.Join(dir, "otpgate.log"))
	site.configure(t, apacheSettings{issuer: issuer, secret: string(m[1]), cert: cert, key: key})
	startApache(t, apache, site)
	begin := time.Now()

	// alice: the protected page leads to otpgate's sign-in; password, then
	// the code.
	alice := appTab(t, chromium, shots, "alice", cert)
	alice.do("protected page", chromedp.Navigate(site.url+"/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if u := alice.eval("location.origin"); u != issuer {
		t.Fatalf("the protected page led to %s, want otpgate's sign-in at %s", u, issuer)
	}
	alice.shot("otpgate-sign-in")
	alice.do("password", chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		alice.click("Sign in"), visible("Verification code"))
	alice.shot("code-prompt")
	alice.do("code", chromedp.SendKeys(chromedp.CSS("#code"), aliceKey.TOTP(time.Now())), alice.click("Verify"),
		chromedp.WaitVisible(chromedp.CSS("#user")))
	alice.shot("signed-in-page")
	if u := alice.eval("location.href"); u != site.url+"/" {
		t.Errorf("after the sign-in the browser is at %s, want the protected page %s/", u, site.url)
	}
	for _, c := range []struct{ sel, want string }{
		{"#user", "alice"},
		{"#name", "Alice Example"},
		{"#email", "alice@example.org"},
		{"#groups", "jupyter,staff"},
		{"#amr", "pwd,otp"},
		{"#acr", "https://refeds.org/profile/mfa"},
	} {
		if got := alice.text(c.sel); got != c.want && !(c.sel == "#groups" && got == "staff,jupyter") {
			t.Errorf("the page's %s = %q, want %q", c.sel, got, c.want)
		}
	}
	// The same claims in the response headers (mod_headers).
	h := alice.evalAsync(`fetch("/").then(r => r.headers.get("X-Otpgate-User") + "|" + r.headers.get("X-Otpgate-Groups"))`)
	if h != "alice|jupyter,staff" && h != "alice|staff,jupyter" {
		t.Errorf("X-Otpgate-User|X-Otpgate-Groups = %q, want alice and her groups", h)
	}
	alice.do("staff pages", alice.click("Staff pages"), chromedp.WaitVisible(`//h1[text()="Staff pages"]`))
	alice.do("back", alice.click("Back"), chromedp.WaitVisible(chromedp.CSS("#user")))

	// carol has no second factor and the site requires one: she sets up
	// TOTP at sign-in, then lands on the page.
	carol := appTab(t, chromium, shots, "carol", cert)
	carol.do("protected page", chromedp.Navigate(site.url+"/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	carol.do("password", chromedp.SendKeys(chromedp.CSS("#username"), "carol"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		carol.click("Sign in"), visible("Set up TOTP"))
	carol.shot("must-set-up")
	carol.do("set up", carol.click("Set up TOTP"), chromedp.WaitVisible(chromedp.CSS("#qr svg")))
	qr := carol.shot("set-up-at-sign-in")
	raw, err := exec.Command(zbarimg, "--raw", "-q", qr).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", qr, err)
	}
	uri, err := otp.ParseURI(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("the QR code does not hold a key URI: %v", err)
	}
	if uri.Account != "carol" {
		t.Errorf("QR code account %q, want carol", uri.Account)
	}
	carol.do("confirm", chromedp.SendKeys(chromedp.CSS("#code"), uri.Key.TOTP(time.Now())), carol.click("Confirm"),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	carol.shot("recovery-codes")
	carol.do("continue", carol.click("Continue"), chromedp.WaitVisible(chromedp.CSS("#user")))
	carol.shot("signed-in-page")
	if got := carol.text("#user") + " " + carol.text("#groups") + " " + carol.text("#amr"); got != "carol jupyter pwd,otp" {
		t.Errorf("carol's page shows %q, want carol jupyter pwd,otp", got)
	}
	carol.do("staff pages", chromedp.Navigate(site.url+"/staff/"), chromedp.WaitVisible(`//h1[text()="Forbidden"]`))
	carol.shot("staff-forbidden")

	// alice signs out: the module's logout URL, otpgate's end-session
	// endpoint, then the page registered for after sign-out.
	gateCookies, siteCookies := alice.cookies(issuer), alice.cookies(site.url)
	alice.do("sign out", alice.click("Sign out"), chromedp.WaitVisible(`//h1[text()="Signed out"]`))
	alice.shot("signed-out")
	if u := alice.eval("location.href"); u != site.url+"/signed-out.html" {
		t.Errorf("after the sign-out the browser is at %s, want %s/signed-out.html", u, site.url)
	}
	// Neither session is left: the protected page asks for otpgate's
	// sign-in again, and so do otpgate's own pages.
	alice.do("protected page again", chromedp.Navigate(site.url+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if u, h := alice.eval("location.origin"), alice.text("h1"); u != issuer || h != "Sign in" {
		t.Errorf("after the sign-out the protected page led to %s %q, want otpgate's sign-in", u, h)
	}
	alice.shot("sign-in-again")
	alice.do("otpgate settings", chromedp.Navigate(issuer+"/settings"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := alice.text("h1"); h != "Sign in" {
		alice.shot("otpgate-session-left")
		t.Errorf("otpgate's own pages after the sign-out: %q, want the sign-in", h)
	}
	// Nor do the cookies of before work, had someone copied them: the
	// sessions ended on the servers, not only in the browser.
	if len(gateCookies) == 0 || len(siteCookies) == 0 {
		t.Fatalf("cookies before the sign-out: %d of otpgate, %d of the site", len(gateCookies), len(siteCookies))
	}
	for _, c := range []struct {
		what, url string
		cookies   string
		client    *http.Client
	}{
		{"otpgate", issuer + "/settings", gateCookies, &http.Client{Timeout: 10 * time.Second}},
		{"the site", site.url + "/", siteCookies, gateClient(site.addr, roots)},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		req.Header.Set("Cookie", c.cookies)
		req.Header.Set("Accept", "text/html")
		resp, err := noFollow(c.client).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s takes the session cookie of before the sign-out: %s", c.what, resp.Status)
		}
	}
	t.Logf("browser scenario: %v", time.Since(begin).Round(time.Millisecond))

	// The access log names each user (OIDCRemoteUserClaim).
	log, err := os.ReadFile(site.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "carol"} {
		if !regexp.MustCompile(`(?m)^\S+ ` + u + ` "GET / HTTP/1\.1" 200$`).Match(log) {
			t.Errorf("Apache's access log has no request of / by %s:\n%s", u, tail(log, 3000))
		}
	}
}
