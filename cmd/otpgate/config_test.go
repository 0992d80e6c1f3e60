package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: any config file is read or refused with an error, never
// a panic, and what it sets passes through the flags' own parsers.
func FuzzConfigFile(f *testing.F) {
	f.Add("addr = 127.0.0.1:9000\n# comment\nrequire-totp = true\n")
	f.Add("issuer = \"My Org\"\nsession-idle = 30m\n")
	f.Add("=\n")
	f.Add("config = x\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "c.conf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var c Config
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		configFlags(fs, &c)
		if err := readConfigFile(fs, path, map[string]bool{}); err != nil {
			return
		}
		_ = c.Validate()
	})
}
