package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// stockTool is Google's command from Debian's libpam-google-authenticator.
const stockTool = "/usr/bin/google-authenticator"

// combo is a non-interactive command line that decides every line of the
// file, and what it says about the secret's codes.
type combo struct {
	args []string
	totp bool
	step int // seconds; 30 unless -S with -t
}

// fileCombos returns command lines for every combination of the options
// that change the file: mode, reuse (time-based), step size, window, rate
// limit, and a spread of scratch code counts.
func fileCombos() []combo {
	var out []combo
	scratch := [][]string{nil, {"-e", "0"}, {"-e", "1"}, {"-e", "10"}}
	add := func(totp bool, step int, parts ...[]string) {
		args := []string{"-f", "-C"}
		for _, p := range parts {
			args = append(args, p...)
		}
		args = append(args, scratch[len(out)%len(scratch)]...)
		out = append(out, combo{args: args, totp: totp, step: step})
	}
	rates := [][]string{{"-u"}, {"-r", "3", "-R", "30"}, {"-r", "10", "-R", "600"}}
	for _, reuse := range []string{"-d", "-D"} {
		for _, s := range []int{0, 60, 1} {
			step, stepArgs := 30, []string(nil)
			if s != 0 {
				step, stepArgs = s, []string{"-S", fmt.Sprint(s)}
			}
			for _, window := range [][]string{{"-W"}, {"-w", "1"}, {"-w", "17"}} {
				for _, rate := range rates {
					add(true, step, []string{"-t", reuse}, stepArgs, window, rate)
				}
			}
		}
	}
	for _, stepArgs := range [][]string{nil, {"-S", "60"}} {
		for _, window := range [][]string{{"-W"}, {"-w", "5"}, {"-w", "21"}} {
			for _, rate := range rates {
				add(false, 30, []string{"-c"}, stepArgs, window, rate)
			}
		}
	}
	return out
}

// stock runs the stock tool in dir, as runIn runs ours.
func stock(t testing.TB, dir string, inv invocation) result {
	t.Helper()
	bin := testenv.LookPath(t, stockTool)
	file := filepath.Join(dir, "FILE")
	args := make([]string, len(inv.args))
	for i, a := range inv.args {
		args[i] = strings.ReplaceAll(a, "FILE", file)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader(inv.stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	r := result{stdout: out.String(), stderr: errOut.String()}
	switch {
	case errors.As(err, &ee):
		r.status = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", bin, err)
	}
	for _, f := range []string{file, filepath.Join(dir, defaultFile)} {
		if b, err := os.ReadFile(f); err == nil {
			r.file = b
		}
	}
	return r
}

var scratchLine = regexp.MustCompile(`(?m)^[0-9]{8}$`)

// shape is a file with its random parts replaced: the secret line and the
// scratch codes. The stock tool's and ours must have the same shape.
func shape(file []byte) string {
	if file == nil {
		return "(no file)"
	}
	s := string(file)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = "SECRET" + s[i:]
	}
	return scratchLine.ReplaceAllString(s, "SCRATCH")
}

// TestStockArgs runs every command line of argCases through the stock tool
// too: the same exit status, help shown or not, file written or not.
func TestStockArgs(t *testing.T) {
	testenv.LookPath(t, stockTool)
	for _, tc := range argCases {
		if tc.ours {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			inv := invocation{args: tc.args}
			s, o := stock(t, t.TempDir(), inv), run1(t, inv)
			if s.status != o.status {
				t.Errorf("%q: exit status %d, stock %d (stock stderr %q)", tc.args, o.status, s.status, s.stderr)
			}
			sUsage, oUsage := strings.Contains(s.stdout, " -h, --help "), strings.Contains(o.stdout, " -h, --help ")
			if sUsage != oUsage {
				t.Errorf("%q: help shown %v, stock %v", tc.args, oUsage, sUsage)
			}
			if shape(s.file) != shape(o.file) {
				t.Errorf("%q: file\n%s\nstock\n%s", tc.args, shape(o.file), shape(s.file))
			}
		})
	}
}

