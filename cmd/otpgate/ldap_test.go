package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLDAPConfigErrors: each bad LDAP setting stops otpgate before it
// starts, with exit status 2 and a message naming the flag, whichever way
// it was given (flag, environment, config file).
func TestLDAPConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "bind.password")
	open := filepath.Join(dir, "open.password")
	ca := filepath.Join(dir, "ca.pem")
	notPEM := filepath.Join(dir, "not.pem")
	for path, perm := range map[string]os.FileMode{good: 0o600, open: 0o644} {
		if err := os.WriteFile(path, []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, perm)
	}
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	_ = ca // never written: missing
	base := []string{"-data-dir", dir, "-first-factors", "ldap,local", "-ldap-url", "ldaps://ldap.example.org",
		"-ldap-base-dn", "ou=people,dc=example,dc=org"}
	tests := []struct {
		name string
		args []string
		flag string // the flag the message must name
		want string // and some words of it
	}{
		{"malformed URL", []string{"-ldap-url", "ldap//ldap.example.org"}, "ldap-url", "scheme"},
		{"URL with a DN", []string{"-ldap-url", "ldap://ldap.example.org/dc=example,dc=org"}, "ldap-url", "only scheme, host and port"},
		{"bad port", []string{"-ldap-url", "ldaps://ldap.example.org,ldaps://ldap2.example.org:99999"}, "ldap-url", "port"},
		{"http URL", []string{"-ldap-url", "http://ldap.example.org"}, "ldap-url", "scheme must be ldap or ldaps"},
		{"no URL", []string{"-ldap-url", ""}, "ldap-url", "at least one"},
		{"missing CA file", []string{"-ldap-ca-file", ca}, "ldap-ca-file", "no such file"},
		{"CA file not PEM", []string{"-ldap-ca-file", notPEM}, "ldap-ca-file", "no PEM certificate"},
		{"bind password readable by others", []string{"-ldap-bind-dn", "cn=otpgate,dc=example,dc=org", "-ldap-bind-password-file", open}, "ldap-bind-password-file", "0644"},
		{"bind password file missing", []string{"-ldap-bind-dn", "cn=otpgate,dc=example,dc=org", "-ldap-bind-password-file", filepath.Join(dir, "none")}, "ldap-bind-password-file", "no such file"},
		{"bind DN without password file", []string{"-ldap-bind-dn", "cn=otpgate,dc=example,dc=org"}, "ldap-bind-password-file", "required with -ldap-bind-dn"},
		{"password file without bind DN", []string{"-ldap-bind-password-file", good}, "ldap-bind-dn", "required with -ldap-bind-password-file"},
		{"filter without {username}", []string{"-ldap-user-filter", "(uid=alice)"}, "ldap-user-filter", "lacks {username}"},
		{"filter that does not parse", []string{"-ldap-user-filter", "(uid={username}"}, "ldap-user-filter", ""},
		{"DN template without {username}", []string{"-ldap-user-dn-template", "uid=alice,dc=example,dc=org"}, "ldap-user-dn-template", "lacks {username}"},
		{"unknown preset", []string{"-ldap-preset", "novell"}, "ldap-preset", `unknown preset "novell"`},
		{"bad base DN", []string{"-ldap-base-dn", "people"}, "ldap-base-dn", "not a DN"},
		{"no base DN", []string{"-ldap-base-dn", ""}, "ldap-base-dn", "required unless -ldap-user-dn-template"},
		{"bad attribute", []string{"-ldap-mail-attr", "mail address"}, "ldap-mail-attr", "not an attribute name"},
		{"negative timeout", []string{"-ldap-bind-timeout", "-1s"}, "ldap-bind-timeout", "negative"},
		{"negative pool", []string{"-ldap-pool-size", "-1"}, "ldap-pool-size", "negative"},
		{"unknown first factor", []string{"-first-factors", "ldap,kerberos"}, "first-factors", `unknown source "kerberos"`},
		{"first factor twice", []string{"-first-factors", "ldap,local,ldap"}, "first-factors", "twice"},
		{"pam helper not absolute", []string{"-first-factors", "pam,local", "-pam-helper", "otpgate-pam-check"}, "pam-helper", "not an absolute path"},
		{"pam service not otpgate's", []string{"-first-factors", "pam,local", "-pam-service", "sshd"}, "pam-service", "otpgate or otpgate-NAME"},
		{"pam negative timeout", []string{"-first-factors", "pam,local", "-pam-timeout", "-1s"}, "pam-timeout", "negative"},
		{"empty first factors", []string{"-first-factors", ""}, "first-factors", "empty"},
		{"ldap first factor without URL", []string{"-ldap-url", "", "-ldap-base-dn", ""}, "ldap-url", "at least one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"serve"}, base...), tc.args...)
			_, _, err := runCmd(t, args...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("run(%q) = %v, want exit status 2", args, err)
			}
			if !strings.HasPrefix(ee.msg, tc.flag+": ") && !strings.Contains(ee.msg, "; "+tc.flag+": ") || !strings.Contains(ee.msg, tc.want) {
				t.Errorf("run(%q) message = %q, want it to name %s and say %q", args, ee.msg, tc.flag, tc.want)
			}
		})
	}

	// The same through the environment (the _FILE form of the bind
	// password included) and a config file.
	t.Run("environment", func(t *testing.T) {
		env := map[string]string{"OTPGATE_DATA_DIR": dir, "OTPGATE_FIRST_FACTORS": "ldap", "OTPGATE_LDAP_URL": "ldaps://ldap.example.org",
			"OTPGATE_LDAP_BASE_DN": "dc=example,dc=org", "OTPGATE_LDAP_BIND_DN": "cn=otpgate,dc=example,dc=org",
			"OTPGATE_LDAP_BIND_PASSWORD_FILE": open}
		err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "ldap-bind-password-file: ") {
			t.Errorf("serve with OTPGATE_LDAP_BIND_PASSWORD_FILE readable by others = %v, want exit status 2 naming ldap-bind-password-file", err)
		}
	})
	t.Run("config file", func(t *testing.T) {
		conf := filepath.Join(dir, "otpgate.conf")
		os.WriteFile(conf, []byte("first-factors = ldap,local\nldap-url = ldaps://a.example.org, ldaps://b.example.org\n"+
			"ldap-base-dn = dc=example,dc=org\nldap-preset = nis\n"), 0o600)
		_, _, err := runCmd(t, "serve", "-data-dir", dir, "-config", conf)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.HasPrefix(ee.msg, "ldap-preset: ") {
			t.Errorf("serve with ldap-preset = nis in the config file = %v, want exit status 2 naming ldap-preset", err)
		}
	})
	t.Run("good settings", func(t *testing.T) {
		var c Config
		fs := newFlagSet("serve", serveUsage, &c)
		args := append(append([]string{}, base...), "-ldap-url", "ldaps://a.example.org, ldap://b.example.org:3389",
			"-ldap-starttls", "-ldap-bind-dn", "cn=otpgate,dc=example,dc=org", "-ldap-bind-password-file", good)
		if _, err := loadConfig(fs, args, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		if got := strings.Join(c.LDAP.URLs, " "); got != "ldaps://a.example.org ldap://b.example.org:3389" {
			t.Errorf("-ldap-url gave URLs %q, want both servers in order", got)
		}
	})
}

// TestLDAPReadme: the README's LDAP section names only flags that exist,
// and its example's lines are those of examples/otpgate/ldap.conf, which
// the end-to-end tests run.
func TestLDAPReadme(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## First factor: an LDAP directory\n")
	if !ok {
		t.Fatal("README has no section \"First factor: an LDAP directory\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var c Config
	fs := newFlagSet("serve", serveUsage, &c)
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("(?:`-?|\\b)(ldap-[a-z-]+|first-factors)(?: = |`)").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
		if fs.Lookup(m[1]) == nil {
			t.Errorf("README names -%s, which is no flag", m[1])
		}
	}
	for _, f := range ldapFlagNames {
		if !named[f] {
			t.Errorf("README's LDAP section does not name -%s", f)
		}
	}
	conf, err := os.ReadFile("../../examples/otpgate/ldap.conf")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(section, "```\n")
	block, _, _ = strings.Cut(block, "```")
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		if !strings.Contains(string(conf), "\n"+line+"\n") {
			t.Errorf("README's example line %q is not in examples/otpgate/ldap.conf", line)
		}
	}
}
