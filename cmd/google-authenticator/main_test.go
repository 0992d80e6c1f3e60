package main

import (
	"bytes"
	"flag"
	"fmt"
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

// mainEnv makes the test binary run main instead of the tests, so that a
// test can run the real command under script(1).
const mainEnv = "OTPGATE_GOOGLE_AUTHENTICATOR_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testTime is the clock of every in-process run: step 56666666 of 30s.
var testTime = time.Unix(1700000000, 0)

// result is what one run of the command did.
type result struct {
	status         int
	stdout, stderr string
	file           []byte // the state file after the run; nil if absent
}

// invocation is one run of the command in a fresh home directory: "FILE"
// in args stands for a file in it, and the environment holds HOME (unless
// home is set: then it is HOME's value, "-" for unset).
type invocation struct {
	args  []string
	stdin string
	home  string
	seed  uint64
}

// runIn runs the command in-process in dir with a fixed clock and a random
// source seeded by inv.seed, and returns what it did to dir/FILE (or the
// default file when no -s is given).
func runIn(t testing.TB, dir string, inv invocation) result {
	t.Helper()
	file := filepath.Join(dir, "FILE")
	args := make([]string, len(inv.args))
	for i, a := range inv.args {
		args[i] = strings.ReplaceAll(a, "FILE", file)
	}
	home := dir
	switch inv.home {
	case "":
	case "-":
		home = ""
	default:
		home = inv.home
	}
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	var out, errOut bytes.Buffer
	random := rand.NewChaCha8([32]byte{byte(inv.seed), 'o', 't', 'p', 'g', 'a', 't', 'e'})
	status := run(args, getenv, strings.NewReader(inv.stdin), &out, &errOut, random, func() time.Time { return testTime })
	r := result{status: status, stdout: out.String(), stderr: errOut.String()}
	for _, f := range []string{file, filepath.Join(dir, defaultFile)} {
		if b, err := os.ReadFile(f); err == nil {
			r.file = b
		}
	}
	return r
}

// run1 runs inv in a fresh temporary directory.
func run1(t testing.TB, inv invocation) result {
	t.Helper()
	return runIn(t, t.TempDir(), inv)
}

// masked replaces the machine's user and host names in the default label
// and issuer, and the temporary directory, so that golden files hold the
// same text everywhere.
func masked(s, dir string) string {
	uri := keyURI(otp.Key{Secret: otp.Secret{0}}, true, userName()+"@"+hostname(), hostname()).Encode()
	label, issuer, _ := strings.Cut(strings.TrimPrefix(uri, "otpauth://totp/"), "?secret=AA&issuer=")
	s = strings.ReplaceAll(s, dir, "$HOME")
	s = strings.ReplaceAll(s, "/"+label+"?", "/USER@HOST?")
	s = strings.ReplaceAll(s, "&issuer="+issuer, "&issuer=HOST")
	return s
}

// goldenCases are whole runs whose output and file are kept in
// testdata/NAME.golden. Labels and issuers are given, except where the
// defaults are the point.
var goldenCases = []struct {
	name string
	inv  invocation
}{
	// The user guide's answers, piped: time-based, write, disallow reuse,
	// no larger window, rate limit.
	{"interactive-yyyny", invocation{stdin: "y\ny\ny\nn\ny\n"}},
	{"interactive-hotp", invocation{stdin: "n\ny\ny\nn\n"}},
	// Answers count by their first letter; others repeat the question.
	{"interactive-retry", invocation{args: []string{"-l", "a@b", "-i", "c"}, stdin: "x\nYes\n\nmaybe\nyes\n-1\nNope\nnever\nY\n"}},
	// A code or -1 piped for the stock tool's confirmation is ignored by the
	// next question, so the same answers give the same file.
	{"interactive-piped-skip", invocation{args: []string{"-l", "a@b", "-i", "c"}, stdin: "y\n-1\ny\nn\ny\nn\n"}},
	{"interactive-no-write", invocation{args: []string{"-l", "a@b", "-i", "c"}, stdin: "y\nn\n"}},
	{"interactive-eof", invocation{args: []string{"-l", "a@b", "-i", "c"}, stdin: "y\ny\ny"}},
	{"totp-all-options", invocation{args: []string{"-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-S", "60", "-C", "-l", "alice@login", "-i", "Example Co", "-s", "FILE"}}},
	{"hotp-minimal", invocation{args: []string{"-c", "-f", "-u", "-W", "-e", "0", "-l", "bob", "-i", "", "-s", "FILE"}}},
	{"quiet", invocation{args: []string{"-q", "-t", "-D", "-f", "-u", "-w", "17", "-e", "10", "-s", "FILE"}}},
	{"qr-none", invocation{args: []string{"--qr-mode=none", "--time-based", "--allow-reuse", "--force", "--no-rate-limit", "--window-size", "21", "--no-confirm", "--secret", "FILE"}}},
	{"escaped-label", invocation{args: []string{"-tDfuWC", "-l", "Al ice&b=c?d%e@x/y:z", "-i", "My Co=1&2", "-sFILE", "-e1"}}},
	{"help", invocation{args: []string{"--help"}}},
	{"bad-option", invocation{args: []string{"-x"}}},
	{"stray-argument", invocation{args: []string{"-t", "foo"}}},
	{"duplicate", invocation{args: []string{"-t", "-f", "-f"}}},
	{"no-home", invocation{args: []string{"-tDfuWC"}, home: "relative/home"}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runIn(t, dir, tc.inv)
			var b strings.Builder
			fmt.Fprintf(&b, "args: %q\nstdin: %q\nexit status: %d\n", tc.inv.args, tc.inv.stdin, r.status)
			fmt.Fprintf(&b, "-- stdout --\n%s\n-- stderr --\n%s\n-- file --\n%s", r.stdout, r.stderr, r.file)
			got := masked(b.String(), dir)
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("run %q differs from %s:\n--- got\n%s\n--- want\n%s", tc.inv.args, golden, got, want)
			}
		})
	}
}

