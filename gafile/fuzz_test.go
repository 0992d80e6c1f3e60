package gafile_test

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
)

// seedFiles returns the file contents of the scenario files.
func seedFiles(f *testing.F) [][]byte {
	f.Helper()
	paths, _ := filepath.Glob("testdata/scenarios/*.txt")
	quoted := regexp.MustCompile(`(?m)^file ("(?:[^"\\]|\\.)*")`)
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range quoted.FindAllSubmatch(data, -1) {
			s, err := strconv.Unquote(string(m[1]))
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, []byte(s))
		}
	}
	return out
}

// FuzzParse checks the file parser: what it accepts it writes back
// byte-exactly and parses again the same; an option it sets reads back,
// once, with the secret unchanged; an attempt changes the bytes only when
// it says so. Anything else must be an error, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "TIME_SKEW", "-3", "050548")
	}
	f.Fuzz(func(t *testing.T, data []byte, name, value, answer string) {
		file, err := gafile.Parse(data)
		if err != nil {
			return
		}
		if !bytes.Equal(file.Bytes(), data) {
			t.Fatalf("Parse(%q).Bytes() = %q", data, file.Bytes())
		}
		again, err := gafile.Parse(file.Bytes())
		if err != nil || !bytes.Equal(again.Secret(), file.Secret()) {
			t.Fatalf("Parse(Parse(%q).Bytes()) = %v", data, err)
		}
		for _, o := range []string{"RATE_LIMIT", "DISALLOW_REUSE", "STEP_SIZE", "HOTP_COUNTER"} {
			v1, ok1 := file.Option(o)
			v2, ok2 := again.Option(o)
			if v1 != v2 || ok1 != ok2 {
				t.Fatalf("Option(%s) = %q, %v, then %q, %v", o, v1, ok1, v2, ok2)
			}
		}

		// SetOption keeps line 1 when it ends with LF and holds no CR.
		line1, _, hasLF := strings.Cut(string(data), "\n")
		if validName(name) && !strings.ContainsAny(value, "\r\n\x00") && hasLF && !strings.Contains(line1, "\r") {
			again.SetOption(name, value)
			edited, err := gafile.Parse(again.Bytes())
			if err != nil {
				t.Fatalf("SetOption(%q, %q) on %q gave %q: %v", name, value, data, again.Bytes(), err)
			}
			if !bytes.Equal(edited.Secret(), file.Secret()) {
				t.Fatalf("SetOption(%q, %q) on %q changed the secret", name, value, data)
			}
			if got, ok := edited.Option(name); !ok || got != strings.TrimLeft(value, " \t") {
				t.Fatalf("SetOption(%q, %q) on %q: Option = %q, %v", name, value, data, got, ok)
			}
			if n := optionLines(edited.Bytes(), name); n != 1 {
				t.Fatalf("SetOption(%q, %q) on %q left %d lines for it: %q", name, value, data, n, edited.Bytes())
			}
		}

		before := bytes.Clone(file.Bytes())
		res, _ := file.Verify(answer, time.Unix(300000, 0), gafile.Options{})
		if !res.Changed && !bytes.Equal(before, file.Bytes()) {
			t.Fatalf("Verify(%q) on %q changed the file to %q without saying so", answer, before, file.Bytes())
		}
		if res.Changed {
			if _, err := gafile.Parse(file.Bytes()); err != nil && !strings.Contains(line1, "\r") && hasLF {
				t.Fatalf("Verify(%q) on %q wrote an unreadable file %q: %v", answer, before, file.Bytes(), err)
			}
		}
	})
}

// optionLines counts the lines for option name, lines being separated by
// CR and LF as the module separates them.
func optionLines(data []byte, name string) int {
	n := 0
	for _, l := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if rest, ok := strings.CutPrefix(l, "\" "+name); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			n++
		}
	}
	return n
}

// validName reports whether name is an option name as the module writes
// them: capital letters, digits and underscores.
func validName(name string) bool {
	return name != "" && strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// FuzzVerifyAnswer checks the answer parser: only an answer ending in 6
// digits, or 8 for a scratch code, is ever accepted, with a password
// before it only with ForwardPass; a refused answer changes only the rate
// limit bookkeeping, the skew bookkeeping and the HOTP counter.
func FuzzVerifyAnswer(f *testing.F) {
	const file = "2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 100 60\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n"
	for _, a := range []string{"050548", "12345678", "pw050548", "pw12345678", "", "0050548", "+50548", " 050548", "050548\n", "１２３４５６"} {
		f.Add(a, false)
		f.Add(a, true)
	}
	f.Fuzz(func(t *testing.T, answer string, forwardPass bool) {
		g, err := gafile.Parse([]byte(file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Verify(answer, time.Unix(300000, 0), gafile.Options{ForwardPass: forwardPass})
		if err != nil {
			if res.Method != gafile.None || res.Password != "" {
				t.Fatalf("Verify(%q) = %+v, %v: a refusal with a method", answer, res, err)
			}
			for _, kept := range []string{"\" DISALLOW_REUSE\n", "12345678\n"} {
				if !bytes.Contains(g.Bytes(), []byte(kept)) {
					t.Fatalf("refused Verify(%q) changed %q: %q", answer, kept, g.Bytes())
				}
			}
			return
		}
		n := 6
		if res.Method == gafile.Scratch {
			n = 8
		}
		code := answer[len(answer)-n:]
		if strings.Trim(code, "0123456789") != "" {
			t.Fatalf("Verify(%q) accepted a code that is not %d digits", answer, n)
		}
		if string(res.Password) != answer[:len(answer)-n] || !forwardPass && res.Password != "" {
			t.Fatalf("Verify(%q, forward_pass %v): password part of %d bytes", answer, forwardPass, len(res.Password))
		}
	})
}

// FuzzNew checks that what New accepts the module reads back as set:
// the secret, the mode, each option and the scratch codes.
func FuzzNew(f *testing.F) {
	f.Add([]byte("Hello world...\x00"), false, true, 60, 3, 3, 30, 84182260)
	f.Add([]byte{1}, true, false, 0, 1, 0, 0, 10000000)
	f.Fuzz(func(t *testing.T, secret []byte, hotp, reuse bool, step, window, rate, rateTime, code int) {
		s := gafile.Settings{Secret: secret, HOTP: hotp, DisallowReuse: reuse, StepSize: step,
			WindowSize: window, RateLimit: rate, RateTime: rateTime, ScratchCodes: []int{code, code}}
		file, err := gafile.New(s)
		if err != nil {
			return
		}
		back, err := gafile.Parse(file.Bytes())
		if err != nil {
			t.Fatalf("New(%+v) = %q, which does not parse: %v", s, file.Bytes(), err)
		}
		wantStep, wantWindow := cmp.Or(step, 30), cmp.Or(window, 3)
		gotStep, err1 := back.StepSize()
		gotWindow, err2 := back.WindowSize()
		_, reuseLine := back.Option("DISALLOW_REUSE")
		rateLine, _ := back.Option("RATE_LIMIT")
		wantRate := ""
		if rate != 0 {
			wantRate = strconv.Itoa(rate) + " " + strconv.Itoa(rateTime)
		}
		if !bytes.Equal(back.Secret(), secret) || back.TOTP() == hotp || (back.HOTPCounter() == 1) != hotp ||
			err1 != nil || gotStep != wantStep || err2 != nil || gotWindow != wantWindow ||
			reuseLine != reuse || rateLine != wantRate || len(back.ScratchCodes()) != 2 || back.ScratchCodes()[0] != code {
			t.Fatalf("New(%+v) = %q, which reads back otherwise", s, file.Bytes())
		}
	})
}
