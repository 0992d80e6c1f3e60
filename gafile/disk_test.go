package gafile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReplaceChangedFile replaces the file between the read and the write,
// as the stock module (which takes no lock) may: the write must fail, keep
// the other writer's file and leave no temporary file behind.
func TestReplaceChangedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ga")
	if err := os.WriteFile(path, []byte("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := openLocked(context.Background(), path, Options{UID: os.Getuid()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.f.Close()
	other := []byte("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" TIME_SKEW 1\n")
	tmp := filepath.Join(dir, "other")
	if err := os.WriteFile(tmp, other, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := l.replace([]byte("mine\n")); !errors.Is(err, errChanged) {
		t.Errorf("replace after another writer = %v, want %v", err, errChanged)
	}
	if got, _ := os.ReadFile(path); string(got) != string(other) {
		t.Errorf("file = %q, want the other writer's %q", got, other)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only the file", len(ents))
	}
}

// TestVerifyFileWaitsForLock holds the lock while VerifyFile runs: it must
// wait, then see the file as the holder left it.
func TestVerifyFileWaitsForLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ga")
	if err := os.WriteFile(path, []byte("2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{UID: os.Getuid()}
	l, err := openLocked(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := VerifyFile(context.Background(), path, "050548", time.Unix(300000, 0), opts)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("VerifyFile returned %v while the lock was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The holder uses the code and replaces the file.
	if err := l.replace([]byte("2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSE 10000\n\" TOTP_AUTH\n")); err != nil {
		t.Fatal(err)
	}
	l.f.Close()
	if err := <-done; !errors.Is(err, ErrReused) {
		t.Errorf("VerifyFile after the holder used the code = %v, want %v", err, ErrReused)
	}
}

// TestReadFile reads a file with VerifyFile's checks and changes nothing.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ga")
	content := "2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30 1\n\" TOTP_AUTH\n12345678\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := ReadFile(ctx, path, Options{UID: os.Getuid()})
	if err != nil || string(f.Bytes()) != content || len(f.ScratchCodes()) != 1 {
		t.Fatalf("ReadFile = %v, %v; want the file", f, err)
	}
	if got, _ := os.ReadFile(path); string(got) != content {
		t.Errorf("file changed to %q", got)
	}
	tests := []struct {
		name string
		path string
		opts Options
		want error
	}{
		{"wrong owner", path, Options{UID: os.Getuid() + 1}, ErrUnusable},
		{"mode", path, Options{UID: os.Getuid(), AllowedPerm: 0o400}, ErrUnusable},
		{"missing", path + "x", Options{UID: os.Getuid()}, ErrUnusable},
		{"missing nullok", path + "x", Options{UID: os.Getuid(), NullOK: true}, ErrNoFile},
	}
	for _, tc := range tests {
		if _, err := ReadFile(ctx, tc.path, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadFile = %v, want %v", tc.name, err, tc.want)
		}
	}
}
