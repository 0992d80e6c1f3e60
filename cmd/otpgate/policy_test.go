package main

import (
	"errors"
	"strings"
	"testing"
)

// TestEnrolPolicyFlags: a policy value otpgate does not enrol stops the
// server at start with an error that names the flag.
func TestEnrolPolicyFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"algorithm", []string{"-totp-algorithm", "MD5"}, `totp-algorithm "MD5": want SHA1, SHA256 or SHA512`},
		{"digits 7", []string{"-totp-digits", "7"}, "totp-digits 7: want 6 or 8"},
		{"period 0", []string{"-totp-period", "0s"}, "totp-period 0s: want 30s or 60s"},
		{"period 45s", []string{"-totp-period", "45s"}, "totp-period 45s: want 30s or 60s"},
		{"no authenticators", []string{"-max-authenticators", "0"}, "max-authenticators 0: want 1 to 20"},
		{"trust negative", []string{"-trust-browser-for", "-1h"}, "trust-browser-for -1h0m0s: want 0 (off) or 24h to 8760h"},
		{"trust two years", []string{"-trust-browser-for", "17520h"}, "trust-browser-for 17520h0m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, append([]string{"serve", "-data-dir", t.TempDir()}, tc.args...)...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(stderr+err.Error(), tc.want) {
				t.Errorf("serve %q = %v\n%s\nwant exit status 2 naming %q", tc.args, err, stderr, tc.want)
			}
		})
	}
	for _, ok := range [][]string{{"-totp-algorithm", "SHA-256"}, {"-totp-algorithm", "sha512", "-totp-digits", "8", "-totp-period", "60s"}} {
		var c Config
		fs := newFlagSet("serve", "", &c)
		if err := fs.Parse(ok); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "totp-") {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
