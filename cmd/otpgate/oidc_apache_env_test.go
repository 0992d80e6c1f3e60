package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/otpgate/otpgate/internal/testenv"
)

// apacheModules is where Debian's apache2 keeps its modules.
const apacheModules = "/usr/lib/apache2/modules"

// apacheExample is the shipped mod_auth_openidc site and its pages.
const apacheExample = "../../examples/oidc/apache"

// appHost is the example's site (app.example.org) on the test's domain.
const appHost = "app." + gateDomain

// apacheSettings are the values the test puts in place of the example's
// placeholders.
type apacheSettings struct {
	issuer    string // otpgate's -base-url, in place of https://auth.example.org
	secret    string // the client secret otpgate printed
	cert, key string // the site's certificate and key
}

// apacheSite is the example site as the test runs it, on a loopback port
// of its own, reached as https://app.example.test:port.
type apacheSite struct {
	dir       string // ServerRoot: configuration, logs, pid, mutexes
	conf      string // the main configuration file
	addr      string // 127.0.0.1:port
	url       string // https://app.example.test:port
	errorLog  string
	accessLog string
}

// lookApache returns the apache2 binary, and skips (or fails) the test
// when it or mod_auth_openidc is missing.
func lookApache(t testing.TB) string {
	t.Helper()
	apache := testenv.LookPath(t, "apache2")
	if _, err := os.Stat(filepath.Join(apacheModules, "mod_auth_openidc.so")); err != nil {
		testenv.SkipOrFail(t, "mod_auth_openidc not installed (Debian package libapache2-mod-auth-openidc; scripts/test installs it as root)")
	}
	return apache
}

// newApacheSite picks the site's port and folders under dir.
func newApacheSite(t testing.TB, dir string) *apacheSite {
	t.Helper()
	site := &apacheSite{dir: filepath.Join(dir, "apache"), addr: freeAddr(t)}
	site.url = "https://" + site.host()
	site.conf = filepath.Join(site.dir, "apache2.conf")
	site.errorLog = filepath.Join(site.dir, "error.log")
	site.accessLog = filepath.Join(site.dir, "access.log")
	return site
}

// host is the site's host and port, in place of the example's
// app.example.org.
func (site *apacheSite) host() string {
	_, port, _ := strings.Cut(site.addr, ":")
	return appHost + ":" + port
}

// configure writes a configuration of Apache's own (ServerRoot, PidFile,
// ErrorLog, Mutex directory, the few modules the example needs) that
// includes the shipped site with its placeholders replaced, and the site's
// pages likewise.
func (site *apacheSite) configure(t testing.TB, s apacheSettings) {
	t.Helper()
	_, port, _ := strings.Cut(site.addr, ":")
	www := filepath.Join(site.dir, "www")
	for _, d := range []string{site.dir, filepath.Join(site.dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	passphrase := make([]byte, 32)
	rand.Read(passphrase)
	// The host first: its name, with the port, is in the pages' links too.
	host := [2]string{"app.example.org", site.host()}
	src, err := os.ReadFile(filepath.Join(apacheExample, "otpgate-app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(src)
	for _, r := range [][2]string{
		host,
		{"<VirtualHost *:443>", "<VirtualHost *:" + port + ">"},
		{"https://auth.example.org", s.issuer},
		{"/etc/ssl/certs/example.org.pem", s.cert},
		{"/etc/ssl/private/example.org.key", s.key},
		{"/var/www/otpgate-app", www},
		{"REPLACE-WITH-THE-CLIENT-SECRET", s.secret},
		{"REPLACE-WITH-A-LONG-RANDOM-PASSPHRASE", hex.EncodeToString(passphrase)},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("examples/oidc/apache/otpgate-app.conf lacks %q", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	if err := os.WriteFile(filepath.Join(site.dir, "otpgate-app.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	copyPages(t, filepath.Join(apacheExample, "www"), www, host)

	// Apache started as root serves from children of another user, which
	// must reach the pages (the test's temporary folders are 0700).
	runAs := ""
	if os.Geteuid() == 0 {
		u, err := user.Lookup("www-data")
		if err != nil {
			testenv.SkipOrFail(t, "no user www-data for Apache's children: %v", err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		runAs = "User " + u.Username + "\nGroup " + g.Name + "\n"
		for d := site.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mods strings.Builder
	for _, m := range []string{"mpm_event", "authn_core", "authz_core", "authz_user", "auth_openidc",
		"headers", "include", "mime", "dir", "ssl"} {
		mods.WriteString("LoadModule " + m + "_module " + filepath.Join(apacheModules, "mod_"+m+".so") + "\n")
	}
	main := "ServerRoot " + site.dir + `
PidFile ` + filepath.Join(site.dir, "run", "apache2.pid") + `
DefaultRuntimeDir ` + filepath.Join(site.dir, "run") + `
Mutex file:` + filepath.Join(site.dir, "run") + ` default
ErrorLog ` + site.errorLog + `
LogLevel warn auth_openidc:info
LogFormat "%h %u \"%r\" %>s" otpgate
CustomLog ` + site.accessLog + ` otpgate
` + mods.String() + runAs + `ServerName ` + appHost + `
Listen ` + site.addr + `
TypesConfig /etc/mime.types
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 16
MaxRequestWorkers 16
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Include ` + filepath.Join(site.dir, "otpgate-app.conf") + "\n"
	if err := os.WriteFile(site.conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyPages copies the example's pages with the site's host name replaced.
func copyPages(t testing.TB, from, to string, host [2]string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(strings.ReplaceAll(string(b), host[0], host[1])), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// apacheCheck runs apache2 -t on the configuration and returns its output.
func apacheCheck(apache, conf string) ([]byte, error) {
	return exec.Command(apache, "-t", "-f", conf).CombinedOutput()
}

// startApache checks the configuration, starts Apache in the foreground
// and waits until it listens. Its error log is shown when the test fails.
func startApache(t testing.TB, apache string, site *apacheSite) {
	t.Helper()
	if out, err := apacheCheck(apache, site.conf); err != nil {
		t.Fatalf("apache2 -t: %v\n%s", err, out)
	}
	exited := startProcess(t, exec.Command(apache, "-DFOREGROUND", "-f", site.conf), filepath.Join(site.dir, "apache2.out"))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := os.ReadFile(site.errorLog)
			t.Logf("apache error.log:\n%s", tail(out, 6000))
			out, _ = os.ReadFile(site.accessLog)
			t.Logf("apache access.log:\n%s", tail(out, 3000))
		}
	})
	waitListening(t, site.addr, "apache2", exited)
}

// appTab is a browser of its own for the site: app.example.test leads to
// Apache, and the test's certificate is accepted for it (by its key, as
// Chromium's --ignore-certificate-errors-spki-list does: any other
// certificate error still stops the page).
func appTab(t *testing.T, chromium, shots, name, certPath string) *tab {
	t.Helper()
	b, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return newTab(t, chromium, shots, name, 1000, 1200,
		chromedp.Flag("host-resolver-rules", "MAP "+appHost+" 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))
}

// evalAsync evaluates js, which returns a promise of a string, on the
// tab's page.
func (b *tab) evalAsync(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return s
}

// cookies returns the browser's cookies for url as a Cookie header.
func (b *tab) cookies(url string) string {
	b.t.Helper()
	var res network.GetCookiesResult
	b.do("cookies", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		res, err = cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		return err
	}))
	var h []string
	for _, c := range res.Cookies {
		h = append(h, c.Name+"="+c.Value)
	}
	return strings.Join(h, "; ")
}
