// Package ldaptest gives tests a real OpenLDAP server of their own:
// Debian's slapd, configured by a cn=config LDIF that it generates
// (slapadd -n0: the core, cosine, nis and inetorgperson schemas, an mdb
// database, the memberof and ppolicy overlays), loaded with the test's
// LDIF (slapadd -n1), and listening on loopback ports it picks for
// ldap:// (StartTLS offered) and ldaps://, with a CA and a server
// certificate it makes. Without slapd the test skips, or fails under
// OTPGATE_REQUIRE_INTEGRATION=1.
package ldaptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/otpgate/otpgate/internal/testenv"
)

// The directory every Server holds.
const (
	BaseDN       = "dc=example,dc=org"
	RootDN       = "cn=admin,dc=example,dc=org"
	RootPassword = "admin-secret"
	// ServiceDN is a service account with read access to everything but
	// passwords; its password is ServicePassword.
	ServiceDN       = "cn=otpgate,ou=services,dc=example,dc=org"
	ServicePassword = "service-secret"
)

// Server is one running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT (StartTLS offered), LDAPSURL the
	// ldaps:// one; CAFile the PEM of the CA that signed the server's
	// certificate (for 127.0.0.1 and localhost).
	URL      string
	LDAPSURL string
	CAFile   string
	// Dir holds the configuration, the database and slapd.log.
	Dir string

	t      testing.TB
	slapd  string
	cmd    *exec.Cmd
	exited chan struct{}
}

// program finds a slapd tool: Debian puts them in /usr/sbin, which a
// non-root PATH lacks.
func program(t testing.TB, name string) string {
	t.Helper()
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	return testenv.LookPath(t, name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Start configures and starts a slapd holding the base entries (the
// suffix, ou=people, ou=groups, ou=services with ServiceDN, ou=policies
// with a default password policy) and then data, an LDIF of more entries
// loaded offline with slapadd (fast, but overlays do not run: add
// groupOfNames groups with Admin so that memberof fills memberOf). The
// server stops when the test ends.
func Start(t testing.TB, data string) *Server {
	t.Helper()
	slapd := program(t, "slapd")
	slapadd := program(t, "slapadd")
	for _, f := range []string{"/usr/lib/ldap/back_mdb.so", "/usr/lib/ldap/memberof.so", "/etc/ldap/schema/nis.ldif"} {
		if !fileExists(f) {
			testenv.SkipOrFail(t, "%s missing (Debian package slapd)", f)
		}
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, t: t, slapd: slapd, CAFile: filepath.Join(dir, "ca.pem")}
	if err := writeCerts(dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"slapd.d", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "config.ldif"), configLDIF(dir))
	write(t, filepath.Join(dir, "data.ldif"), baseLDIF()+data)
	run(t, slapadd, "-n0", "-F", filepath.Join(dir, "slapd.d"), "-l", filepath.Join(dir, "config.ldif"))
	run(t, slapadd, "-q", "-n1", "-F", filepath.Join(dir, "slapd.d"), "-l", filepath.Join(dir, "data.ldif"))

	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(freePort(t))
	s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(freePort(t))
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again after Stop, on the same ports with the
// same data.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("ldaptest: slapd already running")
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "slapd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	// -d keeps slapd in the foreground; "stats" logs each operation.
	cmd := exec.Command(s.slapd, "-d", "stats", "-F", filepath.Join(s.Dir, "slapd.d"),
		"-h", s.URL+"/ "+s.LDAPSURL+"/")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "ldap://"), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.exited:
			s.cmd = nil
			s.t.Fatalf("ldaptest: slapd exited at start; log:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("ldaptest: slapd does not answer on %s; log:\n%s", s.URL, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Pause stops the server process (SIGSTOP): connections stay open and
// nothing answers, as with a hung server or a cut network. Resume
// continues it.
func (s *Server) Pause() {
	s.cmd.Process.Signal(syscall.SIGSTOP)
	// The signal is delivered later: wait until the process is stopped.
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return
		}
		// pid (comm) STATE ...: comm may hold spaces, so look after ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
	}
	s.t.Fatal("ldaptest: slapd does not stop on SIGSTOP")
}

// Resume continues a paused server.
func (s *Server) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Log returns what slapd has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "slapd.log"))
	return string(b)
}

// Admin returns a connection bound as RootDN, closed when the test ends.
func (s *Server) Admin() *goldap.Conn {
	s.t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	if err := c.Bind(RootDN, RootPassword); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// SSHA returns an OpenLDAP {SSHA} userPassword value for password.
func SSHA(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

func configLDIF(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcTLSCACertificateFile: %[1]s/ca.pem
olcTLSCertificateFile: %[1]s/server.pem
olcTLSCertificateKeyFile: %[1]s/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

`, dir)
	for _, schema := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include: file:///etc/ldap/schema/%s.ldif\n\n", schema)
	}
	fmt.Fprintf(&b, `dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[2]s
olcRootDN: %[3]s
olcRootPW: %[4]s
olcDbDirectory: %[1]s/data
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: cn eq
olcDbIndex: memberUid eq
olcDbIndex: member eq
olcDbIndex: entryUUID eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by dn.exact="%[5]s" read by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {1}ppolicy
olcPPolicyDefault: cn=default,ou=policies,%[2]s

`, dir, BaseDN, RootDN, RootPassword, ServiceDN)
	return b.String()
}

func baseLDIF() string {
	return fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: ou=services,%[1]s
objectClass: organizationalUnit
ou: services

dn: %[2]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: otpgate
userPassword: %[3]s

dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,%[1]s
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0

`, BaseDN, ServiceDN, SSHA(ServicePassword))
}

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func run(t testing.TB, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCerts makes a CA (ca.pem) and a server certificate for 127.0.0.1
// and localhost signed by it (server.pem, server.key).
func writeCerts(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otpgate test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.pem":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
