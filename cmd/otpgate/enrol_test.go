//go:build linux

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// waitFor waits until out shows want after position from, and returns
// where it ends.
func waitFor(t *testing.T, out *syncBuffer, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := out.String()
		if i := strings.Index(s[from:], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %q; the output is:\n%s", want, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// apiVerify signs in through POST /api/v1/verify and returns the outcome.
func apiVerify(t *testing.T, base, name, password, code string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": password, "otp": code})
	r, err := http.Post(base+"/api/v1/verify", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var v struct{ Outcome string }
	json.NewDecoder(r.Body).Decode(&v)
	return v.Outcome
}

// enrolServer starts otpgate serve with users' files in a directory (owner
// check off) and adds users; it returns the server and the directory.
func enrolServer(t *testing.T, names ...string) (*server, string) {
	t.Helper()
	data, files := t.TempDir(), t.TempDir()
	settings := []string{"--user-file", files + "/${USER}", "--user-file-strict-owner=false"}
	s := startServer(t, data, settings...)
	t.Cleanup(func() { s.stop() })
	for _, n := range names {
		args := append([]string{"user", "add", "--password-stdin", n, "-data-dir", data}, fastFlags...)
		if out, code := runStdin("password of "+n+"\n", args...); code != 0 {
			t.Fatalf("user add %s: %s", n, out)
		}
	}
	return s, files
}

var keyLine = regexp.MustCompile(`to type into the app by hand: ([A-Z2-7 ]+)\r?\n`)

// TestEnrolTerminal enrols through a pseudo-terminal: the user name is
// asked with the account's name as default, the password without echo,
// the QR code drawn as google-authenticator draws it holds the key.
func TestEnrolTerminal(t *testing.T) {
	s, _ := enrolServer(t, "bob")
	m, tty := testenv.OpenPTY(t)
	defer m.Close()
	out := &syncBuffer{}
	go io.Copy(out, m)
	errb := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"enrol", "-server", s.url}, func(string) string { return "" }, tty, tty, errb)
	}()
	p := waitFor(t, out, 0, "User name [")
	io.WriteString(m, "bob\n")
	p = waitFor(t, out, p, "Password: ")
	io.WriteString(m, "password of bob\n")
	p = waitFor(t, out, p, "Enter the code the app shows now: ")
	uri := testenv.Zbarimg(t, testenv.TerminalImage(t, out.String()[:p], 4))
	u, err := otp.ParseURI(uri)
	if err != nil {
		t.Fatalf("the QR code holds %q: %v", uri, err)
	}
	km := keyLine.FindStringSubmatch(out.String())
	if km == nil || strings.ReplaceAll(km[1], " ", "") != u.Key.Secret.Base32() || u.Account != "bob" {
		t.Fatalf("key line %q, QR code account %q: not the same key", km, u.Account)
	}
	io.WriteString(m, "000000\n")
	p = waitFor(t, out, p, "That is not the app's code.")
	p = waitFor(t, out, p, "Enter the code the app shows now: ")
	io.WriteString(m, u.Key.TOTP(time.Now())+"\n")
	p = waitFor(t, out, p, "Your recovery codes")
	if err := <-done; err != nil {
		t.Fatalf("enrol: %v\n%s%s", err, out, errb)
	}
	tty.Close()
	if n := len(regexp.MustCompile(`(?m)^  [a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\r?$`).FindAllString(out.String()[p:], -1)); n != 10 {
		t.Errorf("%d recovery codes printed, want 10:\n%s", n, out)
	}
	if strings.Contains(out.String(), "password of bob") {
		t.Errorf("the password was echoed")
	}
	if got := apiVerify(t, s.url, "bob", "password of bob", ""); got != "code_required" {
		t.Errorf("after enrolment, password alone = %s, want code_required", got)
	}
	if strings.Contains(s.log(), u.Key.Secret.Base32()) {
		t.Errorf("the server logged the secret")
	}
}

// TestEnrolScript enrols with --password-stdin, for a user whose second
// factor so far is a file: a code from it is asked for first, and the
// store TOTP then wins.
func TestEnrolScript(t *testing.T) {
	s, files := enrolServer(t, "filer")
	const secret = "2SH3V3GDW7ZNMGYE"
	if err := os.WriteFile(filepath.Join(files, "filer"), []byte(secret+"\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileSecret, _ := otp.DecodeSecret(secret)
	fileKey := otp.Key{Secret: fileSecret}

	in, w := io.Pipe()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"enrol", "--password-stdin", "-user", "filer"},
			func(k string) string {
				if k == "OTPGATE_BASE_URL" {
					return s.url
				}
				return ""
			}, in, out, out)
	}()
	io.WriteString(w, "password of filer\n")
	p := waitFor(t, out, 0, "Enter a current code from it: ")
	io.WriteString(w, fileKey.TOTP(time.Now())+"\n")
	waitFor(t, out, p, "Enter the code the app shows now: ")
	km := keyLine.FindStringSubmatch(out.String())
	if km == nil || strings.Contains(out.String(), "\x1b[") {
		t.Fatalf("no key, or a QR code drawn on a pipe:\n%s", out)
	}
	newSecret, err := otp.DecodeSecret(strings.ReplaceAll(km[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: newSecret}
	io.WriteString(w, key.TOTP(time.Now())+"\n")
	if err := <-done; err != nil {
		t.Fatalf("enrol: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "no longer reads your google-authenticator file") {
		t.Errorf("no word on the old file:\n%s", out)
	}
	if got := apiVerify(t, s.url, "filer", "password of filer", fileKey.TOTP(time.Now().Add(30*time.Second))); got != "code_wrong" {
		t.Errorf("file code after enrolment = %s, want code_wrong", got)
	}

	// Refusals: wrong password, TOTP set up already, input ended.
	tests := []struct {
		name, stdin, want string
	}{
		{"wrong password", "wrong password\n", "Wrong username or password"},
		{"set up already", "password of filer\n", "You have TOTP set up already"},
		{"no password", "", "no password on standard input"},
	}
	for _, tc := range tests {
		var o syncBuffer
		err := run(context.Background(), []string{"enrol", "--password-stdin", "-user", "filer", "-server", s.url},
			func(string) string { return "" }, strings.NewReader(tc.stdin), &o, &o)
		ee, ok := err.(exitError)
		if !ok || ee.code != 1 || !strings.Contains(ee.msg, tc.want) {
			t.Errorf("%s: enrol = %v, want exit 1 with %q", tc.name, err, tc.want)
		}
	}
	if _, code := runStdin("", "enrol", "-user", "filer", "-server", s.url); code != 2 {
		t.Errorf("enrol with no terminal and no --password-stdin = %d, want 2", code)
	}
	if _, code := runStdin("", "enrol", "-server", "ftp://x"); code != 2 {
		t.Errorf("enrol -server ftp://x = %d, want 2", code)
	}
}
