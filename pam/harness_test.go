package pam

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// build runs scripts/build-pam-module once for the whole test binary.
var build struct {
	once           sync.Once
	module, helper string
	err            error
	missing        string
}

// built returns the absolute paths of build/pam_otpgate.so and
// build/otpgate-pam-client, building them first.
func built(t testing.TB) (module, helper string) {
	t.Helper()
	build.once.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			build.missing = "gcc"
			return
		}
		if _, err := os.Stat("/usr/include/security/pam_modules.h"); err != nil {
			build.missing = "libpam0g-dev"
			return
		}
		out, err := exec.Command("../scripts/build-pam-module").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("scripts/build-pam-module: %v\n%s", err, out)
			return
		}
		lines := strings.Fields(string(out))
		build.module, build.helper = lines[len(lines)-2], lines[len(lines)-1]
	})
	if build.missing != "" {
		testenv.SkipOrFail(t, "%s not installed: cannot build pam_otpgate.so", build.missing)
	}
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.module, build.helper
}

// A certificate authority and a server certificate for 127.0.0.1.
type testCA struct {
	pemFile string // the CA certificate, for cafile=
	cert    tls.Certificate
}

func newCA(t testing.TB) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otpgate test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return testCA{pemFile: file, cert: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}}
}

// fakeUser is one account of fakeServer; a nil key has no second factor.
type fakeUser struct {
	key      *otp.Key
	disabled bool
	used     uint64 // the last step accepted: a code is good once
	failures int
	anyCode  bool // accepts every code, again and again: for benchmarks only
}

// fakeServer speaks the PAM endpoints of otpgate's protocol exactly, for
// the tests of the module and helper before (and besides) a real server.
type fakeServer struct {
	*httptest.Server
	ca    testCA
	token string

	mu       sync.Mutex
	users    map[string]*fakeUser
	delay    time.Duration
	requests []map[string]any
	done     chan struct{} // closed at cleanup: delayed answers stop waiting
}

// maxFailures is the fake server's throttle: after this many wrong codes
// a user gets 429 throttled.
const maxFailures = 3

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	s := &fakeServer{ca: newCA(t), token: randomHex(t, 16), users: map[string]*fakeUser{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/pam/authenticate", s.authenticate)
	mux.HandleFunc("POST /api/v1/pam/account", s.account)
	s.Server = httptest.NewUnstartedServer(mux)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{s.ca.cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate test's handshake errors
	s.StartTLS()
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.done) })
	return s
}

// addUser adds a user with a new TOTP secret (or none) and returns its key.
func (s *fakeServer) addUser(t testing.TB, name string, secondFactor bool) *otp.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &fakeUser{}
	if secondFactor {
		secret, err := otp.NewSecret(rand.Reader, 20)
		if err != nil {
			t.Fatal(err)
		}
		u.key = &otp.Key{Secret: secret}
	}
	s.users[name] = u
	return u.key
}

func (s *fakeServer) setDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *fakeServer) disable(name string) {
	s.mu.Lock()
	s.users[name].disabled = true
	s.mu.Unlock()
}

// lastAuth returns the last authenticate request body the server decoded.
func (s *fakeServer) lastAuth() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if _, ok := s.requests[i]["code"]; ok {
			return s.requests[i]
		}
	}
	return nil
}

// lastRequest returns the last request body the server decoded.
func (s *fakeServer) lastRequest() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *fakeServer) decode(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return nil, false
		case <-s.done:
			return nil, false
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeJSON(w, 401, map[string]string{"error": "unknown host token"})
		return nil, false
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return nil, false
	}
	s.mu.Lock()
	s.requests = append(s.requests, body)
	s.mu.Unlock()
	return body, true
}