// TestFileLines checks each golden run's file against the stock tool's
// rules (spec §2.5) independently of the golden text: secret, option lines
// in the order RATE_LIMIT, WINDOW_SIZE, STEP_SIZE, DISALLOW_REUSE, mode
// line, 8-digit scratch codes; LF-terminated, no blank line, mode 0400.
func TestFileLines(t *testing.T) {
	order := []string{`" RATE_LIMIT `, `" WINDOW_SIZE `, `" STEP_SIZE `, `" DISALLOW_REUSE`}
	scratch := regexp.MustCompile(`^[1-9][0-9]{7}$`)
	for _, tc := range goldenCases {
		dir := t.TempDir()
		r := runIn(t, dir, tc.inv)
		if r.file == nil {
			continue
		}
		s := string(r.file)
		if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\n\n") {
			t.Errorf("%s: file is not LF-terminated lines without blanks: %q", tc.name, s)
			continue
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if sec, err := otp.DecodeSecret(lines[0]); err != nil || len(sec) != secretSize || len(lines[0]) != 32 {
			t.Errorf("%s: line 1 = %q, want a 32-character base32 secret of 20 bytes", tc.name, lines[0])
		}
		i, next := 1, 0
		for ; i < len(lines) && strings.HasPrefix(lines[i], `" `) && lines[i] != `" TOTP_AUTH` && lines[i] != `" HOTP_COUNTER 1`; i++ {
			for next < len(order) && !strings.HasPrefix(lines[i], order[next]) {
				next++
			}
			if next == len(order) {
				t.Errorf("%s: option line %q out of order in\n%s", tc.name, lines[i], s)
			}
		}
		if i == len(lines) || (lines[i] != `" TOTP_AUTH` && lines[i] != `" HOTP_COUNTER 1`) {
			t.Errorf("%s: no mode line after the options in\n%s", tc.name, s)
			continue
		}
		for _, l := range lines[i+1:] {
			if !scratch.MatchString(l) {
				t.Errorf("%s: scratch line %q is not 8 digits", tc.name, l)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, "FILE"))
		if err != nil {
			fi, err = os.Stat(filepath.Join(dir, defaultFile))
		}
		if err != nil || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: file mode %v (%v), want 0400", tc.name, fi.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(dir, "FILE~")); err == nil {
			t.Errorf("%s: temporary file left behind", tc.name)
		}
	}
}

