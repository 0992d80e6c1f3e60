package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// The test's domain: every host name below resolves, in the test's own
// dialer only, to the proxy under test.
const (
	gateDomain   = "example.test"
	authHost     = "auth." + gateDomain
	notebookHost = "notebook." + gateDomain
	echoHost     = "echo." + gateDomain
)

// freeAddr returns a loopback address with a port that was free a moment
// ago, for programs that take a port number rather than port 0.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess starts cmd in a process group of its own with its output in
// logPath, and stops the whole group (jupyter's kernels too) when the test
// ends, however it ends: SIGTERM, then SIGKILL after 5 seconds. The
// returned channel is closed when the process exits.
func startProcess(t testing.TB, cmd *exec.Cmd, logPath string) <-chan struct{} {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Stragglers of the group (a kernel that outlived its server).
		syscall.Kill(-pgid, syscall.SIGKILL)
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", filepath.Base(logPath), tail(out, 4000))
		}
	})
	return done
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitListening waits until addr accepts TCP connections, and fails when
// the program ends first.
func waitListening(t testing.TB, addr, what string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s ended before it listened on %s", what, addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %v", what, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gateCert writes a self-signed certificate for the test's domain into dir
// and returns the certificate and key paths and a pool that trusts it.
func gateCert(t testing.TB, dir string) (certPath, keyPath string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "*." + gateDomain},
		DNSNames:              []string{"*." + gateDomain, authHost, notebookHost, echoHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certPath, keyPath, roots
}

// gateClient is a browser stand-in: a cookie jar, the test's certificate,
// and a dialer that sends every *.example.test:443 to the proxy's port,
// from clientIP.
func gateClient(proxyAddr string, roots *x509.CertPool) *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host != gateDomain && !strings.HasSuffix(host, "."+gateDomain) {
				return nil, fmt.Errorf("test client: no route to %s", addr)
			}
			return dialer.DialContext(ctx, network, proxyAddr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		DisableKeepAlives: true,
	}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second}
}

// noFollow returns a client sharing c's cookies and transport that returns
// redirects instead of following them.
func noFollow(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

// gateServer is the real otpgate binary behind a proxy.
type gateServer struct {
	bin     string
	addr    string // 127.0.0.1:port
	dataDir string
	args    []string // serve settings besides -addr
}

// prepareGate builds otpgate and returns its settings for a server behind a
// proxy on the test's domain; start it with start once the users exist.
func prepareGate(t testing.TB, dir string, extra ...string) *gateServer {
	t.Helper()
	g := &gateServer{bin: buildOtpgate(t), addr: freeAddr(t), dataDir: filepath.Join(dir, "otpgate-data")}
	g.args = append([]string{"-data-dir", g.dataDir, "-base-url", "https://" + authHost,
		"-cookie-domain", gateDomain, "-trusted-proxies", "127.0.0.1/32", "-log-format", "json"}, fastFlags...)
	g.args = append(g.args, extra...)
	return g
}

// start runs `otpgate serve` and waits for /healthz.
func (g *gateServer) start(t testing.TB, logPath string) {
	t.Helper()
	exited := startProcess(t, exec.Command(g.bin, append([]string{"serve", "-addr", g.addr}, g.args...)...), logPath)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Get("http://" + g.addr + "/healthz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		select {
		case <-exited:
			t.Fatal("otpgate ended at start")
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("otpgate did not start: %v\n%s", err, tail(out, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// service opens the server's store in-process (before the server starts),
// with the same settings.
func (g *gateServer) service(t testing.TB) (*mfa.Service, func()) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	configFlags(fs, &c)
	if _, err := loadConfig(fs, append([]string{"-addr", g.addr}, g.args...), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	svc, store, err := openService(context.Background(), &c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return svc, func() { store.Close() }
}

// storeUser creates a user with a TOTP enrolled in otpgate's own store,
// confirmed with the code of the previous time step so that the current
// one is still free for the sign-in. It returns the user's key.
func storeUser(t testing.TB, svc *mfa.Service, nu mfa.NewUser) otp.Key {
	t.Helper()
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, nu)
	if err != nil {
		t.Fatal(err)
	}
	_, enr, err := svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ConfirmEnrolment(ctx, u, enr.ID, enr.URI.Key.TOTP(time.Now().Add(-30*time.Second))); err != nil {
		t.Fatal(err)
	}
	return enr.URI.Key
}
