package pamauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/otpgate/otpgate/internal/mfa"
)

// fakeHelper writes a shell script standing in for otpgate-pam-check: it
// saves its input in dir/request, then runs body.
func fakeHelper(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "helper")
	script := "#!/bin/sh\ncat >" + filepath.Join(dir, "request") + "\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func newStack(t testing.TB, opts Options) *Stack {
	t.Helper()
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{"defaults", Options{}, ""},
		{"relative helper", Options{Helper: "build/otpgate-pam-check"}, "pamauth: Helper:"},
		{"service other", Options{Service: "other"}, "pamauth: Service:"},
		{"service path", Options{Service: "otpgate-../sshd"}, "pamauth: Service:"},
		{"negative timeout", Options{Timeout: -time.Second}, "pamauth: Timeout:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts, nil)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.helper != DefaultHelper || s.service != DefaultService || s.timeout != DefaultTimeout || s.Name() != "pam" {
					t.Errorf("New(%+v) = %+v, want the defaults", tc.opts, s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%+v) = %v, want an error with %q", tc.opts, err, tc.err)
			}
		})
	}
}

// TestAnswers runs a fake helper per answer and checks what each one
// gives: the mapping of refusals, an Identity, and every malformed or
// failed run as ErrUnavailable.
func TestAnswers(t *testing.T) {
	tests := []struct {
		name, body string
		want       mfa.Identity
		err        error
		text       string // a part of the error
	}{
		{"ok", "printf 'ok 1001 3\\n5:alice\\n11:Alice Smith\\n3:hpc\\n5:alice\\n3:hpc\\n'",
			mfa.Identity{Name: "alice", Source: "pam", ExternalID: "1001", DisplayName: "Alice Smith", Groups: []string{"alice", "hpc"}}, nil, ""},
		{"ok no groups", "printf 'ok 7 0\\n5:alice\\n0:\\n'",
			mfa.Identity{Name: "alice", Source: "pam", ExternalID: "7", Groups: []string{}}, nil, ""},
		{"gecos not a display name", "printf 'ok 7 0\\n5:alice\\n8:<script>\\n'",
			mfa.Identity{Name: "alice", Source: "pam", ExternalID: "7", Groups: []string{}}, nil, ""},
		{"other account", "printf 'ok 7 0\\n3:bob\\n0:\\n'", mfa.Identity{}, mfa.ErrBadCredentials, `answered for account "bob"`},
		{"wrong password", "echo refused PAM_AUTH_ERR", mfa.Identity{}, mfa.ErrBadCredentials, "PAM_AUTH_ERR"},
		{"expired", "echo refused PAM_ACCT_EXPIRED", mfa.Identity{}, mfa.ErrBadCredentials, "PAM_ACCT_EXPIRED"},
		{"locked", "echo refused LOCKED", mfa.Identity{}, mfa.ErrBadCredentials, "LOCKED"},
		{"unknown user", "echo refused PAM_USER_UNKNOWN", mfa.Identity{}, mfa.ErrNotFound, "unknown user"},
		{"directory down", "echo unavailable PAM_AUTHINFO_UNAVAIL", mfa.Identity{}, mfa.ErrUnavailable, "PAM_AUTHINFO_UNAVAIL"},

		{"no answer", "exit 0", mfa.Identity{}, mfa.ErrUnavailable, "no newline"},
		{"garbage", "echo yes", mfa.Identity{}, mfa.ErrUnavailable, "want ok, refused or unavailable"},
		{"two answers", "echo refused PAM_AUTH_ERR; echo refused PAM_AUTH_ERR", mfa.Identity{}, mfa.ErrUnavailable, "more after the answer"},
		{"cut answer", "printf 'ok 7 1\\n5:alice\\n0:\\n'", mfa.Identity{}, mfa.ErrUnavailable, "group: want"},
		{"answer and exit 1", "echo refused PAM_AUTH_ERR; exit 1", mfa.Identity{}, mfa.ErrUnavailable, "exit status 1"},
		{"malformed request status", "echo 'malformed' >&2; exit 2", mfa.Identity{}, mfa.ErrUnavailable, "exit status 2"},
		{"crash", "echo ok; kill -SEGV $$", mfa.Identity{}, mfa.ErrUnavailable, "segmentation fault"},
		{"too long", "head -c 400000 /dev/zero", mfa.Identity{}, mfa.ErrUnavailable, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			helper, _ := fakeHelper(t, tc.body)
			s := newStack(t, Options{Helper: helper})
			got, err := s.Authenticate(t.Context(), "alice", "pw")
			if tc.err == nil {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Authenticate (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Authenticate = %+v, %v; want %v with %q", got, err, tc.err, tc.text)
			}
			if tc.err != mfa.ErrUnavailable && errors.Is(err, mfa.ErrUnavailable) {
				t.Errorf("Authenticate = %v, which is also ErrUnavailable", err)
			}
		})
	}
}

