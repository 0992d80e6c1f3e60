package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/otpgate/otpgate/internal/ldap"
)

// ldapFlagNames names the flag of each ldap.Config field, so that a
// *ldap.ConfigError (whose Setting is the field) names the flag to fix.
var ldapFlagNames = map[string]string{
	"URLs":             "ldap-url",
	"StartTLS":         "ldap-starttls",
	"CAFile":           "ldap-ca-file",
	"Preset":           "ldap-preset",
	"BaseDN":           "ldap-base-dn",
	"BindDN":           "ldap-bind-dn",
	"BindPasswordFile": "ldap-bind-password-file",
	"UserDNTemplate":   "ldap-user-dn-template",
	"UserFilter":       "ldap-user-filter",
	"NameAttr":         "ldap-name-attr",
	"DisplayNameAttr":  "ldap-display-name-attr",
	"MailAttr":         "ldap-mail-attr",
	"UniqueIDAttr":     "ldap-unique-id-attr",
	"GroupBaseDN":      "ldap-group-base-dn",
	"GroupFilter":      "ldap-group-filter",
	"GroupNameAttr":    "ldap-group-name-attr",
	"MemberOfAttr":     "ldap-member-of-attr",
	"ConnectTimeout":   "ldap-connect-timeout",
	"BindTimeout":      "ldap-bind-timeout",
	"SearchTimeout":    "ldap-search-timeout",
	"PoolSize":         "ldap-pool-size",
	"Backoff":          "ldap-backoff",
	"IdleTimeout":      "ldap-idle-timeout",
}

// ldapFlags declares the settings of the LDAP first factor on fs.
func ldapFlags(fs *flag.FlagSet, c *Config) {
	l := &c.LDAP
	fs.Func("ldap-url", "comma-separated LDAP server `URLs`, tried in order (failover): ldaps://host[:636], or ldap://host[:389] with -ldap-starttls (plain ldap:// sends passwords in clear: loopback only)", func(s string) error {
		l.URLs = nil
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				l.URLs = append(l.URLs, u)
			}
		}
		return nil
	})
	fs.BoolVar(&l.StartTLS, "ldap-starttls", false, "upgrade ldap:// connections with StartTLS before any bind")
	fs.StringVar(&l.CAFile, "ldap-ca-file", "", "PEM `file` of the CAs trusted for ldaps:// and StartTLS; empty means the system's")
	fs.StringVar(&l.Preset, "ldap-preset", ldap.DefaultPreset, "schema `preset`: rfc2307 (posixGroup, memberUid), rfc2307bis (groupOfNames, member), memberof, ad or freeipa; each -ldap-*-attr and -ldap-*-filter given overrides it")
	fs.StringVar(&l.BaseDN, "ldap-base-dn", "", "`DN` under which users are searched, e.g. ou=people,dc=example,dc=org")
	fs.StringVar(&l.GroupBaseDN, "ldap-group-base-dn", "", "`DN` under which groups are searched; empty means -ldap-base-dn")
	fs.StringVar(&l.BindDN, "ldap-bind-dn", "", "`DN` of the service account that searches users and groups; empty means anonymous searches")
	fs.StringVar(&l.BindPasswordFile, "ldap-bind-password-file", "", "`file` holding the service account's password (one line), which must not be readable or writable by group or others")
	fs.StringVar(&l.UserDNTemplate, "ldap-user-dn-template", "", "direct bind: the user's DN with {username}, e.g. uid={username},ou=people,dc=example,dc=org; empty means search-then-bind")
	fs.StringVar(&l.UserFilter, "ldap-user-filter", "", "`filter` that finds the user, with {username} (escaped per RFC 4515); empty means the preset's")
	fs.StringVar(&l.NameAttr, "ldap-name-attr", "", "`attribute` holding the user's name; empty means the preset's (uid)")
	fs.StringVar(&l.DisplayNameAttr, "ldap-display-name-attr", "", "`attribute` holding the display name; empty means the preset's (cn)")
	fs.StringVar(&l.MailAttr, "ldap-mail-attr", "", "`attribute` holding the mail address; empty means the preset's (mail)")
	fs.StringVar(&l.UniqueIDAttr, "ldap-unique-id-attr", "", "`attribute` holding an id that survives a rename; empty means the preset's (entryUUID)")
	fs.StringVar(&l.GroupFilter, "ldap-group-filter", "", "`filter` that finds the user's groups, with {username} and/or {dn}; none turns it off; empty means the preset's")
	fs.StringVar(&l.GroupNameAttr, "ldap-group-name-attr", "", "`attribute` naming a group found by -ldap-group-filter; empty means cn")
	fs.StringVar(&l.MemberOfAttr, "ldap-member-of-attr", "", "`attribute` of the user listing its groups' DNs (memberOf); none turns it off; empty means the preset's")
	fs.DurationVar(&l.ConnectTimeout, "ldap-connect-timeout", ldap.DefaultTimeout, "limit of a TCP connect and TLS handshake to a directory server")
	fs.DurationVar(&l.BindTimeout, "ldap-bind-timeout", ldap.DefaultTimeout, "limit of a bind")
	fs.DurationVar(&l.SearchTimeout, "ldap-search-timeout", ldap.DefaultTimeout, "limit of a search")
	fs.IntVar(&l.PoolSize, "ldap-pool-size", ldap.DefaultPoolSize, "open connections of each of the two pools (service searches, users' binds)")
	fs.DurationVar(&l.Backoff, "ldap-backoff", ldap.DefaultBackoff, "a server that failed to connect is tried only after the others for this long")
	fs.DurationVar(&l.IdleTimeout, "ldap-idle-timeout", ldap.DefaultIdleTimeout, "a pooled connection unused for this long is closed rather than reused")
}

// ldapConfigError names the flag of the ldap.Config field at fault.
func ldapConfigError(err error) error {
	var ce *ldap.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	name, ok := ldapFlagNames[ce.Setting]
	if !ok {
		name = "ldap " + ce.Setting
	}
	// The text may name other fields ("required with BindDN"): name their
	// flags too.
	var pairs []string
	for field, flag := range ldapFlagNames {
		pairs = append(pairs, field, "-"+flag)
	}
	return fmt.Errorf("%s: %s", name, strings.NewReplacer(pairs...).Replace(ce.Err.Error()))
}
