package userfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
)

// TestCheckFile looks at real files as their owner (nobody, from root):
// a valid file is usable; none, or no account, is absent; a file of
// another owner, too open a mode, a NUL byte, a file its owner cannot
// read, a directory and an unsafe name are broken; nothing is changed.
func TestCheckFile(t *testing.T) {
	ctx := context.Background()
	s, home, uid, logs := nobodyHome(t, Options{})
	path := filepath.Join(home, ".google_authenticator")
	valid := testSecret + "\n\" TOTP_AUTH\n12345678\n"
	tests := []struct {
		name  string
		setup func()
		want  mfa.FileState
	}{
		{"no file", func() {}, mfa.FileAbsent},
		{"valid", func() { writeFile(t, path, valid, uid, 0o600) }, mfa.FileUsable},
		{"read-only, as the module leaves it", func() { writeFile(t, path, valid, uid, 0o400) }, mfa.FileUsable},
		{"another owner", func() { writeFile(t, path, valid, 0, 0o600) }, mfa.FileBroken},
		{"mode too open", func() { writeFile(t, path, valid, uid, 0o644) }, mfa.FileBroken},
		{"NUL byte", func() { writeFile(t, path, "JBSW\x00Y3DP\n", uid, 0o600) }, mfa.FileBroken},
		{"empty", func() { writeFile(t, path, "", uid, 0o600) }, mfa.FileBroken},
		{"unreadable by its owner", func() { writeFile(t, path, valid, uid, 0o000) }, mfa.FileBroken},
		{"a directory", func() {
			os.Remove(path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			os.Chown(path, uid, -1)
		}, mfa.FileBroken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(path)
			tc.setup()
			before, _ := os.Stat(path)
			data, _ := os.ReadFile(path)
			if got := s.CheckFile(ctx, "alice"); got != tc.want {
				t.Errorf("CheckFile = %v, want %v", got, tc.want)
			}
			after, _ := os.Stat(path)
			if now, _ := os.ReadFile(path); !bytes.Equal(now, data) || (before != nil && (after == nil || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode())) {
				t.Errorf("CheckFile changed the file")
			}
		})
	}
	if got := s.CheckFile(ctx, "bob"); got != mfa.FileAbsent {
		t.Errorf("CheckFile of a user without a system account = %v, want absent", got)
	}
	if got := s.CheckFile(ctx, "../alice"); got != mfa.FileBroken {
		t.Errorf("CheckFile of an unsafe name = %v, want broken", got)
	}
	if logs.Len() != 0 {
		t.Errorf("CheckFile logged:\n%s", logs)
	}
}

// TestCheckFileNoLookup: with a template that needs no home directory, a
// user without a file costs no account look-up (getent(1) for a
// directory's accounts); one with a file is looked up and read.
func TestCheckFileNoLookup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _, _ := nobodyHome(t, Options{Template: dir + "/${USER}", NoStrictOwner: true})
	looked := map[string]bool{}
	s.lookup = func(name string) (Account, error) {
		looked[name] = true
		return Account{}, ErrNoAccount
	}
	writeFile(t, filepath.Join(dir, "filer"), testSecret+"\n", os.Geteuid(), 0o600)
	if got := s.CheckFile(ctx, "carol"); got != mfa.FileAbsent || looked["carol"] {
		t.Errorf("CheckFile(carol) = %v, looked up: %v; want absent without a look-up", got, looked["carol"])
	}
	if got := s.CheckFile(ctx, "filer"); got != mfa.FileUsable || !looked["filer"] {
		t.Errorf("CheckFile(filer) = %v, looked up: %v; want usable, looked up", got, looked["filer"])
	}
}