// TestRequestSent checks what the helper reads, and that a name or
// password the helper would refuse is not sent at all.
func TestRequestSent(t *testing.T) {
	helper, dir := fakeHelper(t, "echo refused PAM_AUTH_ERR")
	s := newStack(t, Options{Helper: helper, Service: "otpgate-x"})
	if _, err := s.Authenticate(t.Context(), "alice", "p w:\n"); !errors.Is(err, mfa.ErrBadCredentials) {
		t.Fatalf("Authenticate = %v, want ErrBadCredentials", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "request"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "otpgate-pam-check/1 auth\n9:otpgate-x\n5:alice\n5:p w:\n\n"; string(got) != want {
		t.Errorf("request = %q, want %q", got, want)
	}
	if _, err := s.Lookup(t.Context(), "alice"); !errors.Is(err, mfa.ErrBadCredentials) {
		t.Fatalf("Lookup = %v, want ErrBadCredentials", err)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "request"))
	if want := "otpgate-pam-check/1 lookup\n9:otpgate-x\n5:alice\n"; string(got) != want {
		t.Errorf("lookup request = %q, want %q", got, want)
	}

	refused := []struct {
		name, user, password string
		err                  error
	}{
		{"upper case", "Alice", "pw", mfa.ErrNotFound},
		{"space", "al ice", "pw", mfa.ErrNotFound},
		{"empty name", "", "pw", mfa.ErrNotFound},
		{"long name", strings.Repeat("a", 65), "pw", mfa.ErrNotFound},
		{"empty password", "alice", "", mfa.ErrBadCredentials},
		{"long password", "alice", strings.Repeat("p", 513), mfa.ErrBadCredentials},
		{"NUL in password", "alice", "p\x00w", mfa.ErrBadCredentials},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, "request"))
			if _, err := s.Authenticate(t.Context(), tc.user, tc.password); !errors.Is(err, tc.err) {
				t.Errorf("Authenticate(%q, %q) = %v, want %v", tc.user, tc.password, err, tc.err)
			}
			if _, err := os.Stat(filepath.Join(dir, "request")); err == nil {
				t.Errorf("Authenticate(%q, %q) ran the helper", tc.user, tc.password)
			}
		})
	}
}

func TestHelperMissing(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "helper")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho refused PAM_AUTH_ERR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, helper := range []string{filepath.Join(t.TempDir(), "missing"), notExec} {
		s := newStack(t, Options{Helper: helper})
		if _, err := s.Authenticate(t.Context(), "alice", "pw"); !errors.Is(err, mfa.ErrUnavailable) {
			t.Errorf("Authenticate with helper %s = %v, want ErrUnavailable", helper, err)
		}
		if _, err := s.Lookup(t.Context(), "alice"); !errors.Is(err, mfa.ErrUnavailable) {
			t.Errorf("Lookup with helper %s = %v, want ErrUnavailable", helper, err)
		}
	}
}

// TestTimeout: a helper that hangs (with a child holding its output open,
// as unix_chkpwd would) is killed with its child at the timeout, and the
// check gives ErrUnavailable then, not when the child would end.
func TestTimeout(t *testing.T) {
	helper, dir := fakeHelper(t, "sleep 30 & echo $! >"+"\"$(dirname \"$0\")/child\"\nwait")
	const timeout = 300 * time.Millisecond
	s := newStack(t, Options{Helper: helper, Timeout: timeout})
	start := time.Now()
	_, err := s.Authenticate(t.Context(), "alice", "pw")
	took := time.Since(start)
	if !errors.Is(err, mfa.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("Authenticate = %v, want ErrUnavailable after the timeout", err)
	}
	if took < timeout || took > timeout+waitDelay {
		t.Errorf("Authenticate took %v, want %v to %v", took, timeout, timeout+waitDelay)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	for deadline := time.Now().Add(5 * time.Second); ; {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or dead and not yet reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper's child %s still runs: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestContext: a cancelled context stops the helper at once and the error
// says so.
func TestContext(t *testing.T) {
	helper, _ := fakeHelper(t, "exec sleep 30")
	s := newStack(t, Options{Helper: helper})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Lookup(ctx, "alice")
	if !errors.Is(err, mfa.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Lookup took %v after a context of 200ms", took)
	}
}

// TestHelperStderr: what a failing helper says reaches the error, for the
// log.
func TestHelperStderr(t *testing.T) {
	helper, _ := fakeHelper(t, "echo 'pam_sss: cannot reach sssd' >&2; exit 1")
	s := newStack(t, Options{Helper: helper})
	_, err := s.Authenticate(t.Context(), "alice", "pw")
	if !errors.Is(err, mfa.ErrUnavailable) || !strings.Contains(err.Error(), `helper said "pam_sss: cannot reach sssd"`) {
		t.Errorf("Authenticate = %v, want ErrUnavailable with the helper's message", err)
	}
}
