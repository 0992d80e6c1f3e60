package gafile_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/otp"
)

var update = flag.Bool("update", false, "rewrite testdata/scenarios/*.golden")

// outcomes maps the outcome words of testdata/scenarios to errors.
var outcomes = map[string]error{
	"ok":          nil,
	"wrong":       gafile.ErrWrongCode,
	"malformed":   gafile.ErrMalformedAnswer,
	"reused":      gafile.ErrReused,
	"ratelimited": gafile.ErrRateLimited,
	"skewed":      gafile.ErrSkewed,
	"unusable":    gafile.ErrUnusable,
}

// step is one directive of a scenario file.
type step struct {
	line int
	verb string
	args []string
}

// readScenario reads a scenario file: one directive a line, its arguments
// separated by spaces, Go-quoted strings allowed.
func readScenario(t *testing.T, path string) []step {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\S+`)
	var steps []step
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		var args []string
		for _, w := range word.FindAllString(l, -1) {
			if w[0] == '"' {
				u, err := strconv.Unquote(w)
				if err != nil {
					t.Fatalf("%s:%d: %v", path, n, err)
				}
				w = u
			}
			args = append(args, w)
		}
		steps = append(steps, step{n, args[0], args[1:]})
	}
	return steps
}

// moduleOptions turns module arguments into Options.
func moduleOptions(t *testing.T, args []string) gafile.Options {
	t.Helper()
	opts := gafile.Options{UID: os.Getuid()}
	for _, a := range args {
		name, val, _ := strings.Cut(a, "=")
		switch name {
		case "forward_pass":
			opts.ForwardPass = true
		case "noskewadj":
			opts.NoSkewAdj = true
		case "no_increment_hotp":
			opts.NoIncrementHOTP = true
		case "allow_readonly":
			opts.AllowReadonly = true
		case "grace_period":
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatal(err)
			}
			opts.GracePeriod = time.Duration(n) * time.Second
		case "rhost":
			opts.RemoteHost = val
		default:
			t.Fatalf("unknown module argument %q", a)
		}
	}
	return opts
}

// expandAnswer replaces each {N} with the HOTP code for counter N of the
// secret on line 1 of content.
func expandAnswer(t *testing.T, answer string, content []byte) string {
	t.Helper()
	return regexp.MustCompile(`\{\d+\}`).ReplaceAllStringFunc(answer, func(m string) string {
		n, _ := strconv.ParseUint(m[1:len(m)-1], 10, 64)
		f, err := gafile.Parse(content)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Secret()
		return otp.Key{Secret: s}.HOTP(n)
	})
}

// TestScenarios runs testdata/scenarios/*.txt (spec §6 among them) through
// File.Verify in memory and through VerifyFile on disk, and checks both
// give the expected outcome and the same bytes. The file after every
// attempt goes into a transcript, compared with NAME.golden (rewritten with
// -update); the differential test in cmd/otpgate requires the stock module
// to produce the same transcript.
func TestScenarios(t *testing.T) {
	paths, _ := filepath.Glob("testdata/scenarios/*.txt")
	if len(paths) == 0 {
		t.Fatal("no scenarios")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			runScenario(t, path)
		})
	}
}

func runScenario(t *testing.T, path string) {
	var transcript bytes.Buffer
	var content []byte
	var opts gafile.Options = moduleOptions(t, nil)
	disk := filepath.Join(t.TempDir(), "ga")
	writeDisk := func() {
		os.Remove(disk)
		if err := os.WriteFile(disk, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range readScenario(t, path) {
		where := fmt.Sprintf("%s:%d", path, s.line)
		switch s.verb {
		case "file":
			content = []byte(s.args[0])
			writeDisk()
		case "append":
			content = append(content, s.args[0]...)
			writeDisk()
		case "sub":
			if !bytes.Contains(content, []byte(s.args[0])) {
				t.Fatalf("%s: %q not in the file", where, s.args[0])
			}
			content = bytes.Replace(content, []byte(s.args[0]), []byte(s.args[1]), 1)
			writeDisk()
		case "opts":
			opts = moduleOptions(t, s.args)
		case "try":
			unix, err := strconv.ParseInt(s.args[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			now := time.Unix(unix, 0)
			answer := expandAnswer(t, s.args[1], content)
			want, ok := outcomes[s.args[2]]
			if !ok {
				t.Fatalf("%s: unknown outcome %q", where, s.args[2])
			}
			f, err := gafile.Parse(content)
			var res gafile.Result
			if err == nil {
				res, err = f.Verify(answer, now, opts)
				if res.Changed {
					content = bytes.Clone(f.Bytes())
				}
			}
			if !errors.Is(err, want) || want == nil && err != nil {
				t.Errorf("%s: Verify(%q) = %v, want %s", where, s.args[1], err, s.args[2])
			}
			dres, derr := gafile.VerifyFile(context.Background(), disk, answer, now, opts)
			if errors.Is(err, want) != errors.Is(derr, want) || (err == nil) != (derr == nil) || dres.Method != res.Method {
				t.Errorf("%s: VerifyFile(%q) = %v, %v; Verify gave %v, %v", where, s.args[1], dres.Method, derr, res.Method, err)
			}
			if got, _ := os.ReadFile(disk); !bytes.Equal(got, content) {
				t.Errorf("%s: file on disk after VerifyFile:\n%q\nafter Verify:\n%q", where, got, content)
			}
			verdict := "accepted"
			if err != nil {
				verdict = "refused"
			}
			fmt.Fprintf(&transcript, "line %d %s\n%s\n", s.line, verdict, strconv.Quote(string(content)))
		case "option", "no-option":
			f, err := gafile.Parse(content)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			got, ok := f.Option(s.args[0])
			if s.verb == "no-option" && ok {
				t.Errorf("%s: Option(%s) = %q, want no line", where, s.args[0], got)
			}
			if s.verb == "option" && (!ok || got != s.args[1]) {
				t.Errorf("%s: Option(%s) = %q, %v, want %q\nfile:\n%s", where, s.args[0], got, ok, s.args[1], content)
			}
		case "content":
			if string(content) != s.args[0] {
				t.Errorf("%s: file =\n%q\nwant\n%q", where, content, s.args[0])
			}
		default:
			t.Fatalf("%s: unknown directive %q", where, s.verb)
		}
	}
	golden := strings.TrimSuffix(path, ".txt") + ".golden"
	if *update {
		if err := os.WriteFile(golden, transcript.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(transcript.Bytes(), want) {
		t.Errorf("transcript differs from %s (go test -update rewrites it):\n%s", golden, transcript.Bytes())
	}
}
