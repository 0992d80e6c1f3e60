package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// TestUserFileSharedWithStockModule: otpgate serve, running as root with
// -user-file, and the stock PAM module under pamtester take turns on one
// user's file: each refuses the codes and scratch codes the other used,
// and honours the rate limit the other recorded. The file stays the
// user's.
func TestUserFileSharedWithStockModule(t *testing.T) {
	stock := newStockModule(t)
	stock.user = "nobody"
	dir, _, uid, gid := testenv.NobodyDir(t, "files")
	file := filepath.Join(dir, "nobody")
	const secret = "QRN6OXBEKOJQY6IMIIDS5OWC7Y"
	writeFile := func(content string) {
		t.Helper()
		os.Remove(file)
		if err := os.WriteFile(file, []byte(content), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(file, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(secret + "\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n11111111\n22222222\n")
	data := t.TempDir()
	// Wrong codes on purpose: a code budget that never waits, so that
	// every one reaches the file.
	srv := startServer(t, data, "-user-file", dir+"/${USER}", "-throttle-code-free", "1000")
	defer srv.stop()
	if out, code := runStdin("password of nobody\n", append([]string{"user", "add", "--password-stdin", "nobody", "-data-dir", data}, fastFlags...)...); code != 0 {
		t.Fatalf("user add: %s", out)
	}
	sec, _ := otp.DecodeSecret(secret)
	key := otp.Key{Secret: sec}
	gate := func(code string) string { return apiVerify(t, srv.url, "nobody", "password of nobody", code) }
	module := func(offset time.Duration, answer string) bool {
		return stock.try(t, file, time.Now().Add(offset).Unix(), answer, nil, "")
	}

	now := time.Now()
	if got := gate(key.TOTP(now)); got != "ok" {
		t.Fatalf("otpgate, current code = %s, want ok\n%s", got, srv.stderr)
	}
	if module(0, key.TOTP(now)) {
		t.Errorf("the module accepted the code otpgate used")
	}
	next := key.TOTP(now.Add(30 * time.Second))
	if !module(30*time.Second, next) {
		t.Errorf("the module refused a fresh code")
	}
	if got := gate(next); got != "code_wrong" {
		t.Errorf("otpgate, the code the module used = %s, want code_wrong", got)
	}
	if got := gate("11111111"); got != "ok" {
		t.Errorf("otpgate, scratch code = %s, want ok", got)
	}
	if module(0, "11111111") {
		t.Errorf("the module accepted the scratch code otpgate used")
	}
	if !module(0, "22222222") {
		t.Errorf("the module refused an unused scratch code")
	}
	if got := gate("22222222"); got != "code_wrong" {
		t.Errorf("otpgate, the scratch code the module used = %s, want code_wrong", got)
	}
	for _, want := range []string{`result="code already used"`, `user=nobody result=accepted count=2 method="scratch code"`, `result="wrong code"`} {
		if !strings.Contains(srv.log(), want) {
			t.Errorf("server log lacks %s", want)
		}
	}

	// RATE_LIMIT 2 30: two wrong attempts in one, then the other refuses
	// the right code.
	writeFile(secret + "\n\" RATE_LIMIT 2 30\n\" TOTP_AUTH\n")
	gate("000000")
	gate("000000")
	if module(0, key.TOTP(time.Now())) {
		t.Errorf("the module accepted a code beyond the rate limit otpgate recorded")
	}
	// Once the interval is over, the same module takes a code again.
	if !module(61*time.Second, key.TOTP(time.Now().Add(61*time.Second))) {
		t.Errorf("the module refused a code after the rate limit's interval")
	}
	writeFile(secret + "\n\" RATE_LIMIT 2 30\n\" TOTP_AUTH\n")
	module(0, "000000")
	module(0, "000000")
	if got := gate(key.TOTP(time.Now())); got != "throttled" || !strings.Contains(srv.log(), `result="rate limited"`) {
		t.Errorf("otpgate, a code beyond the rate limit the module recorded = %s, want throttled (rate limited)", got)
	}
	// A file the module would refuse is refused by otpgate too.
	os.Chown(file, 0, 0)
	if got := gate(key.TOTP(time.Now().Add(-30 * time.Second))); got != "code_wrong" || !strings.Contains(srv.log(), "unusable file") {
		t.Errorf("otpgate, a file owned by root = %s, want code_wrong (unusable)", got)
	}
	os.Chown(file, uid, gid)

	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != uid || st.Mode&0o777 != 0o400 {
		t.Errorf("file after otpgate's writes: owner %d mode %04o, want %d 0400", st.Uid, st.Mode&0o777, uid)
	}
	if strings.Contains(srv.log(), secret) || strings.Contains(srv.log(), key.TOTP(now)) {
		t.Errorf("the server logged the secret or a code")
	}
}

// TestUserFileSettings: the template and the mask are checked at start,
// and serve --help documents them.
func TestUserFileSettings(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-user-file", "/var/lib/otp/all"}, "every user would share one file"},
		{[]string{"-user-file", "relative/${USER}"}, "absolute path"},
		{[]string{"-user-file", "/x/../${USER}"}, "clean path"},
		{[]string{"-user-file", "/x/${LOGNAME}"}, "only ${USER} and ${HOME}"},
		{[]string{"-user-file", "/x/${USER}", "-user-file-perm", "0800"}, "user-file-perm"},
		{[]string{"-user-file", "/x/${USER}", "-user-file-perm", "0"}, "user-file-perm"},
	}
	for _, tc := range tests {
		args := append([]string{"serve", "-data-dir", t.TempDir()}, tc.args...)
		if out, code := runStdin("", args...); code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("serve %q = %d %q, want 2 and %q", tc.args, code, out, tc.want)
		}
	}
	out, _ := runStdin("", "serve", "--help")
	for _, want := range []string{"-user-file template", "OTPGATE_USER_FILE", "-user-file-perm octal", "-user-file-strict-owner", "${USER} and ${HOME}"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
