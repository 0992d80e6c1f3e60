package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestVersionAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantCode int
	}{
		{"version", []string{"version"}, "otpgate dev\n", 0},
		{"--version", []string{"--version"}, "otpgate dev\n", 0},
		{"help", []string{"help"}, "usage: otpgate <command>", 0},
		{"none", nil, "", 2},
		{"unknown", []string{"frobnicate"}, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t, tc.args...)
			code := 0
			if err != nil {
				var ee exitError
				if !errors.As(err, &ee) {
					t.Fatalf("run(%q) = %v, want an exit status", tc.args, err)
				}
				code = ee.code
			}
			if code != tc.wantCode {
				t.Errorf("run(%q) exit status = %d, want %d", tc.args, code, tc.wantCode)
			}
			if !strings.HasPrefix(out, tc.wantOut) {
				t.Errorf("run(%q) stdout = %q, want prefix %q", tc.args, out, tc.wantOut)
			}
		})
	}
}

// TestFlagMistake: a wrong flag gives exit status 2 and two lines, the
// error first and then the usage pointing to -h, not the whole help; -h
// still shows the whole help, on standard output.
func TestFlagMistake(t *testing.T) {
	tests := []struct {
		args      []string
		err, help string // the first line, and the command in the second
	}{
		{[]string{"-x"}, `unknown flag "-x"`, `"otpgate -h"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, `"otpgate -h"`},
		{[]string{"serve", "-x"}, "serve: flag provided but not defined: -x", `"otpgate serve -h"`},
		{[]string{"serve", "-totp-skew", "many"}, `serve: invalid value "many" for flag -totp-skew`, `"otpgate serve -h"`},
		{[]string{"serve", "-addr"}, "serve: flag needs an argument: -addr", `"otpgate serve -h"`},
		{[]string{"user", "add", "bob", "-x"}, "user add: flag provided but not defined: -x", `"otpgate user add -h"`},
		{[]string{"enrol", "-x"}, "enrol: flag provided but not defined: -x", `"otpgate enrol -h"`},
		{[]string{"migrate-store", "-x"}, "migrate-store: flag provided but not defined: -x", `"otpgate migrate-store -h"`},
		{[]string{"verify-file", "-x"}, "verify-file: flag provided but not defined: -x", `"otpgate verify-file -h"`},
		{[]string{"import-google-authenticator", "-x"}, "import-google-authenticator: flag provided but not defined: -x", `"otpgate import-google-authenticator -h"`},
		{[]string{"seed", "-x"}, "seed: flag provided but not defined: -x", `"otpgate seed -h"`},
		{[]string{"client", "add", "app", "-x"}, "client add: flag provided but not defined: -x", `"otpgate client add -h"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, err := runCmd(t, tc.args...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("run(%q) = %v, want exit status 2", tc.args, err)
			}
			if stdout != "" || stderr != "" {
				t.Errorf("run(%q) wrote stdout %q, stderr %q; want only the message", tc.args, stdout, stderr)
			}
			lines := strings.Split(ee.msg, "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], tc.err) ||
				!strings.HasPrefix(lines[1], "usage: otpgate ") || !strings.Contains(lines[1], tc.help) {
				t.Errorf("run(%q) message:\n%s\nwant %q, then a usage line naming %s", tc.args, ee.msg, tc.err, tc.help)
			}

			// The -h the message names shows the whole help.
			help := strings.Fields(strings.Trim(tc.help, `"`))[1:]
			stdout, _, err = runCmd(t, help...)
			if err != nil || strings.Count(stdout, "\n") < 8 || !strings.HasPrefix(stdout, "usage: otpgate") {
				t.Errorf("run(%q) = %v, stdout:\n%s\nwant the whole help", help, err, stdout)
			}
		})
	}
}
