package userfile

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

const testSecret = "2SH3V3GDW7ZNMGYE"

var testNow = time.Unix(1_800_000_000, 0)

// code is the TOTP code of testSecret at step offset from testNow.
func code(offset int) string {
	s, _ := otp.DecodeSecret(testSecret)
	return otp.Key{Secret: s}.TOTP(testNow.Add(time.Duration(offset) * 30 * time.Second))
}

// nobodyHome makes a home directory for the account nobody in a temporary
// directory that nobody can reach, and a Source whose look-up gives that
// home to the user name "alice".
func nobodyHome(t testing.TB, opts Options) (*Source, string, int, *bytes.Buffer) {
	t.Helper()
	home, _, uid, gid := testenv.NobodyDir(t, "alice")
	var logs bytes.Buffer
	if opts.Template == "" {
		opts.Template = "${HOME}/.google_authenticator"
	}
	s, err := New(slog.New(slog.NewTextHandler(&logs, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	s.lookup = func(name string) (Account, error) {
		if name != "alice" {
			return Account{}, ErrNoAccount
		}
		return Account{Name: name, Home: home, UID: uid, GID: gid}, nil
	}
	return s, home, uid, &logs
}

// writeFile writes a state file owned by uid with mode perm.
func writeFile(t testing.TB, path, content string, uid int, perm os.FileMode) {
	t.Helper()
	os.Remove(path)
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

// TestSourceAsOwner: running as root, the file of a user is checked as the
// stock module checks it, and written back by that user.
func TestSourceAsOwner(t *testing.T) {
	ctx := context.Background()
	s, home, uid, logs := nobodyHome(t, Options{})
	path := filepath.Join(home, ".google_authenticator")
	if s.HasFile(ctx, "alice") {
		t.Errorf("HasFile with no file = true")
	}
	if v := s.VerifyCode(ctx, "alice", code(0), testNow); v != mfa.FileMissing {
		t.Errorf("VerifyCode with no file = %v, want missing", v)
	}
	if s.HasFile(ctx, "bob") || s.VerifyCode(ctx, "bob", code(0), testNow) != mfa.FileMissing {
		t.Errorf("a user without a system account has a file")
	}
	if !s.HasFile(ctx, "../alice") || s.VerifyCode(ctx, "../alice", code(0), testNow) != mfa.FileUnusable {
		t.Errorf("an unsafe name does not fail closed")
	}
	content := testSecret + "\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n"
	writeFile(t, path, content, uid, 0o600)
	if !s.HasFile(ctx, "alice") {
		t.Errorf("HasFile = false, want true")
	}
	tests := []struct {
		name string
		code string
		want mfa.FileVerdict
	}{
		{"current code", code(0), mfa.FileAccepted},
		{"same code again", code(0), mfa.FileReused},
		{"wrong", "000000", mfa.FileWrongCode},
		{"malformed", "12ab", mfa.FileMalformed},
		{"scratch code", "12345678", mfa.FileAccepted},
		{"scratch code again", "12345678", mfa.FileWrongCode},
		{"next step", code(1), mfa.FileAccepted},
	}
	for _, tc := range tests {
		if v := s.VerifyCode(ctx, "alice", tc.code, testNow); v != tc.want {
			t.Errorf("%s: VerifyCode = %v, want %v", tc.name, v, tc.want)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != uid || st.Mode&0o7777 != 0o400 {
		t.Errorf("rewritten file: owner %d mode %04o, want %d 0400", st.Uid, st.Mode&0o7777, uid)
	}
	want := map[string]uint64{"accepted": 3, "missing": 2, "code already used": 1, "wrong code": 2, "malformed code": 1, "file unusable": 1}
	got := s.Counts()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Counts()[%q] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	for _, secret := range []string{testSecret, code(0), code(1), "12345678"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a code or the secret %q:\n%s", secret, logs.String())
		}
	}
	if f, p, err := s.Read(ctx, "alice"); err != nil || p != path || f.Secret().Base32() != testSecret {
		t.Errorf("Read = %v, %q, %v", f, p, err)
	}
}

// TestSourceRefusals: a file the stock module would refuse fails closed,
// with a log line that says why.
func TestSourceRefusals(t *testing.T) {
	ctx := context.Background()
	content := testSecret + "\n\" TOTP_AUTH\n"
	tests := []struct {
		name    string
		opts    Options
		content string
		owner   int // -1: the user
		perm    os.FileMode
		want    mfa.FileVerdict
		log     string
	}{
		{"group readable", Options{}, content, -1, 0o640, mfa.FileUnusable, "permissions 0640 are more permissive than 0600"},
		{"group readable allowed", Options{AllowedPerm: 0o640}, content, -1, 0o640, mfa.FileAccepted, ""},
		{"owned by root, unreadable", Options{}, content, 0, 0o600, mfa.FileUnusable, "permission denied"},
		{"owned by root", Options{AllowedPerm: 0o644}, content, 0, 0o644, mfa.FileUnusable, "owned by user id 0"},
		{"owned by root, no strict owner", Options{AllowedPerm: 0o644, NoStrictOwner: true}, content, 0, 0o644, mfa.FileAccepted, ""},
		{"parse error", Options{}, "not a secret!\n", -1, 0o600, mfa.FileUnusable, "unusable"},
		{"rate limit option bad", Options{}, testSecret + "\n\" RATE_LIMIT 0 30\n\" TOTP_AUTH\n", -1, 0o600, mfa.FileUnusable, "RATE_LIMIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, home, uid, logs := nobodyHome(t, tc.opts)
			owner := tc.owner
			if owner < 0 {
				owner = uid
			}
			writeFile(t, filepath.Join(home, ".google_authenticator"), tc.content, owner, tc.perm)
			if v := s.VerifyCode(ctx, "alice", code(0), testNow); v != tc.want {
				t.Errorf("VerifyCode = %v, want %v; log:\n%s", v, tc.want, logs)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q does not say %q", logs, tc.log)
			}
		})
	}
}
