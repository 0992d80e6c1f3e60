package pamauth

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pamauth/pamtest"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// account is a pamtest.Account and what Authenticate must say of it.
type account struct {
	*pamtest.Account
	want mfa.Identity
}

// newAccount makes a real system account (see pamtest.NewAccount).
func newAccount(t testing.TB) *account {
	t.Helper()
	a := pamtest.NewAccount(t)
	return &account{a, mfa.Identity{Name: a.Name, Source: "pam", ExternalID: a.UID, DisplayName: a.DisplayName, Groups: a.Groups}}
}

func helperPath(t testing.TB) string { return pamtest.HelperPath(t) }

func run(t testing.TB, stdin string, name string, args ...string) {
	t.Helper()
	pamtest.Run(t, stdin, name, args...)
}

func (a *account) stack(t testing.TB) *Stack {
	return newStack(t, Options{Helper: helperPath(t), Service: a.Service})
}

// TestRealPAM checks passwords and accounts through the system's PAM stack
// with pam_unix, as examples/pam/otpgate sets it up.
func TestRealPAM(t *testing.T) {
	a := newAccount(t)
	s := a.stack(t)
	ctx := t.Context()

	t.Run("right password", func(t *testing.T) {
		got, err := s.Authenticate(ctx, a.Name, a.Password)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if diff := cmp.Diff(a.want, got); diff != "" {
			t.Errorf("Authenticate (-want +got):\n%s", diff)
		}
	})
	t.Run("lookup", func(t *testing.T) {
		got, err := s.Lookup(ctx, a.Name)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if diff := cmp.Diff(a.want, got); diff != "" {
			t.Errorf("Lookup (-want +got):\n%s", diff)
		}
	})
	refusals := []struct {
		name, user, password string
		before, after        [][]string // commands changing the account, and undoing it
		lookup               bool       // Lookup is refused too
		err                  error
		text                 string
	}{
		{name: "wrong password", user: a.Name, password: a.Password + "x", err: mfa.ErrBadCredentials, text: "PAM_AUTH_ERR"},
		{name: "password prefix", user: a.Name, password: a.Password[:5], err: mfa.ErrBadCredentials, text: "PAM_AUTH_ERR"},
		// pam_unix as the only auth module tells an unknown user apart.
		{name: "unknown user", user: a.Name + "x", password: a.Password, lookup: true, err: mfa.ErrNotFound, text: "PAM_USER_UNKNOWN"},
		{name: "locked", user: a.Name, password: a.Password, lookup: true, err: mfa.ErrBadCredentials,
			before: [][]string{{"passwd", "-l", a.Name}}, after: [][]string{{"passwd", "-u", a.Name}}},
		{name: "account expired", user: a.Name, password: a.Password, lookup: true, err: mfa.ErrBadCredentials, text: "PAM_ACCT_EXPIRED",
			before: [][]string{{"chage", "-E", "0", a.Name}}, after: [][]string{{"chage", "-E", "-1", a.Name}}},
		{name: "password expired", user: a.Name, password: a.Password, lookup: true, err: mfa.ErrBadCredentials, text: "PAM_NEW_AUTHTOK_REQD",
			before: [][]string{{"chage", "-d", "0", a.Name}}, after: [][]string{{"chage", "-d", time.Now().Format("2006-01-02"), a.Name}}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range tc.before {
				run(t, "", c[0], c[1:]...)
			}
			defer func() {
				for _, c := range tc.after {
					run(t, "", c[0], c[1:]...)
				}
			}()
			_, err := s.Authenticate(ctx, tc.user, tc.password)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Authenticate = %v, want %v with %q", err, tc.err, tc.text)
			}
			_, err = s.Lookup(ctx, tc.user)
			if tc.lookup && !errors.Is(err, tc.err) {
				t.Errorf("Lookup = %v, want %v", err, tc.err)
			}
			if !tc.lookup && err != nil {
				t.Errorf("Lookup = %v, want no error", err)
			}
		})
	}
	t.Run("right password again", func(t *testing.T) {
		if _, err := s.Authenticate(ctx, a.Name, a.Password); err != nil {
			t.Fatalf("Authenticate after the refusals: %v", err)
		}
	})
	t.Run("no service file", func(t *testing.T) {
		s := newStack(t, Options{Helper: helperPath(t), Service: a.Service + "-none"})
		if _, err := s.Authenticate(ctx, a.Name, a.Password); !errors.Is(err, mfa.ErrUnavailable) || !strings.Contains(err.Error(), "NO_SERVICE_FILE") {
			t.Errorf("Authenticate = %v, want ErrUnavailable (NO_SERVICE_FILE)", err)
		}
	})
	t.Run("stack hiding unknown users", func(t *testing.T) {
		// The shape of Debian's common-auth (pam_unix, then pam_deny when
		// it failed): PAM_AUTH_ERR for an unknown user too,
		// as the package documentation says.
		svc := a.Service + "-deny"
		if err := os.WriteFile("/etc/pam.d/"+svc, []byte("auth [success=1 default=ignore] pam_unix.so nodelay\nauth requisite pam_deny.so\nauth required pam_permit.so\naccount required pam_unix.so\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove("/etc/pam.d/" + svc)
		s := newStack(t, Options{Helper: helperPath(t), Service: svc})
		if _, err := s.Authenticate(ctx, a.Name+"x", a.Password); !errors.Is(err, mfa.ErrBadCredentials) || !strings.Contains(err.Error(), "PAM_AUTH_ERR") {
			t.Errorf("Authenticate(unknown) = %v, want ErrBadCredentials (PAM_AUTH_ERR)", err)
		}
	})
}

// TestSetuidHelper installs the helper as pam/README-section.md says
// (root-owned, mode 4750, the server's group) and runs it as an
// unprivileged user: in the group it checks another account's password;
// outside the group it cannot run at all; and without setuid pam_unix
// cannot decide (unix_chkpwd checks only the caller's own password and
// answers PAM_AUTHINFO_UNAVAIL for another's), which is why the helper
// needs root.
func TestSetuidHelper(t *testing.T) {
	a := newAccount(t)
	src := helperPath(t)
	dir, _, uid, gid := testenv.NobodyDir(t, "libexec")
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(a.Group)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	serverGID := uint32(n)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	install := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 0, int(serverGID)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	setuid := install("otpgate-pam-check", 0o4750|os.ModeSetuid)
	plain := install("plain", 0o755)
	req := string(request(a.Service, a.Name, []byte(a.Password)))
	runAs := func(helper string, groups []uint32) (string, error) {
		cmd := exec.Command(helper)
		cmd.Stdin = strings.NewReader(req)
		cmd.Env = []string{}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
		out, err := cmd.Output()
		return string(out), err
	}
	if out, err := runAs(setuid, []uint32{serverGID}); err != nil || !strings.HasPrefix(out, "ok ") {
		t.Errorf("setuid helper run by the server's group = %q, %v; want ok (a file system mounted nosuid?)", out, err)
	}
	if out, err := runAs(setuid, nil); !errors.Is(err, os.ErrPermission) {
		t.Errorf("setuid helper run outside the server's group = %q, %v; want permission denied", out, err)
	}
	if out, err := runAs(plain, []uint32{serverGID}); err != nil || out != "unavailable PAM_AUTHINFO_UNAVAIL\n" {
		t.Errorf("helper without setuid = %q, %v; want unavailable PAM_AUTHINFO_UNAVAIL", out, err)
	}
}

// TestHelperInput sends the real helper malformed requests: each gives
// exit status 2, nothing on standard output and never the password on
// standard error. It needs no root: the request is refused before PAM.
func TestHelperInput(t *testing.T) {
	helper := helperPath(t)
	const pw = "s3cret-Pw"
	ok := "otpgate-pam-check/1 auth\n7:otpgate\n5:alice\n9:" + pw + "\n"
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"wrong magic", strings.Replace(ok, "/1", "/2", 1)},
		{"mode in capitals", strings.Replace(ok, "auth", "AUTH", 1)},
		{"lookup with a password", strings.Replace(ok, "auth", "lookup", 1)},
		{"auth without a password", "otpgate-pam-check/1 auth\n7:otpgate\n5:alice\n"},
		{"trailing byte", ok + "x"},
		{"trailing newline", ok + "\n"},
		{"missing last newline", strings.TrimSuffix(ok, "\n")},
		{"length leading zero", strings.Replace(ok, "5:alice", "05:alice", 1)},
		{"length too short", strings.Replace(ok, "5:alice", "4:alice", 1)},
		{"length too long", strings.Replace(ok, "5:alice", "6:alice", 1)},
		{"no colon", strings.Replace(ok, "5:alice", "5alice", 1)},
		{"service not otpgate", strings.Replace(ok, "7:otpgate", "4:sshd", 1)},
		{"service other", strings.Replace(ok, "7:otpgate", "5:other", 1)},
		{"service path", strings.Replace(ok, "7:otpgate", "15:otpgate-../su", 1)},
		{"service upper case", strings.Replace(ok, "7:otpgate", "7:OTPGATE", 1)},
		{"service too long", strings.Replace(ok, "7:otpgate", "65:otpgate-"+strings.Repeat("a", 57), 1)},
		{"empty user", strings.Replace(ok, "5:alice", "0:", 1)},
		{"user with space", strings.Replace(ok, "5:alice", "5:al ce", 1)},
		{"user with NUL", strings.Replace(ok, "5:alice", "5:al\x00ce", 1)},
		{"user with newline", strings.Replace(ok, "5:alice", "5:al\nce", 1)},
		{"user option", strings.Replace(ok, "5:alice", "5:-lice", 1)},
		{"user too long", strings.Replace(ok, "5:alice", "257:"+strings.Repeat("a", 257), 1)},
		{"empty password", strings.Replace(ok, "9:"+pw, "0:", 1)},
		{"password with NUL", strings.Replace(ok, "9:"+pw, "9:s3cret\x00P", 1)},
		{"password too long", strings.Replace(ok, "9:"+pw, "513:"+strings.Repeat(pw[:1], 513), 1)},
		{"huge length", strings.Replace(ok, "9:"+pw, "99999999999999999999999:"+pw, 1)},
		{"longer than any request", ok + strings.Repeat(pw, 200)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(helper)
			cmd.Stdin = strings.NewReader(tc.in)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("helper = %v, want exit status 2 (stderr %q)", err, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("helper wrote %q, want nothing", stdout.String())
			}
			if strings.Contains(stderr.String(), pw) || strings.Contains(stderr.String(), "s3cret") {
				t.Errorf("helper's standard error %q shows the password", stderr.String())
			}
		})
	}
	t.Run("arguments", func(t *testing.T) {
		cmd := exec.Command(helper, "x")
		cmd.Stdin = strings.NewReader(ok)
		out, err := cmd.Output()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || len(out) != 0 {
			t.Errorf("helper with an argument = %q, %v; want exit status 2 and no output", out, err)
		}
	})
}

