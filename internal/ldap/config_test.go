package ldap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	open := filepath.Join(dir, "open")
	groupReadable := filepath.Join(dir, "group")
	empty := filepath.Join(dir, "empty")
	notPEM := filepath.Join(dir, "not.pem")
	for path, mode := range map[string]os.FileMode{secret: 0o600, open: 0o644, groupReadable: 0o640, empty: 0o600, notPEM: 0o644} {
		text := "pw\n"
		if path == empty {
			text = "\n"
		}
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	good := Config{
		URLs:             []string{"ldaps://ldap1.example.org", "ldap://ldap2.example.org:389"},
		StartTLS:         true,
		BaseDN:           "ou=people,dc=example,dc=org",
		BindDN:           "cn=otpgate,dc=example,dc=org",
		BindPasswordFile: secret,
	}
	tests := []struct {
		name    string
		change  func(*Config)
		setting string // "" means valid
		text    string // in the message
	}{
		{"valid", func(*Config) {}, "", ""},
		{"every preset", nil, "", ""}, // see below
		{"direct bind without BaseDN", func(c *Config) {
			c.BaseDN, c.UserDNTemplate = "", "uid={username},ou=people,dc=example,dc=org"
			c.GroupFilter = None
		}, "", ""},
		{"AD nested groups (extensible match)", func(c *Config) {
			c.Preset, c.GroupFilter = "ad", "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))"
		}, "", ""},
		{"anonymous search", func(c *Config) { c.BindDN, c.BindPasswordFile = "", "" }, "", ""},
		{"no URL", func(c *Config) { c.URLs = nil }, "URLs", "required"},
		{"malformed URL", func(c *Config) { c.URLs = []string{"ldap://ldap1.example.org", "ldap//x"} }, "URLs", "ldap//x"},
		{"http URL", func(c *Config) { c.URLs = []string{"http://ldap.example.org"} }, "URLs", "scheme"},
		{"URL without host", func(c *Config) { c.URLs = []string{"ldap://"} }, "URLs", "no host"},
		{"URL with DN", func(c *Config) { c.URLs = []string{"ldap://h/dc=example,dc=org"} }, "URLs", "only scheme"},
		{"URL with bad port", func(c *Config) { c.URLs = []string{"ldap://h:99999"} }, "URLs", "port"},
		{"URL with user", func(c *Config) { c.URLs = []string{"ldap://u:p@h"} }, "URLs", "user"},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(dir, "nope.pem") }, "CAFile", "no such file"},
		{"CA file without PEM", func(c *Config) { c.CAFile = notPEM }, "CAFile", "no PEM"},
		{"password file readable by others", func(c *Config) { c.BindPasswordFile = open }, "BindPasswordFile", "0644"},
		{"password file readable by group", func(c *Config) { c.BindPasswordFile = groupReadable }, "BindPasswordFile", "0640"},
		{"password file missing", func(c *Config) { c.BindPasswordFile = filepath.Join(dir, "nope") }, "BindPasswordFile", "no such file"},
		{"password file empty", func(c *Config) { c.BindPasswordFile = empty }, "BindPasswordFile", "empty"},
		{"BindDN without password file", func(c *Config) { c.BindPasswordFile = "" }, "BindPasswordFile", "required"},
		{"password file without BindDN", func(c *Config) { c.BindDN = "" }, "BindDN", "required"},
		{"filter without {username}", func(c *Config) { c.UserFilter = "(objectClass=posixAccount)" }, "UserFilter", "{username}"},
		{"malformed filter", func(c *Config) { c.UserFilter = "(&(uid={username})" }, "UserFilter", ""},
		{"group filter without placeholder", func(c *Config) { c.GroupFilter = "(objectClass=posixGroup)" }, "GroupFilter", "{dn}"},
		{"malformed group filter", func(c *Config) { c.GroupFilter = "(member={dn}" }, "GroupFilter", ""},
		{"unknown preset", func(c *Config) { c.Preset = "openldap" }, "Preset", `"openldap"`},
		{"no BaseDN", func(c *Config) { c.BaseDN = "" }, "BaseDN", "required"},
		{"malformed BaseDN", func(c *Config) { c.BaseDN = "example.org" }, "BaseDN", "not a DN"},
		{"malformed BindDN", func(c *Config) { c.BindDN = "otpgate" }, "BindDN", "not a DN"},
		{"DN template without {username}", func(c *Config) { c.UserDNTemplate = "uid=x,dc=example,dc=org" }, "UserDNTemplate", "{username}"},
		{"malformed DN template", func(c *Config) { c.UserDNTemplate = "{username}" }, "UserDNTemplate", "not a DN"},
		{"bad attribute", func(c *Config) { c.MailAttr = "mail)(x" }, "MailAttr", "attribute"},
		{"negative timeout", func(c *Config) { c.SearchTimeout = -1 }, "SearchTimeout", "negative"},
		{"negative pool", func(c *Config) { c.PoolSize = -1 }, "PoolSize", "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change == nil {
				for name := range presets {
					c := good
					c.Preset = name
					if err := c.Validate(); err != nil {
						t.Errorf("preset %s: Validate() = %v, want nil", name, err)
					}
				}
				return
			}
			c := good
			tc.change(&c)
			err := c.Validate()
			if tc.setting == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError for %s", err, tc.setting)
			}
			if ce.Setting != tc.setting {
				t.Errorf("Validate() names %s (%v), want %s", ce.Setting, err, tc.setting)
			}
			if !strings.Contains(err.Error(), tc.setting) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Validate() = %q, want it to name %s and say %q", err, tc.setting, tc.text)
			}
			if strings.Contains(err.Error(), "pw") && tc.setting == "BindPasswordFile" {
				t.Errorf("Validate() = %q shows the password", err)
			}
		})
	}
}

func TestConfigPresetOverride(t *testing.T) {
	c := Config{URLs: []string{"ldap://h"}, BaseDN: "dc=example,dc=org", Preset: "ad", UniqueIDAttr: "employeeID", MemberOfAttr: None}
	s, err := c.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.nameAttr != "sAMAccountName" || s.uniqueIDAttr != "employeeID" || s.memberOfAttr != "" {
		t.Errorf("settings() = name %q, unique id %q, memberOf %q; want sAMAccountName, employeeID, off", s.nameAttr, s.uniqueIDAttr, s.memberOfAttr)
	}
	if s.poolSize != DefaultPoolSize || s.bindTimeout != DefaultTimeout || s.groupNameAttr != "cn" {
		t.Errorf("settings() = pool %d, bind timeout %v, group name %q; want the defaults", s.poolSize, s.bindTimeout, s.groupNameAttr)
	}
}