// TestStockFiles compares the files of every option combination that
// changes the file: same lines in the same order, only the secret and the
// scratch codes differ.
func TestStockFiles(t *testing.T) {
	testenv.LookPath(t, stockTool)
	for i, c := range fileCombos() {
		args := append(c.args, "-Q", "NONE", "-s", "FILE")
		if i%2 == 0 {
			args = append(args, "-q")
		}
		inv := invocation{args: args, seed: uint64(i)}
		s, o := stock(t, t.TempDir(), inv), run1(t, inv)
		if s.status != 0 || o.status != 0 {
			t.Errorf("%q: exit status %d, stock %d (%q, stock %q)", args, o.status, s.status, o.stderr, s.stderr)
			continue
		}
		if shape(s.file) != shape(o.file) {
			t.Errorf("%q: file\n%s\nstock\n%s", args, shape(o.file), shape(s.file))
		}
	}
}

// TestStockAnswers feeds the same answers to both tools for every way
// through the questions. Both get -C: the stock tool would take an answer
// as the confirmation code (ours asks for one only on a terminal).
func TestStockAnswers(t *testing.T) {
	testenv.LookPath(t, stockTool)
	var streams []string
	for _, update := range []string{"y", "n"} {
		for _, reuse := range []string{"y", "n"} {
			for _, window := range []string{"Y", "N"} {
				for _, rate := range []string{"yes", "no"} {
					streams = append(streams,
						"y\n"+update+"\n"+reuse+"\n"+window+"\n"+rate+"\n", // time-based
						"n\n"+update+"\n"+window+"\n"+rate+"\n")            // counter-based
				}
			}
		}
	}
	streams = append(streams,
		"maybe\n\ny\nx\ny\n-1\nn\n123456\ny\nn\n", // other answers repeat the question
		"y\ny\ny",           // the last answer without a newline, then the end
		"y\ny\n", "y\n", "", // the end of the input at each question
	)
	for _, extra := range [][]string{nil, {"-t", "-d"}, {"-c", "-W"}, {"-u", "-S", "20"}} {
		for i, in := range streams {
			args := append([]string{"-C", "-l", "x@y", "-i", "y"}, extra...)
			inv := invocation{args: args, stdin: in, seed: uint64(i)}
			s, o := stock(t, t.TempDir(), inv), run1(t, inv)
			if s.status != o.status || shape(s.file) != shape(o.file) {
				t.Errorf("%q with answers %q: status %d, file\n%s\nstock: status %d, file\n%s", args, in, o.status, shape(o.file), s.status, shape(s.file))
			}
		}
	}
}

// TestStockPipedAnswers checks the user guide's answers, piped with no
// options: ours writes the file that the stock tool writes for the same
// answers once its confirmation is out of the way (-C), while the stock
// tool itself takes the answers as codes and ends without a file.
func TestStockPipedAnswers(t *testing.T) {
	testenv.LookPath(t, stockTool)
	in := "y\ny\ny\nn\ny\n"
	o := run1(t, invocation{stdin: in})
	s := stock(t, t.TempDir(), invocation{args: []string{"-C"}, stdin: in})
	if o.status != 0 || s.status != 0 || shape(o.file) != shape(s.file) {
		t.Errorf("answers %q: status %d, file\n%s\nstock -C: status %d, file\n%s", in, o.status, shape(o.file), s.status, shape(s.file))
	}
	if want := "SECRET\n\" RATE_LIMIT 3 30\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n" + strings.Repeat("SCRATCH\n", 5); shape(o.file) != want {
		t.Errorf("answers %q: file\n%s\nwant\n%s", in, shape(o.file), want)
	}
	if s := stock(t, t.TempDir(), invocation{stdin: in}); s.status != 1 || s.file != nil {
		t.Errorf("stock tool with answers %q: status %d, file %v; the stock tool was expected to read them as codes and fail", in, s.status, s.file != nil)
	}
}
