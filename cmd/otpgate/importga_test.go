package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// buildGoogleAuthenticator builds our google-authenticator command.
func buildGoogleAuthenticator(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "google-authenticator")
	out, err := exec.Command("go", "build", "-o", bin, "../google-authenticator").CombinedOutput()
	if err != nil {
		t.Fatalf("go build google-authenticator: %v\n%s", err, out)
	}
	return bin
}

// gaFile makes a state file with our google-authenticator command and
// returns it parsed.
func gaFile(t *testing.T, bin, path string, args ...string) *gafile.File {
	t.Helper()
	cmd := exec.Command(bin, append(args, "-f", "-q", "-Q", "NONE", "-s", path)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("google-authenticator %q: %v\n%s", args, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gafile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// runStdin runs an otpgate command in-process and returns its output and
// exit status.
func runStdin(stdin string, args ...string) (string, int) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	var ee exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String() + errb.String() + ee.msg, ee.code
	}
	return out.String() + errb.String() + err.Error(), -1
}

func TestImportGoogleAuthenticator(t *testing.T) {
	ga := buildGoogleAuthenticator(t)
	data, files := t.TempDir(), t.TempDir()
	settings := append([]string{"-data-dir", data, "--user-file", files + "/${USER}", "--user-file-strict-owner=false"}, fastFlags...)
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		if out, code := runStdin("password of "+name+"\n", append([]string{"user", "add", "--password-stdin", name}, settings...)...); code != 0 {
			t.Fatalf("user add %s: %s", name, out)
		}
	}
	alice := gaFile(t, ga, filepath.Join(files, "alice"), "-t", "-d", "-r", "3", "-R", "30", "-w", "3", "-e", "5")
	bob := gaFile(t, ga, filepath.Join(files, "bob"), "-t", "-D", "-u", "-w", "17", "-e", "0")
	gaFile(t, ga, filepath.Join(files, "carol"), "-c", "-w", "3", "-r", "3", "-R", "30", "-e", "3")
	gaFile(t, ga, filepath.Join(files, "dave"), "-t", "-d", "-u", "-w", "3", "-e", "1")
	if err := os.Chmod(filepath.Join(files, "dave"), 0o644); err != nil {
		t.Fatal(err)
	}
	frank := gaFile(t, ga, filepath.Join(files, "frank"), "-t", "-d", "-u", "-S", "60", "-w", "3", "-e", "10")
	gaFile(t, ga, filepath.Join(files, "ghost"), "-t", "-d", "-u", "-w", "3", "-e", "1")

	// Alice uses a code through her file (as SSH would) before the import.
	now := time.Now()
	aliceKey := otp.Key{Secret: alice.Secret()}
	used := aliceKey.TOTP(now)
	if _, err := gafile.VerifyFile(context.Background(), filepath.Join(files, "alice"), used, now, gafile.Options{NoStrictOwner: true}); err != nil {
		t.Fatalf("using a code in the file: %v", err)
	}

	out, code := runStdin("", append([]string{"import-google-authenticator", "alice", "bob", "carol", "dave", "erin", "frank", "ghost"}, settings...)...)
	if code != 1 {
		t.Errorf("import exit status = %d, want 1 (some not imported)\n%s", code, out)
	}
	for _, want := range []string{
		"alice: imported from " + files + "/alice: time-based, 30-second steps, 5 scratch codes as recovery codes",
		"alice: note: RATE_LIMIT not kept",
		"bob: imported from",
		"bob: note: WINDOW_SIZE 17 not kept: otpgate accepts 3 steps",
		"bob: note: DISALLOW_REUSE was off",
		"carol: not imported: " + files + "/carol holds counter-based (HOTP) codes",
		"dave: not imported: gafile: \"" + files + "/dave\": unusable file: permissions 0644 are more permissive than 0600",
		"erin: no file",
		"frank: imported from " + files + "/frank: time-based, 60-second steps, 10 scratch codes",
		"ghost: not imported: not a user of otpgate's store",
		"summary: 3 imported, 0 already imported, 1 without a file, 3 not imported",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "alice: note: WINDOW") || strings.Contains(out, "frank: note") {
		t.Errorf("notes for options the store keeps:\n%s", out)
	}
	for _, f := range []*gafile.File{alice, bob, frank} {
		if strings.Contains(out, f.Secret().Base32()) {
			t.Errorf("the output holds a secret")
		}
	}

	// The store now signs them in with their old secrets and scratch codes.
	var c Config
	fs := newFlagSet("x", "", &c)
	if _, err := loadConfig(fs, settings, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	svc, store, err := openService(context.Background(), &c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	login := func(name, code string) mfa.Outcome {
		t.Helper()
		r, err := svc.Login(context.Background(), mfa.LoginAttempt{Name: name, Password: "password of " + name, Code: code})
		if err != nil {
			t.Fatal(err)
		}
		return r.Outcome
	}
	frankKey := otp.Key{Secret: frank.Secret(), Period: time.Minute}
	tests := []struct {
		name, user, code string
		want             mfa.Outcome
	}{
		{"code used in the file", "alice", used, mfa.BadCode},
		{"next code", "alice", aliceKey.TOTP(now.Add(30 * time.Second)), mfa.OK},
		{"scratch code", "alice", itoaScratch(alice, 2), mfa.OK},
		{"scratch code again", "alice", itoaScratch(alice, 2), mfa.BadCode},
		{"bob's code", "bob", otp.Key{Secret: bob.Secret()}.TOTP(now), mfa.OK},
		{"frank's 60 s code", "frank", frankKey.TOTP(now), mfa.OK},
		{"frank's scratch code with a space", "frank", itoaScratch(frank, 9)[:4] + " " + itoaScratch(frank, 9)[4:], mfa.OK},
		{"carol keeps her file", "carol", "", mfa.CodeRequired},
	}
	for _, tc := range tests {
		if got := login(tc.user, tc.code); got != tc.want {
			t.Errorf("%s: Login = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n, _ := svc.RecoveryCodesLeft(context.Background(), mustUser(t, store, "alice").ID); n != 4 {
		t.Errorf("alice's recovery codes left = %d, want 4", n)
	}

	// Again: nothing changes, and what was imported says so.
	out, code = runStdin("", append([]string{"import-google-authenticator", "alice", "bob", "frank"}, settings...)...)
	if code != 0 || !strings.Contains(out, "alice: already imported") || !strings.Contains(out, "summary: 0 imported, 3 already imported") {
		t.Errorf("second import = %d\n%s", code, out)
	}
	if n, _ := svc.RecoveryCodesLeft(context.Background(), mustUser(t, store, "alice").ID); n != 4 {
		t.Errorf("after a second import, alice's recovery codes left = %d, want 4", n)
	}
	// --all skips nothing silently, but a user without a file is no failure.
	if err := os.Remove(filepath.Join(files, "carol")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(files, "dave"), 0o600)
	out, code = runStdin("", append([]string{"import-google-authenticator", "--all"}, settings...)...)
	if code != 0 || !strings.Contains(out, "carol: no file") || !strings.Contains(out, "dave: imported") || !strings.Contains(out, "summary: 1 imported, 3 already imported, 2 without a file, 0 not imported") {
		t.Errorf("import --all = %d\n%s", code, out)
	}
	// Bad usage.
	for _, args := range [][]string{{}, {"--all", "alice"}} {
		if out, code := runStdin("", append(append([]string{"import-google-authenticator"}, args...), settings...)...); code != 2 {
			t.Errorf("import %q = %d, want 2\n%s", args, code, out)
		}
	}
	if out, code := runStdin("", "import-google-authenticator", "-data-dir", data, "alice"); code != 2 || !strings.Contains(out, "user-file") {
		t.Errorf("import without -user-file = %d %q, want 2", code, out)
	}
}

// itoaScratch returns the file's i-th scratch code as text.
func itoaScratch(f *gafile.File, i int) string {
	c := f.ScratchCodes()
	return strconv.Itoa(c[i])
}

func mustUser(t *testing.T, store mfa.Store, name string) mfa.User {
	t.Helper()
	u, err := store.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// FuzzLastUsedStep: a file's DISALLOW_REUSE list gives its largest step
// or an error, never a panic, and a step that is not the largest is never
// the answer.
func FuzzLastUsedStep(f *testing.F) {
	for _, s := range []string{"", "59999999", "1 2 3", "3 2 1", "  7\t8 ", "x", "-1", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		if strings.ContainsAny(list, "\r\n\x00") {
			return
		}
		file, err := gafile.Parse([]byte("2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSE " + list + "\n\" TOTP_AUTH\n"))
		if err != nil {
			return
		}
		last, err := lastUsedStep(file)
		if err != nil {
			return
		}
		v, _ := file.Option("DISALLOW_REUSE")
		for _, s := range strings.Fields(v) {
			if n, _ := strconv.ParseUint(s, 10, 32); n > last {
				t.Fatalf("lastUsedStep(%q) = %d, below %d", v, last, n)
			}
		}
	})
}