func (s *fakeServer) authenticate(w http.ResponseWriter, r *http.Request) {
	body, ok := s.decode(w, r)
	if !ok {
		return
	}
	name, _ := body["user"].(string)
	code, _ := body["code"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	switch {
	case u == nil || u.disabled:
		writeJSON(w, 401, map[string]string{"result": "denied", "message": "This account may not sign in."})
	case u.key == nil:
		writeJSON(w, 200, map[string]string{"result": "no_second_factor"})
	case u.failures >= maxFailures:
		writeJSON(w, 429, map[string]any{"result": "throttled", "retry_after": 30, "message": "Too many wrong codes; try again in 30 seconds."})
	case code == "":
		writeJSON(w, 401, map[string]string{"result": "code_required", "message": "A code is required."})
	case u.anyCode:
		writeJSON(w, 200, map[string]string{"result": "ok"})
	default:
		step, err := u.key.Verify(code, time.Now(), otp.Skew(1))
		if err != nil || step <= u.used {
			u.failures++
			writeJSON(w, 401, map[string]string{"result": "code_wrong", "message": "Wrong code."})
			return
		}
		u.used, u.failures = step, 0
		writeJSON(w, 200, map[string]string{"result": "ok"})
	}
}

func (s *fakeServer) account(w http.ResponseWriter, r *http.Request) {
	body, ok := s.decode(w, r)
	if !ok {
		return
	}
	name, _ := body["user"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[name]; u == nil || u.disabled {
		writeJSON(w, 200, map[string]string{"result": "denied", "message": "This account is disabled."})
		return
	}
	writeJSON(w, 200, map[string]string{"result": "ok"})
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeToken writes a host token file (mode 0600) and returns its path.
func writeToken(t testing.TB, token string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "host-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// stack is a PAM service file /etc/pam.d/otpgate-test-RANDOM, removed at
// cleanup (pamtester reads services only from there).
type stack struct {
	name string
	file string
}

// newStack writes a service whose lines are given; "MODULE" in a line
// stands for the absolute path of build/pam_otpgate.so.
func newStack(t testing.TB, lines ...string) stack {
	t.Helper()
	testenv.Root(t)
	module, _ := built(t)
	name := "otpgate-test-" + randomHex(t, 6)
	file := filepath.Join("/etc/pam.d", name)
	text := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", "MODULE", module)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		testenv.SkipOrFail(t, "cannot write a PAM service file: %v", err)
	}
	t.Cleanup(func() { os.Remove(file) })
	return stack{name: name, file: file}
}

// otpgateArgs are the module arguments for server s, plus extra.
func otpgateArgs(t testing.TB, s *fakeServer, extra ...string) string {
	t.Helper()
	_, helper := built(t)
	args := []string{"url=" + s.URL, "cafile=" + s.ca.pemFile, "tokenfile=" + writeToken(t, s.token), "helper=" + helper}
	return strings.Join(append(args, extra...), " ")
}

// pamResult is what one pamtester run said.
type pamResult struct {
	ok      bool
	out     string
	elapsed time.Duration
}

// The texts pamtester prints for the PAM return codes the tests expect
// (pam_strerror).
const (
	authErr       = "Authentication failure"
	authInfoUnav  = "Authentication service cannot retrieve authentication info"
	permDenied    = "Permission denied"
	succeededText = "successfully"
	accountOK     = "account management done"
)

// pamtester runs pamtester -v SERVICE USER OPS... with input on stdin;
// OPS default to authenticate.
func pamtester(t testing.TB, st stack, user, input string, ops ...string) pamResult {
	t.Helper()
	return pamtesterItems(t, nil, st, user, input, ops...)
}

// pamtesterItems is pamtester with PAM items set first (-I rhost=...).
func pamtesterItems(t testing.TB, items []string, st stack, user, input string, ops ...string) pamResult {
	t.Helper()
	return pamtesterEnv(t, nil, items, st, user, input, ops...)
}

// pamtesterEnv is pamtesterItems with environment variables added (for
// pam_set_items, which sets PAM_AUTHTOK from $PAM_AUTHTOK).
func pamtesterEnv(t testing.TB, env, items []string, st stack, user, input string, ops ...string) pamResult {
	t.Helper()
	bin := testenv.LookPath(t, "pamtester")
	if len(ops) == 0 {
		ops = []string{"authenticate"}
	}
	args := []string{"-v"}
	for _, it := range items {
		args = append(args, "-I", it)
	}
	cmd := exec.Command(bin, append(append(args, st.name, user), ops...)...)
	cmd.Stdin = strings.NewReader(input)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := pamResult{ok: err == nil, out: out.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("pamtester: %v", err)
	}
	return r
}