// BenchmarkAuthenticate is one sign-in's first factor through the real
// helper and pam_unix (yescrypt, Debian's default hash): the right
// password, a wrong one and an unknown user, and the right one from
// several goroutines at once.
func BenchmarkAuthenticate(b *testing.B) {
	a := newAccount(b)
	s := a.stack(b)
	for _, bc := range []struct {
		name, user, password string
		err                  error
	}{
		{"right", a.Name, a.Password, nil},
		{"wrong", a.Name, a.Password + "x", mfa.ErrBadCredentials},
		{"unknown", a.Name + "x", a.Password, mfa.ErrNotFound},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Authenticate(b.Context(), bc.user, bc.password); !errors.Is(err, bc.err) {
					b.Fatalf("Authenticate = %v, want %v", err, bc.err)
				}
			}
		})
	}
	// Sign-ins per second with as many at once as GOMAXPROCS: one helper
	// process each.
	b.Run("right-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Authenticate(b.Context(), a.Name, a.Password); err != nil {
					b.Errorf("Authenticate: %v", err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
	})
}

// TestConversation checks the helper's conversation with a module that
// asks for a code, pam_google_authenticator, the password being the code:
// a prompt that does not echo gets the password; one that echoes
// (echo_verification_code) gets no answer, so the stack cannot succeed.
func TestConversation(t *testing.T) {
	a := newAccount(t)
	mod, _ := filepath.Glob("/usr/lib/*/security/pam_google_authenticator.so")
	if m2, _ := filepath.Glob("/lib/*/security/pam_google_authenticator.so"); len(mod) == 0 {
		mod = m2
	}
	if len(mod) == 0 {
		testenv.SkipOrFail(t, "no pam_google_authenticator.so (libpam-google-authenticator)")
	}
	secret, err := otp.DecodeSecret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ga := filepath.Join(dir, "ga")
	for _, tc := range []struct {
		name, option string
		ok           bool
	}{
		{"echo off", "", true},
		{"echo on", " echo_verification_code", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(ga, []byte(secret.Base32()+"\n\" TOTP_AUTH\n\" WINDOW_SIZE 3\n"), 0o400); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(ga)
			svc := a.Service + "-ga"
			conf := "auth required pam_google_authenticator.so secret=" + ga + " user=root" + tc.option + "\naccount required pam_unix.so\n"
			if err := os.WriteFile("/etc/pam.d/"+svc, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove("/etc/pam.d/" + svc)
			s := newStack(t, Options{Helper: helperPath(t), Service: svc})
			code := otp.Key{Secret: secret}.TOTP(time.Now())
			got, err := s.Authenticate(t.Context(), a.Name, code)
			if tc.ok && (err != nil || got.Name != a.Name) {
				t.Errorf("Authenticate with the code as password = %+v, %v; want %s", got, err, a.Name)
			}
			if !tc.ok && err == nil {
				t.Errorf("Authenticate through an echo-on prompt succeeded: %+v", got)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}