// argCases are command lines and their exit statuses, for every error
// condition of spec §2.1. usage says the help goes to stdout; written
// says the file is written. Every one is also run against the stock tool
// (stock_test.go), except those marked ours.
var argCases = []struct {
	name    string
	args    []string
	status  int
	usage   bool
	written bool
	ours    bool // differs from the stock tool on purpose, or not in 1.08
}{
	{name: "help", args: []string{"-h"}, usage: true},
	{name: "help long", args: []string{"--help"}, usage: true},
	{name: "help abbreviated", args: []string{"--he"}, usage: true},
	{name: "help first wins", args: []string{"-h", "-x"}, usage: true},
	{name: "version", args: []string{"--version"}, ours: true},
	{name: "version abbreviated", args: []string{"--vers"}, ours: true},
	{name: "unknown short", args: []string{"-x"}, status: 1},
	{name: "unknown in group", args: []string{"-tfx"}, status: 1},
	{name: "unknown long", args: []string{"--bogus"}, status: 1},
	{name: "ambiguous", args: []string{"--rate", "3"}, status: 1},
	{name: "ambiguous no", args: []string{"--no"}, status: 1},
	{name: "value for flag", args: []string{"--force=yes"}, status: 1},
	{name: "missing value short", args: []string{"-l"}, status: 1},
	{name: "missing value long", args: []string{"--label"}, status: 1},
	{name: "stray argument", args: []string{"foo"}, usage: true},
	{name: "stray after option", args: []string{"-t", "foo", "-f"}, usage: true},
	{name: "stray after --", args: []string{"-t", "--", "foo"}, usage: true},
	{name: "lone dash", args: []string{"-"}, usage: true},
	{name: "twice t", args: []string{"-t", "-t"}, status: 1},
	{name: "c and t", args: []string{"-c", "-t"}, status: 1},
	{name: "c then d", args: []string{"-c", "-d"}, status: 1},
	{name: "D then c", args: []string{"-D", "-c"}, status: 1},
	{name: "d and D", args: []string{"-t", "-d", "-D"}, status: 1},
	{name: "d without t", args: []string{"-d", "-f"}, status: 1},
	{name: "D without t", args: []string{"-D"}, status: 1},
	{name: "twice f", args: []string{"-f", "-f"}, status: 1},
	{name: "twice l", args: []string{"-l", "", "-l", "x"}, status: 1},
	{name: "twice i", args: []string{"-i", "", "--issuer=x"}, status: 1},
	{name: "twice q", args: []string{"-qq"}, status: 1},
	{name: "twice Q", args: []string{"-Q", "none", "-Q", "ANSI"}, status: 1},
	{name: "twice r", args: []string{"-r", "3", "-r", "4"}, status: 1},
	{name: "twice R", args: []string{"-R", "30", "-R", "40"}, status: 1},
	{name: "twice s", args: []string{"-s", "a", "-s", "b"}, status: 1},
	{name: "twice S", args: []string{"-S", "30", "-S", "30"}, status: 1},
	{name: "twice e", args: []string{"-e", "1", "-e", "2"}, status: 1},
	{name: "w and W", args: []string{"-w", "3", "-W"}, status: 1},
	{name: "twice W", args: []string{"-W", "-W"}, status: 1},
	{name: "twice u", args: []string{"-u", "-u"}, status: 1},
	{name: "u then r", args: []string{"-u", "-r", "3"}, status: 1},
	{name: "u then R", args: []string{"-u", "-R", "30"}, status: 1},
	{name: "r then u", args: []string{"-r", "3", "-u"}, status: 1},
	{name: "r without R", args: []string{"-t", "-r", "3"}, status: 1},
	{name: "R without r", args: []string{"-R", "30"}, status: 1},
	{name: "r 0", args: []string{"-r", "0"}, status: 1},
	{name: "r 11", args: []string{"-r", "11"}, status: 1},
	{name: "r trailing", args: []string{"-r", "3x"}, status: 1},
	{name: "r empty", args: []string{"-r", ""}, status: 1},
	{name: "r hex", args: []string{"-r", "0x3"}, status: 1},
	{name: "R 14", args: []string{"-R", "14"}, status: 1},
	{name: "R 601", args: []string{"-R", "601"}, status: 1},
	{name: "S 0", args: []string{"-S", "0"}, status: 1},
	{name: "S 61", args: []string{"-S", "61"}, status: 1},
	{name: "w 0", args: []string{"-w", "0"}, status: 1},
	{name: "w 22", args: []string{"-w", "22"}, status: 1},
	{name: "e -1", args: []string{"-e", "-1"}, status: 1},
	{name: "e 11", args: []string{"-e", "11"}, status: 1},
	{name: "e huge", args: []string{"-e", "99999999999999999999"}, status: 1},
	{name: "Q foo", args: []string{"-Q", "foo"}, status: 1},
	{name: "s empty", args: []string{"-s", ""}, status: 1},
	{name: "s empty long", args: []string{"--secret="}, status: 1},
	{name: "input ends", args: []string{"-t"}, status: 1},
	{name: "URI too long", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-s", "FILE", "-i", "", "-l", strings.Repeat("a", maxURI-48)}, status: 1},
	{name: "URI too long escaped", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-s", "FILE", "-i", "x", "-l", strings.Repeat("é", 600)}, status: 1},
	{name: "URI longest", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-s", "FILE", "-i", "", "-l", strings.Repeat("a", maxURI-49)}, written: true},
	{name: "URI too long quiet", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-q", "-s", "FILE", "-l", strings.Repeat("a", maxURI)}, written: true},
	{name: "URI too long no QR", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-Q", "none", "-s", "FILE", "-l", strings.Repeat("a", maxURI)}, written: true},
	{name: "non-interactive", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-s", "FILE"}, written: true},
	{name: "grouped", args: []string{"-tdfCq", "-r3", "-R", "30", "-w5", "-sFILE"}, written: true},
	{name: "long", args: []string{"--time-based", "--allow-reuse", "--force", "--no-rate-limit", "--minimal-window", "--no-confirm", "--quiet", "--secret", "FILE"}, written: true},
	{name: "abbreviated", args: []string{"--time", "--allow", "--force", "--no-rate", "--minimal", "--no-c", "--qu", "--qr=UTF8", "--secret=FILE"}, written: true},
	{name: "space before number", args: []string{"-c", "-f", "-u", "-W", "-e", " 3", "-s", "FILE"}, written: true},
	{name: "plus sign", args: []string{"-c", "-f", "-u", "-w", "+4", "-s", "FILE"}, written: true},
	{name: "S ignored for HOTP", args: []string{"-c", "-f", "-u", "-W", "-S", "60", "-s", "FILE"}, written: true},
	{name: "Q case", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-Q", "uTf8", "-s", "FILE"}, written: true},
	{name: "default file", args: []string{"-t", "-D", "-f", "-u", "-W", "-C"}, written: true},
	{name: "options after --", args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-s", "FILE", "--"}, written: true},
}

func TestArgs(t *testing.T) {
	for _, tc := range argCases {
		t.Run(tc.name, func(t *testing.T) {
			r := run1(t, invocation{args: tc.args})
			if r.status != tc.status {
				t.Errorf("google-authenticator %q: exit status %d, want %d (stderr %q)", tc.args, r.status, tc.status, r.stderr)
			}
			if got := strings.Contains(r.stdout, " -h, --help "); got != tc.usage {
				t.Errorf("google-authenticator %q: help shown = %v, want %v", tc.args, got, tc.usage)
			}
			if got := r.file != nil; got != tc.written {
				t.Errorf("google-authenticator %q: file written = %v, want %v", tc.args, got, tc.written)
			}
			if tc.status != 0 && !strings.HasPrefix(r.stderr, "google-authenticator: ") {
				t.Errorf("google-authenticator %q: stderr = %q, want a message", tc.args, r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := run1(t, invocation{args: []string{"--version"}})
	if want := "google-authenticator (otpgate) " + version + "\n"; r.stdout != want || r.status != 0 {
		t.Errorf("--version: %d %q, want 0 %q", r.status, r.stdout, want)
	}
}

func TestHome(t *testing.T) {
	args := []string{"-t", "-D", "-f", "-u", "-W", "-C"}
	for _, home := range []string{"-", "relative", "~/x"} {
		r := run1(t, invocation{args: args, home: home})
		if r.status != 1 || r.file != nil || r.stdout != "" {
			t.Errorf("HOME=%q: status %d, file %v, stdout %q; want 1, none, nothing shown", home, r.status, r.file != nil, r.stdout)
		}
	}
	// -s makes HOME irrelevant.
	if r := run1(t, invocation{args: append(args, "-s", "FILE"), home: "-"}); r.status != 0 || r.file == nil {
		t.Errorf("-s with HOME unset: status %d, file %v; want 0, written", r.status, r.file != nil)
	}
}

// TestExistingTemp checks that a left-over <path>~ stops the run without
// touching either file, as in the stock tool.
func TestExistingTemp(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "FILE")
	for _, f := range []string{file, file + "~"} {
		if err := os.WriteFile(f, []byte("old "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := runIn(t, dir, invocation{args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-q", "-s", "FILE"}})
	if r.status != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("with FILE~ present: status %d, stderr %q; want 1 and a message", r.status, r.stderr)
	}
	for _, f := range []string{file, file + "~"} {
		if b, _ := os.ReadFile(f); string(b) != "old "+f {
			t.Errorf("%s changed to %q", f, b)
		}
	}
}

// TestReplaces checks that an existing file, and a symbolic link in its
// place, are replaced (not followed), as the stock tool does.
func TestReplaces(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "FILE")); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, invocation{args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-q", "-s", "FILE"}})
	if r.status != 0 {
		t.Fatalf("status %d, stderr %q", r.status, r.stderr)
	}
	if b, _ := os.ReadFile(target); string(b) != "target\n" {
		t.Errorf("symlink target changed to %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "FILE")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("FILE is %v (%v), want a regular file", fi.Mode(), err)
	}
	// A missing directory is an error, and leaves nothing.
	r = runIn(t, dir, invocation{args: []string{"-t", "-D", "-f", "-u", "-W", "-C", "-q", "-s", filepath.Join(dir, "no", "such")}})
	if r.status != 1 {
		t.Errorf("missing directory: status %d, want 1", r.status)
	}
}

// TestCodes checks the code shown without confirmation: the current TOTP
// code at the chosen step size, and HOTP(1) for counter-based secrets.
func TestCodes(t *testing.T) {
	secretLine := regexp.MustCompile(`by hand: ([A-Z2-7]+)\n`)
	for _, tc := range []struct {
		args []string
		code func(otp.Secret) string
	}{
		{[]string{"-t", "-C"}, func(s otp.Secret) string { return otp.Key{Secret: s}.TOTP(testTime) }},
		{[]string{"-t", "-C", "-S", "7"}, func(s otp.Secret) string { return otp.Key{Secret: s, Period: 7 * time.Second}.TOTP(testTime) }},
		{[]string{"-t"}, func(s otp.Secret) string { return otp.Key{Secret: s}.TOTP(testTime) }}, // stdin not a terminal
		{[]string{"-c", "-S", "7"}, func(s otp.Secret) string { return otp.Key{Secret: s}.HOTP(1) }},
	} {
		args := append(tc.args, "-D", "-f", "-u", "-W", "-s", "FILE", "-l", "x", "-i", "y")
		if tc.args[0] == "-c" {
			args = append(tc.args, "-f", "-u", "-W", "-s", "FILE")
		}
		r := run1(t, invocation{args: args})
		m := secretLine.FindStringSubmatch(r.stdout)
		if r.status != 0 || m == nil {
			t.Fatalf("%q: status %d, output %q", args, r.status, r.stdout)
		}
		if !strings.HasPrefix(string(r.file), m[1]+"\n") {
			t.Errorf("%q: shown secret %s is not the file's", args, m[1])
		}
		sec, _ := otp.DecodeSecret(m[1])
		if want := tc.code(sec); !strings.Contains(r.stdout, " "+want+" ") && !strings.Contains(r.stdout, " "+want+".") {
			t.Errorf("%q: output does not show the code %s:\n%s", args, want, r.stdout)
		}
	}
}

// TestKeyURI checks the URI in the stock tool's form (spec §2.3): the label
// as given with its minimal escaping, no issuer parameter when empty, no
// counter; and ours, period= for a step other than 30 seconds.
func TestKeyURI(t *testing.T) {
	sec := otp.Secret("Hello world...\x00")
	for _, tc := range []struct {
		totp          bool
		period        time.Duration
		label, issuer string
		want          string
	}{
		{true, 30 * time.Second, "root@vm", "vm", "otpauth://totp/root@vm?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=vm"},
		{true, 30 * time.Second, "Al ice&b=c?d%e@x/y:z", "My Co=1&2", "otpauth://totp/Al%20ice%26b%3Dc%3Fd%25e@x/y:z?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=My%20Co%3D1%262"},
		{true, 45 * time.Second, "a+b\tc\x7f\x01é", "", "otpauth://totp/a+b%09c%7F%01%C3%A9?secret=JBSWY3DPEB3W64TMMQXC4LQA&period=45"},
		{false, 30 * time.Second, "bob", "", "otpauth://hotp/bob?secret=JBSWY3DPEB3W64TMMQXC4LQA"},
	} {
		u := keyURI(otp.Key{Secret: sec, Period: tc.period}, tc.totp, tc.label, tc.issuer)
		if got := u.Encode(); got != tc.want {
			t.Errorf("keyURI(%v, %q, %q) = %q, want %q", tc.period, tc.label, tc.issuer, got, tc.want)
		}
	}
}

func TestLeadingNumber(t *testing.T) {
	for _, tc := range []struct {
		in       string
		n        int
		negative bool
	}{
		{"123456\n", 123456, false},
		{"  050548\n", 50548, false},
		{"-1\n", 1, true},
		{"-0\n", 0, false},
		{"+42x\n", 42, false},
		{"abc\n", 0, false},
		{"\n", 0, false},
		{"99999999999999999999999\n", 1000000, false},
		{"1000000\n", 1000000, false},
		{"12 34\n", 12, false},
	} {
		if n, neg := leadingNumber(tc.in); n != tc.n || neg != tc.negative {
			t.Errorf("leadingNumber(%q) = %d, %v, want %d, %v", tc.in, n, neg, tc.n, tc.negative)
		}
	}
}

// TestScratchCodes checks the stock rule: top bit cleared, modulo 10^8,
// values below 10^7 drawn again.
func TestScratchCodes(t *testing.T) {
	random := bytes.NewReader([]byte{
		0x80, 0x00, 0x00, 0x05, // 5 after clearing the top bit: drawn again
		0xff, 0xff, 0xff, 0xff, // 2147483647 % 10^8 = 47483647
		0x00, 0x98, 0x96, 0x80, // 10000000
	})
	got, err := scratchCodes(random, 2)
	if err != nil || fmt.Sprint(got) != "[47483647 10000000]" {
		t.Errorf("scratchCodes = %v, %v; want [47483647 10000000]", got, err)
	}
	if _, err := scratchCodes(bytes.NewReader(nil), 1); err == nil {
		t.Errorf("scratchCodes(empty reader) = nil error, want one")
	}
}

// FuzzParseArgs checks that any command line gives a status and never a
// panic, and that a line accepted without questions answered by the empty
// input either writes a file or stops at a question.
func FuzzParseArgs(f *testing.F) {
	for _, tc := range argCases {
		f.Add(strings.Join(tc.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		var out bytes.Buffer
		o, e := parseArgs(args, &out)
		if e != nil {
			if e.status != 0 && e.status != 1 {
				t.Fatalf("parseArgs(%q) status %d", args, e.status)
			}
			return
		}
		if o.scratch < 0 || o.scratch > maxScratchCodes || o.windowSize < -1 || o.windowSize > maxWindow ||
			o.stepSize < 0 || o.stepSize > maxStepSize || (o.rateLimit == 0) != (o.rateTime == 0) {
			t.Fatalf("parseArgs(%q) = %+v, out of range", args, o)
		}
		if o.reuse != askReuse && o.mode != totpMode {
			t.Fatalf("parseArgs(%q) accepted -d/-D without -t", args)
		}
	})
}

// FuzzLeadingNumber checks the strtol-like reading against strconv on
// plain digit strings, and that nothing panics.
func FuzzLeadingNumber(f *testing.F) {
	for _, s := range []string{"123456\n", "-1", " +0050548x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, neg := leadingNumber(s)
		if n < 0 || n > 1000000 || (neg && n == 0) {
			t.Fatalf("leadingNumber(%q) = %d, %v", s, n, neg)
		}
	})
}

// BenchmarkProcess runs the whole command as a process, non-interactive,
// for ours (this test binary running main) and the stock tool.
func BenchmarkProcess(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, tool := range []struct{ name, path string }{{"ours", self}, {"stock", stockTool}} {
		b.Run(tool.name, func(b *testing.B) {
			testenv.LookPath(b, tool.path)
			file := filepath.Join(b.TempDir(), "ga")
			b.ReportAllocs()
			for b.Loop() {
				cmd := exec.Command(tool.path, "-t", "-d", "-f", "-r", "3", "-R", "30", "-W", "-C", "-q", "-s", file)
				cmd.Env = []string{mainEnv + "=1", "HOME=/nonexistent"}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", tool.path, err, out)
				}
			}
		})
	}
}

func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	args := []string{"-t", "-d", "-f", "-r", "3", "-R", "30", "-W", "-C", "-l", "a@b", "-i", "c", "-s", filepath.Join(dir, "f")}
	b.ReportAllocs()
	for b.Loop() {
		if s := run(args, func(string) string { return dir }, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, rand.NewChaCha8([32]byte{}), time.Now); s != 0 {
			b.Fatalf("status %d", s)
		}
	}
}
