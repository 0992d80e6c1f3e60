//go:build linux

package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// runPTY runs the command in-process with a terminal for its standard
// input and output, typing answers in advance, and returns the exit
// status, what the terminal showed, and the file.
func runPTY(t testing.TB, args []string, answers string, seed uint64) (int, string, []byte) {
	t.Helper()
	m, s := testenv.OpenPTY(t)
	defer m.Close()
	shown := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(m) // ends with EIO once the slave is closed
		shown <- b
	}()
	if _, err := io.WriteString(m, answers); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "FILE")
	args = append(args, "-s", file)
	var errOut bytes.Buffer
	random := rand.NewChaCha8([32]byte{byte(seed), 'o', 't', 'p', 'g', 'a', 't', 'e'})
	status := run(args, func(string) string { return dir }, s, s, &errOut, random, func() time.Time { return testTime })
	s.Close()
	out := <-shown
	b, _ := os.ReadFile(file)
	return status, string(out), b
}

var uriLine = regexp.MustCompile(`(?m)^  (otpauth://\S+)\r?$`)

// TestTerminalQR draws the QR code on a terminal in every mode and decodes
// the picture: it must hold the URI that the command prints, and that URI
// the secret of the file.
func TestTerminalQR(t *testing.T) {
	for _, mode := range []string{"", "ANSI", "utf8", "NONE"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{"-t", "-D", "-f", "-u", "-W", "-C", "-S", "45"}
			if mode != "" {
				args = append(args, "-Q", mode)
			}
			status, out, file := runPTY(t, args, "", 1)
			if status != 0 {
				t.Fatalf("%q: status %d\n%s", args, status, out)
			}
			m := uriLine.FindStringSubmatch(out)
			if mode == "NONE" {
				if m != nil || strings.Contains(out, "\x1b[") {
					t.Errorf("-Q NONE showed a URI or a QR code:\n%s", out)
				}
				return
			}
			if m == nil {
				t.Fatalf("%q: no otpauth URI in\n%s", args, out)
			}
			u, err := otp.ParseURI(m[1])
			if err != nil {
				t.Fatalf("otp.ParseURI(%q) = %v", m[1], err)
			}
			if want := strings.SplitN(string(file), "\n", 2)[0]; u.Key.Secret.Base32() != want || u.Key.Period != 45*time.Second {
				t.Errorf("URI %q has another secret or period than the file's %s and 45s", m[1], want)
			}
			if got := testenv.Zbarimg(t, testenv.TerminalImage(t, out, 4)); got != m[1] {
				t.Errorf("the QR code on the terminal holds %q, want the printed URI %q", got, m[1])
			}
		})
	}
}

// TestConfirm types codes into the confirmation on a terminal: wrong ones
// repeat the question, a code from one step before or after the current
// one is accepted, -1 skips.
func TestConfirm(t *testing.T) {
	secret, err := otp.NewSecret(rand.NewChaCha8([32]byte{2, 'o', 't', 'p', 'g', 'a', 't', 'e'}), secretSize)
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret, Period: 20 * time.Second}
	at := func(steps int) string { return key.TOTP(testTime.Add(time.Duration(steps) * key.Period)) }
	for _, tc := range []struct {
		name    string
		answers string
		wrong   int
		outcome string
	}{
		{"current", at(0) + "\n", 0, "Code confirmed"},
		{"one step late", at(-1) + "\n", 0, "Code confirmed"},
		{"one step early", at(1) + "\n", 0, "Code confirmed"},
		{"after wrong ones", "hello\n\n" + at(2) + "\n" + at(-2) + "\n" + at(0) + "99\n  " + at(0) + "\n", 5, "Code confirmed"},
		{"skipped", "12\n-1\n", 1, "Confirmation skipped"},
		{"skipped by any negative", "-42\n", 0, "Confirmation skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out, file := runPTY(t, []string{"-t", "-D", "-f", "-u", "-W", "-S", "20", "-Q", "NONE"}, tc.answers, 2)
			if status != 0 || file == nil {
				t.Fatalf("status %d, file %v\n%s", status, file != nil, out)
			}
			if !strings.HasPrefix(string(file), secret.Base32()+"\n") {
				t.Fatalf("the file's secret is not the one the test expects")
			}
			if got := strings.Count(out, "That is not the app's code"); got != tc.wrong {
				t.Errorf("answers %q: %d codes refused, want %d\n%s", tc.answers, got, tc.wrong, out)
			}
			if !strings.Contains(out, tc.outcome) {
				t.Errorf("answers %q: no %q in\n%s", tc.answers, tc.outcome, out)
			}
		})
	}
}

// TestScriptQR runs the real program (this test binary running main)
// under script(1), which gives it a pseudo-terminal, and decodes the QR
// code it draws there.
func TestScriptQR(t *testing.T) {
	script := testenv.LookPath(t, "script")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ga")
	cmd := exec.Command(script, "-qec", self+" -t -d -f -r 3 -R 30 -W -C -Q UTF8 -l alice@example.org -i Example -s "+file, "/dev/null")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	m := uriLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no otpauth URI in\n%s", out)
	}
	if got := testenv.Zbarimg(t, testenv.TerminalImage(t, string(out), 3)); got != m[1] {
		t.Errorf("the QR code on the terminal holds %q, want the printed URI %q", got, m[1])
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(m[1], "secret="+strings.SplitN(string(b), "\n", 2)[0]+"&") {
		t.Errorf("the URI %q does not hold the secret of the file (%v)", m[1], err)
	}
}
