// Package smtptest runs a real SMTP server for tests: Debian's
// python3-aiosmtpd on 127.0.0.1, with STARTTLS required (a self-signed
// certificate made for each server) and AUTH.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

//go:embed smtpd.py
var script []byte

// Mail is one message the test server received.
type Mail struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	Data string   `json:"data"`
}

// Server is Debian's aiosmtpd (testdata/smtpd.py) on 127.0.0.1, with
// STARTTLS required and AUTH.
type Server struct {
	Addr  string
	Roots *x509.CertPool
	// CertFile is the server's certificate, PEM.
	CertFile string
	mu       sync.Mutex
	mails    []Mail
	got      chan struct{}
	stop     func()
}

// Start starts a server that takes user and password, with a new
// self-signed certificate for 127.0.0.1 (Roots verifies it); the test's
// end stops it. Without python3-aiosmtpd the test skips (or fails, see
// testenv).
func Start(t testing.TB, user, password string) *Server {
	t.Helper()
	py := testenv.Python(t, "aiosmtpd")
	dir := t.TempDir()
	certFile, keyFile, roots := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	scriptFile := filepath.Join(dir, "smtpd.py")
	if err := os.WriteFile(scriptFile, script, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, scriptFile, strconv.Itoa(port), certFile, keyFile, user, password)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Roots: roots, CertFile: certFile, got: make(chan struct{}, 100)}
	var once sync.Once
	s.stop = func() { once.Do(func() { stdin.Close(); cmd.Wait() }) }
	t.Cleanup(s.stop)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "READY") {
		t.Fatalf("smtpd.py did not start: %q", sc.Text())
	}
	go func() {
		for sc.Scan() {
			var m Mail
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				s.mu.Lock()
				s.mails = append(s.mails, m)
				s.mu.Unlock()
				s.got <- struct{}{}
			}
		}
	}()
	return s
}

// Wait returns the first n mails, or fails after 20 seconds.
func (s *Server) Wait(t testing.TB, n int) []Mail {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		if len(s.mails) >= n {
			m := append([]Mail(nil), s.mails...)
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("%d mails received, want %d", len(s.mails), n)
		}
	}
}

func selfSigned(t testing.TB, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// Stop stops the server (an SMTP server that is down).
func (s *Server) Stop() { s.stop() }

// Mails returns the mails received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}
