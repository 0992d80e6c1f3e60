package gafile

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// testSecret is the spec's test vector secret, 2SH3V3GDW7ZNMGYE.
var testSecret = otp.Secret{0xd4, 0x8f, 0xba, 0xec, 0xc3, 0xb7, 0xf2, 0xd6, 0x1b, 0x04}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want string
	}{
		{"time-based, nothing else", Settings{Secret: testSecret},
			"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n"},
		// spec §2.5, first example.
		{"every time-based line", Settings{Secret: testSecret, DisallowReuse: true, StepSize: 60, WindowSize: 3,
			RateLimit: 3, RateTime: 30, ScratchCodes: []int{84182260, 10000000, 99999999}},
			"2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" STEP_SIZE 60\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n84182260\n10000000\n99999999\n"},
		// spec §2.5, second example.
		{"counter-based, minimal window", Settings{Secret: testSecret, HOTP: true, WindowSize: 1},
			"2SH3V3GDW7ZNMGYE\n\" WINDOW_SIZE 1\n\" HOTP_COUNTER 1\n"},
		{"reuse and rate", Settings{Secret: testSecret, DisallowReuse: true, RateLimit: 10, RateTime: 600, ScratchCodes: []int{12345678}},
			"2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 10 600\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.s)
			if err != nil {
				t.Fatalf("New(%+v) = %v", tc.s, err)
			}
			if got := string(f.Bytes()); got != tc.want {
				t.Errorf("New(%+v) =\n%s\nwant\n%s", tc.s, got, tc.want)
			}
			if !bytes.Equal(f.Secret(), tc.s.Secret) || f.TOTP() == tc.s.HOTP {
				t.Errorf("New(%+v) reads back another secret or mode", tc.s)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, s := range []Settings{
		{},
		{Secret: testSecret, HOTP: true, DisallowReuse: true},
		{Secret: testSecret, HOTP: true, StepSize: 30},
		{Secret: testSecret, StepSize: 61},
		{Secret: testSecret, StepSize: -1},
		{Secret: testSecret, WindowSize: 101},
		{Secret: testSecret, RateLimit: 3},
		{Secret: testSecret, RateTime: 30},
		{Secret: testSecret, RateLimit: 101, RateTime: 30},
		{Secret: testSecret, RateLimit: 3, RateTime: 3601},
		{Secret: testSecret, ScratchCodes: []int{9999999}},
		{Secret: testSecret, ScratchCodes: []int{100000000}},
	} {
		if f, err := New(s); err == nil || !strings.HasPrefix(err.Error(), "gafile: ") {
			t.Errorf("New(%+v) = %q, %v; want an error", s, f.Bytes(), err)
		}
	}
}

// TestNewStock runs Google's command for combinations of its flags and
// builds the same file with New from the stock file's secret and scratch
// codes: the bytes must be the same.
func TestNewStock(t *testing.T) {
	bin := testenv.LookPath(t, "/usr/bin/google-authenticator")
	tests := []struct {
		args []string
		s    Settings
	}{
		{[]string{"-t", "-d", "-r", "3", "-R", "30", "-w", "3", "-S", "60"}, Settings{DisallowReuse: true, RateLimit: 3, RateTime: 30, WindowSize: 3, StepSize: 60}},
		{[]string{"-t", "-D", "-u", "-W"}, Settings{WindowSize: 3}},
		{[]string{"-t", "-d", "-u", "-w", "17", "-e", "0"}, Settings{DisallowReuse: true, WindowSize: 17}},
		{[]string{"-t", "-D", "-r", "10", "-R", "600", "-w", "21", "-S", "1", "-e", "10"}, Settings{RateLimit: 10, RateTime: 600, WindowSize: 21, StepSize: 1}},
		{[]string{"-c", "-u", "-W", "-e", "0"}, Settings{HOTP: true, WindowSize: 1}},
		{[]string{"-c", "-r", "1", "-R", "15", "-w", "5", "-S", "60", "-e", "1"}, Settings{HOTP: true, RateLimit: 1, RateTime: 15, WindowSize: 5}},
	}
	for _, tc := range tests {
		file := filepath.Join(t.TempDir(), "ga")
		args := append([]string{"-f", "-C", "-q", "-Q", "NONE", "-s", file}, tc.args...)
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", bin, args, err, out)
		}
		stock, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(stock)
		if err != nil {
			t.Fatalf("Parse(stock file %q) = %v", stock, err)
		}
		tc.s.Secret, tc.s.ScratchCodes = parsed.Secret(), parsed.ScratchCodes()
		f, err := New(tc.s)
		if err != nil {
			t.Fatalf("New(%+v) = %v", tc.s, err)
		}
		if !bytes.Equal(f.Bytes(), stock) {
			t.Errorf("%q: New =\n%s\nstock\n%s", tc.args, f.Bytes(), stock)
		}
	}
}

// TestCreate writes new files: mode 0400, the content, nothing left beside
// them; a file or a symbolic link at the path is replaced, never followed.
func TestCreate(t *testing.T) {
	ctx := context.Background()
	f, err := New(Settings{Secret: testSecret, ScratchCodes: []int{12345678}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, before := range []string{"nothing", "file", "symlink", "dangling symlink"} {
		path := filepath.Join(dir, "ga-"+strings.ReplaceAll(before, " ", "-"))
		switch before {
		case "file":
			err = os.WriteFile(path, []byte("old\n"), 0o600)
		case "symlink":
			err = os.Symlink(target, path)
		case "dangling symlink":
			err = os.Symlink(filepath.Join(dir, "nowhere"), path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := Create(ctx, path, f); err != nil {
			t.Fatalf("Create over %s = %v", before, err)
		}
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o400 {
			t.Errorf("Create over %s: %v (%v), want a regular file of mode 0400", before, fi.Mode(), err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, f.Bytes()) {
			t.Errorf("Create over %s wrote %q, want %q", before, got, f.Bytes())
		}
		if _, err := os.Lstat(path + "~"); err == nil {
			t.Errorf("Create over %s left %s~", before, path)
		}
	}
	if got, _ := os.ReadFile(target); string(got) != "target\n" {
		t.Errorf("the symbolic link's target changed to %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Errorf("the dangling symbolic link was followed")
	}
	if err := Create(ctx, filepath.Join(dir, "no", "such"), f); err == nil {
		t.Errorf("Create in a missing directory = nil error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := Create(cancelled, filepath.Join(dir, "cancelled"), f); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context = %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 5 {
		t.Errorf("%d entries in the directory, want the target and the 4 files", len(ents))
	}
}

// TestCreateTempExists checks that path+"~", as a file or a symbolic link
// (even a dangling one), stops Create and is left alone, as in the stock
// command.
func TestCreateTempExists(t *testing.T) {
	f, err := New(Settings{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"file", "symlink"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "ga")
		if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if kind == "file" {
			err = os.WriteFile(path+"~", []byte("other\n"), 0o600)
		} else {
			err = os.Symlink(filepath.Join(dir, "nowhere"), path+"~")
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := Create(context.Background(), path, f); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "~\" exists") {
			t.Errorf("Create with a %s at %s~ = %v, want an error wrapping fs.ErrExist", kind, path, err)
		}
		if got, _ := os.ReadFile(path); string(got) != "old\n" {
			t.Errorf("%s changed to %q", path, got)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Errorf("%d entries in the directory, want 2", len(ents))
		}
	}
}

// TestWriteNewUnnamed checks that a new file has no name until it is
// linked, where the file system supports O_TMPFILE.
func TestWriteNewUnnamed(t *testing.T) {
	dir := t.TempDir()
	n, err := writeNew(dir, []byte("data\n"), func() (*os.File, error) { return nil, errors.New("named file asked for") })
	if err != nil {
		t.Skipf("no O_TMPFILE in %s: %v", dir, err)
	}
	defer n.f.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 || n.name != "" {
		t.Fatalf("after writeNew: %d entries, name %q; want none", len(ents), n.name)
	}
	name := filepath.Join(dir, "x")
	if err := n.link(name); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); string(got) != "data\n" {
		t.Errorf("linked file holds %q", got)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o400 {
		t.Errorf("linked file mode %v, want 0400", fi.Mode())
	}
}

// TestRemoveStale plants temporary files beside a state file and runs an
// attempt: ours whose process is gone, or that are old, are removed, and
// so are old ones of earlier versions; ours of a live process that are
// young, and every file of the stock module's or the stock command's
// naming, stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ga")
	if err := os.WriteFile(path, []byte("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	goneName := "ga" + tempMark + strconv.Itoa(gone.Process.Pid) + ".abc"
	live := "ga" + tempMark + strconv.Itoa(os.Getpid()) + "."
	now := time.Now()
	old := now.Add(-staleAge - time.Second)
	files := []struct {
		name    string
		mtime   time.Time
		removed bool
	}{
		{goneName, now, true},
		{live + "young", now, false},
		{live + "old", old, true},
		{"ga~", old, false},       // the stock command's
		{"ga~Ab3xYz", old, false}, // the stock module's (mkstemp)
		{"ga~otpgate.x.y", old, false},
		{"ga~otpgate.123", old, false},
		{"gb" + tempMark + "1.old", old, false}, // another file's
		{"ga~1142660702", old, true},            // an earlier otpgate's
		{"ga~1142660702x", old, false},          // not quite
		{"ga~114266070", now, false},            // an earlier otpgate's, young
		{"ga~123456", old, false},               // maybe the stock module's
		{"ga~12345678901", old, false},          // too long for os.CreateTemp
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("secret copy\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := VerifyFile(context.Background(), path, "050548", now, Options{UID: os.Getuid()}); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("VerifyFile = %v, want %v", err, ErrWrongCode)
	}
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(dir, f.name))
		if removed := errors.Is(err, fs.ErrNotExist); removed != f.removed {
			t.Errorf("%s: removed = %v, want %v", f.name, removed, f.removed)
		}
	}
}
