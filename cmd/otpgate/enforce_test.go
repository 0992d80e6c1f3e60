package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnforceFileErrors: a rules file with a bad line stops the server
// before it starts, with exit status 2 and the file and line named.
func TestEnforceFileErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"not a date", "# rules\nsecond factor required for groups hpc from 2027-13-01\n", `line 2: deadline "2027-13-01" is not a date`},
		{"bad format", "second factor required for groups hpc from 01/15/2027\n", `line 1: deadline "01/15/2027" is not a date in the form YYYY-MM-DD`},
		{"no groups", "second factor required for groups hpc from 2027-01-15\nsecond factor required for groups from 2027-02-01\n", "line 2: the rule names no groups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "enforce.conf")
			os.WriteFile(file, []byte(tc.text), 0o600)
			_, _, err := runCmd(t, "serve", "-data-dir", filepath.Join(dir, "data"), "-addr", "127.0.0.1:0", "-enforce-file", file)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "enforce-file: "+file+": "+tc.want) {
				t.Errorf("serve -enforce-file (%s) = %v, want exit status 2 naming %q", tc.name, err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Errorf("serve made its data directory before refusing the rules")
			}
		})
	}
}
