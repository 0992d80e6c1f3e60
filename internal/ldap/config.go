package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Placeholders in the templates of Config.
const (
	// UsernamePlaceholder stands for the typed name: escaped per RFC 4515
	// in a filter, per RFC 4514 in a DN template.
	UsernamePlaceholder = "{username}"
	// DNPlaceholder stands for the user's DN in GroupFilter, escaped per
	// RFC 4515.
	DNPlaceholder = "{dn}"
	// None turns off a search that a preset sets (GroupFilter,
	// MemberOfAttr).
	None = "none"
)

// Defaults for the zero values of Config.
const (
	DefaultPreset   = "rfc2307"
	DefaultTimeout  = 5 * time.Second
	DefaultPoolSize = 4
	DefaultBackoff  = 2 * time.Second
	// DefaultIdleTimeout is shorter than the idle limits of common
	// firewalls and of slapd's olcIdleTimeout as sites set it.
	DefaultIdleTimeout = time.Minute
)

// MaxNameLen is the longest name, in bytes, that Authenticate and Lookup
// send to the directory; a longer one is refused before any request.
const MaxNameLen = 64

// Config describes one directory. The zero value of a field means its
// default or the preset's value; Validate checks it once.
type Config struct {
	// URLs lists the servers, tried in order: ldap://host[:389] or
	// ldaps://host[:636]. A server that fails to connect is skipped for
	// Backoff. Required.
	URLs []string
	// StartTLS upgrades ldap:// connections with the StartTLS operation
	// (RFC 4511 §4.14) before any bind. Without it and without ldaps://
	// passwords cross the network in clear: keep that to loopback.
	StartTLS bool
	// CAFile is a PEM file of the certificate authorities trusted for
	// ldaps:// and StartTLS; empty means the system's roots.
	CAFile string

	// Preset fills in the schema settings below for a kind of directory:
	// "rfc2307" (default: posixAccount users, posixGroup groups with
	// memberUid), "rfc2307bis" (groupOfNames groups with member),
	// "memberof" (the user's memberOf attribute), "ad" (Active Directory)
	// or "freeipa". Each schema setting set here overrides the preset's.
	Preset string

	// BaseDN is where users are searched (subtree). Required unless
	// UserDNTemplate is set.
	BaseDN string
	// BindDN is the service account that searches users and groups; empty
	// means anonymous searches.
	BindDN string
	// BindPasswordFile holds the service account's password (one line).
	// The file must not be readable or writable by group or others.
	// Required with BindDN.
	BindPasswordFile string
	// UserDNTemplate turns on direct bind: the user's DN is this template
	// with {username} escaped per RFC 4514, for example
	// "uid={username},ou=people,dc=example,dc=org", and the user's own bind
	// reads the entry. Lookup then reads it as BindDN (or anonymously).
	UserDNTemplate string
	// UserFilter finds the user; {username} is replaced by the typed name
	// escaped per RFC 4515. It must contain {username}.
	UserFilter string

	// NameAttr holds the user's name (uid, or sAMAccountName on AD).
	NameAttr string
	// DisplayNameAttr, MailAttr: the user's display name and mail address.
	DisplayNameAttr string
	MailAttr        string
	// UniqueIDAttr is a stable identifier that survives a rename:
	// entryUUID (RFC 4530) by default, objectGUID on AD, ipaUniqueID on
	// FreeIPA. Binary values (objectGUID) are written as a GUID.
	UniqueIDAttr string

	// GroupBaseDN is where groups are searched; empty means BaseDN.
	GroupBaseDN string
	// GroupFilter finds the user's groups; {username} is the user's name
	// (as the directory spells it) and {dn} the user's DN, both escaped per
	// RFC 4515. "none" turns the search off.
	GroupFilter string
	// GroupNameAttr names a group found by GroupFilter; default cn.
	GroupNameAttr string
	// MemberOfAttr is an attribute of the user that lists the DNs of its
	// groups (memberOf); each group is named by its DN's first value.
	// When GroupBaseDN is set, DNs outside it are left out (FreeIPA lists
	// roles and HBAC rules there too). "none" turns it off.
	MemberOfAttr string

	// ConnectTimeout bounds a TCP connect and TLS handshake, BindTimeout a
	// bind, SearchTimeout a search; zero means DefaultTimeout each. A
	// context deadline that comes first wins.
	ConnectTimeout time.Duration
	BindTimeout    time.Duration
	SearchTimeout  time.Duration
	// PoolSize bounds the open connections of each of the two pools
	// (searches as the service account, users' binds); zero means
	// DefaultPoolSize.
	PoolSize int
	// Backoff is how long a server that failed to connect is tried only
	// after the others; zero means DefaultBackoff.
	Backoff time.Duration
	// IdleTimeout closes a pooled connection unused for that long rather
	// than reuse it: a firewall may have dropped it without a word, and a
	// request on it would wait for the whole timeout. Zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// preset holds the schema settings of a kind of directory.
type preset struct {
	userFilter, nameAttr, displayNameAttr, mailAttr, uniqueIDAttr string
	groupFilter, memberOfAttr                                     string
}

var presets = map[string]preset{
	// RFC 2307: posixGroup lists its members by name in memberUid.
	"rfc2307": {
		userFilter: "(&(objectClass=posixAccount)(uid={username}))",
		nameAttr:   "uid", displayNameAttr: "cn", mailAttr: "mail", uniqueIDAttr: "entryUUID",
		groupFilter: "(&(objectClass=posixGroup)(memberUid={username}))",
	},
	// rfc2307bis (draft-howard-rfc2307bis): groups list members by DN.
	"rfc2307bis": {
		userFilter: "(&(objectClass=posixAccount)(uid={username}))",
		nameAttr:   "uid", displayNameAttr: "cn", mailAttr: "mail", uniqueIDAttr: "entryUUID",
		groupFilter: "(&(objectClass=groupOfNames)(member={dn}))",
	},
	// A server that keeps memberOf on the user (OpenLDAP's memberof
	// overlay, 389 Directory Server).
	"memberof": {
		userFilter: "(&(objectClass=posixAccount)(uid={username}))",
		nameAttr:   "uid", displayNameAttr: "cn", mailAttr: "mail", uniqueIDAttr: "entryUUID",
		memberOfAttr: "memberOf",
	},
	// Active Directory: userAccountControl and accountExpires are checked
	// whatever the preset (see accountState).
	"ad": {
		userFilter: "(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))",
		nameAttr:   "sAMAccountName", displayNameAttr: "displayName", mailAttr: "mail",
		uniqueIDAttr: "objectGUID", memberOfAttr: "memberOf",
	},
	// FreeIPA: nsAccountLock is checked whatever the preset.
	"freeipa": {
		userFilter: "(&(objectClass=posixAccount)(uid={username}))",
		nameAttr:   "uid", displayNameAttr: "displayName", mailAttr: "mail",
		uniqueIDAttr: "ipaUniqueID", memberOfAttr: "memberOf",
	},
}

// settings is a validated Config with its defaults filled in.
type settings struct {
	urls           []string
	startTLS       bool
	roots          *x509.CertPool // nil: system roots
	baseDN         string
	bindDN         string
	bindPassword   string
	dnTemplate     string
	userFilter     string
	nameAttr       string
	displayAttr    string
	mailAttr       string
	uniqueIDAttr   string
	groupBaseDN    string
	groupFilter    string // "" when off
	groupNameAttr  string
	memberOfAttr   string     // "" when off
	memberOfBase   *goldap.DN // nil: every memberOf value counts
	connectTimeout time.Duration
	bindTimeout    time.Duration
	searchTimeout  time.Duration
	poolSize       int
	backoff        time.Duration
	idleTimeout    time.Duration
}

// Validate checks c as New would, without connecting: each error is a
// *ConfigError naming the setting.
func (c Config) Validate() error {
	_, err := c.settings()
	return err
}

// attrRE matches an attribute description (RFC 4512 §2.5): a name or a
// numeric OID, with options.
var attrRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)(;[A-Za-z0-9-]+)*$`)

func (c Config) settings() (settings, error) {
	name := c.Preset
	if name == "" {
		name = DefaultPreset
	}
	p, ok := presets[name]
	if !ok {
		return settings{}, configErr("Preset", "unknown preset %q (known: rfc2307, rfc2307bis, memberof, ad, freeipa)", c.Preset)
	}
	s := settings{
		startTLS:       c.StartTLS,
		baseDN:         c.BaseDN,
		bindDN:         c.BindDN,
		dnTemplate:     c.UserDNTemplate,
		userFilter:     or(c.UserFilter, p.userFilter),
		nameAttr:       or(c.NameAttr, p.nameAttr),
		displayAttr:    or(c.DisplayNameAttr, p.displayNameAttr),
		mailAttr:       or(c.MailAttr, p.mailAttr),
		uniqueIDAttr:   or(c.UniqueIDAttr, p.uniqueIDAttr),
		groupBaseDN:    or(c.GroupBaseDN, c.BaseDN),
		groupFilter:    or(c.GroupFilter, p.groupFilter),
		groupNameAttr:  or(c.GroupNameAttr, "cn"),
		memberOfAttr:   or(c.MemberOfAttr, p.memberOfAttr),
		connectTimeout: orDuration(c.ConnectTimeout, DefaultTimeout),
		bindTimeout:    orDuration(c.BindTimeout, DefaultTimeout),
		searchTimeout:  orDuration(c.SearchTimeout, DefaultTimeout),
		poolSize:       c.PoolSize,
		backoff:        orDuration(c.Backoff, DefaultBackoff),
		idleTimeout:    orDuration(c.IdleTimeout, DefaultIdleTimeout),
	}
	if s.groupFilter == None {
		s.groupFilter = ""
	}
	if s.memberOfAttr == None {
		s.memberOfAttr = ""
	}

	if len(c.URLs) == 0 {
		return settings{}, configErr("URLs", "at least one ldap:// or ldaps:// URL is required")
	}
	for _, raw := range c.URLs {
		u, err := parseServerURL(raw)
		if err != nil {
			return settings{}, configErr("URLs", "%q: %v", raw, err)
		}
		s.urls = append(s.urls, u)
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return settings{}, configErr("CAFile", "%v", err)
		}
		s.roots = x509.NewCertPool()
		if !s.roots.AppendCertsFromPEM(pem) {
			return settings{}, configErr("CAFile", "%s holds no PEM certificate", c.CAFile)
		}
	}

	if s.dnTemplate == "" && s.baseDN == "" {
		return settings{}, configErr("BaseDN", "required unless UserDNTemplate is set")
	}
	for _, dn := range []struct{ setting, value string }{
		{"BaseDN", s.baseDN}, {"BindDN", s.bindDN}, {"GroupBaseDN", s.groupBaseDN},
	} {
		if dn.value == "" {
			continue
		}
		if _, err := goldap.ParseDN(dn.value); err != nil {
			return settings{}, configErr(dn.setting, "%q is not a DN: %v", dn.value, err)
		}
	}
	if c.GroupBaseDN != "" {
		s.memberOfBase, _ = goldap.ParseDN(c.GroupBaseDN) // checked above
	}
	if s.bindDN != "" {
		pw, err := readSecretFile(c.BindPasswordFile)
		if err != nil {
			return settings{}, configErr("BindPasswordFile", "%v", err)
		}
		s.bindPassword = pw
	} else if c.BindPasswordFile != "" {
		return settings{}, configErr("BindDN", "required with BindPasswordFile")
	}
	if s.dnTemplate != "" {
		if !strings.Contains(s.dnTemplate, UsernamePlaceholder) {
			return settings{}, configErr("UserDNTemplate", "%q lacks %s", s.dnTemplate, UsernamePlaceholder)
		}
		if _, err := goldap.ParseDN(strings.ReplaceAll(s.dnTemplate, UsernamePlaceholder, "x")); err != nil {
			return settings{}, configErr("UserDNTemplate", "%q is not a DN: %v", s.dnTemplate, err)
		}
	}
	if !strings.Contains(s.userFilter, UsernamePlaceholder) {
		return settings{}, configErr("UserFilter", "%q lacks %s, so it would match every user", s.userFilter, UsernamePlaceholder)
	}
	if _, err := goldap.CompileFilter(strings.ReplaceAll(s.userFilter, UsernamePlaceholder, "x")); err != nil {
		return settings{}, configErr("UserFilter", "%q: %v", s.userFilter, err)
	}
	if s.groupFilter != "" {
		if !strings.Contains(s.groupFilter, UsernamePlaceholder) && !strings.Contains(s.groupFilter, DNPlaceholder) {
			return settings{}, configErr("GroupFilter", "%q lacks %s or %s, so it would match every group", s.groupFilter, UsernamePlaceholder, DNPlaceholder)
		}
		f := strings.NewReplacer(UsernamePlaceholder, "x", DNPlaceholder, "x").Replace(s.groupFilter)
		if _, err := goldap.CompileFilter(f); err != nil {
			return settings{}, configErr("GroupFilter", "%q: %v", s.groupFilter, err)
		}
		if s.groupBaseDN == "" {
			return settings{}, configErr("GroupBaseDN", "required with GroupFilter when BaseDN is empty")
		}
	}
	for _, a := range []struct{ setting, value string }{
		{"NameAttr", s.nameAttr}, {"DisplayNameAttr", s.displayAttr}, {"MailAttr", s.mailAttr},
		{"UniqueIDAttr", s.uniqueIDAttr}, {"GroupNameAttr", s.groupNameAttr}, {"MemberOfAttr", s.memberOfAttr},
	} {
		if a.value != "" && !attrRE.MatchString(a.value) {
			return settings{}, configErr(a.setting, "%q is not an attribute name", a.value)
		}
	}
	for _, d := range []struct {
		setting string
		value   time.Duration
	}{
		{"ConnectTimeout", c.ConnectTimeout}, {"BindTimeout", c.BindTimeout},
		{"SearchTimeout", c.SearchTimeout}, {"Backoff", c.Backoff}, {"IdleTimeout", c.IdleTimeout},
	} {
		if d.value < 0 {
			return settings{}, configErr(d.setting, "%v is negative", d.value)
		}
	}
	switch {
	case s.poolSize < 0:
		return settings{}, configErr("PoolSize", "%d is negative", s.poolSize)
	case s.poolSize == 0:
		s.poolSize = DefaultPoolSize
	}
	return s, nil
}

// parseServerURL accepts ldap://host[:port] and ldaps://host[:port], with
// an optional "/" and nothing else: a DN, attributes or filter in the URL
// (RFC 4516) would be ignored, so they are refused.
func parseServerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		return "", fmt.Errorf("scheme must be ldap or ldaps")
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("no host")
	case u.User != nil:
		return "", fmt.Errorf("user information is not allowed (use BindDN)")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("only scheme, host and port are allowed")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("bad port %q", p)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// readSecretFile reads a one-line secret from a file that only its owner
// may read: a password file readable by others is as good as published.
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("required with BindDN")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: it must not be readable or writable by group or others (chmod 600)", path, perm)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", err
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s is longer than 4096 bytes", path)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}

func (s *settings) tlsConfig(serverURL string) *tls.Config {
	u, _ := url.Parse(serverURL)
	return &tls.Config{ServerName: u.Hostname(), RootCAs: s.roots, MinVersion: tls.VersionTLS12}
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func orDuration(v, def time.Duration) time.Duration {
	if v != 0 {
		return v
	}
	return def
}
