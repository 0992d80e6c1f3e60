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
