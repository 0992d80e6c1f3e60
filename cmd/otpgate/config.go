package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/ldap"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pamauth"
	"github.com/otpgate/otpgate/internal/userfile"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// Config is every setting of the server and the operator's commands. Each
// comes, first found wins, from a command-line flag, an OTPGATE_* environment
// variable (OTPGATE_ADDR for -addr, OTPGATE_DATA_DIR for -data-dir...), a
// line "name = value" in the config file, or its default.
type Config struct {
	Addr       string
	DataDir    string
	BaseURL    string
	Issuer     string
	SiteName   string
	ConfigFile string
	SecretKey  string

	RequireTOTP  bool
	TOTPSkew     int
	SessionIdle  time.Duration
	SessionMax   time.Duration
	EnrolmentTTL time.Duration
	// TOTPAlgorithm, TOTPDigits and TOTPPeriod are the policy of new
	// enrolments (mfa.EnrolPolicy); MaxAuthenticators caps a user's.
	TOTPAlgorithm     string
	TOTPDigits        int
	TOTPPeriod        time.Duration
	MaxAuthenticators int
	enrol             mfa.EnrolPolicy
	// TrustFor is the longest a browser may skip the code (0: off).
	TrustFor time.Duration

	Throttles mfa.Throttles

	Argon2     mfa.Argon2Params
	HashLimits mfa.HashLimits

	LogFormat string
	LogLevel  slog.Level

	UserFile            string
	UserFilePerm        string
	UserFileStrictOwner bool
	// Forward-auth: see web.Options.
	CookieDomain    string
	TrustedProxies  string
	AccessRules     string
	SessionCacheTTL time.Duration
	// proxies and rules are TrustedProxies and AccessRules parsed by
	// Validate; rules is nil without a file.
	proxies []netip.Prefix
	rules   *access.Rules
	// DB, DBFile, DBMaxConns and DBStatementTimeout choose and tune the
	// store (see store.go).
	DB                 string
	DBFile             string
	DBMaxConns         int
	DBStatementTimeout time.Duration
	// FirstFactors lists the sources of passwords in order (-first-factors);
	// LDAP is the directory of the ldap one (-ldap-*, see ldap.go).
	FirstFactors string
	LDAP         ldap.Config
	// PAM is the PAM stack of the pam one (-pam-*, see firstfactors.go).
	PAM pamauth.Options
	// Audit is the audit log's (audit.go).
	Audit   auditSettings
	Metrics metricsSettings
	Enforce enforceSettings
	Notify  notifySettings
	OIDC    oidcSettings
}

// configFlags declares every setting on fs, with its default and help.
func configFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "`address` to listen on (host:port)")
	fs.StringVar(&c.DataDir, "data-dir", "otpgate-data", "`directory` for the SQLite database and the secret key file; created on first start (mode 0700)")
	fs.StringVar(&c.BaseURL, "base-url", "", "public `URL` of the server, e.g. https://mfa.example.org; https makes cookies Secure; empty means http://<addr>")
	fs.StringVar(&c.Issuer, "issuer", "otpgate", "issuer `name` shown in authenticator apps beside the account")
	fs.StringVar(&c.SiteName, "site-name", "", "the site's `name` in the pages' header and title; empty means the issuer")
	fs.StringVar(&c.ConfigFile, "config", "", "`file` of further settings, one \"name = value\" a line (names as these flags, # comments)")
	fs.StringVar(&c.SecretKey, "secret-key-file", "", "`file` holding the 32-byte key that encrypts TOTP secrets (64 hex digits); empty means <data-dir>/secret.key, created with mode 0600 on first start")
	fs.BoolVar(&c.RequireTOTP, "require-totp", false, "require a second factor: users without TOTP must set it up right after their password")
	fs.IntVar(&c.TOTPSkew, "totp-skew", 1, "TOTP `steps` accepted before and after the current one (clock drift)")
	fs.DurationVar(&c.SessionIdle, "session-idle", time.Hour, "a session ends after this `duration` without requests")
	fs.DurationVar(&c.SessionMax, "session-max", 12*time.Hour, "a session ends this `duration` after sign-in, however active")
	fs.DurationVar(&c.EnrolmentTTL, "enrolment-ttl", 7*24*time.Hour, "an unconfirmed TOTP setup (shown again with the same key until confirmed or cancelled) expires after this `duration`")
	fs.StringVar(&c.TOTPAlgorithm, "totp-algorithm", "SHA1", "`algorithm` of new enrolments: SHA1, SHA256 or SHA512 (each authenticator keeps its own)")
	fs.IntVar(&c.TOTPDigits, "totp-digits", 6, "`digits` of new enrolments' codes: 6 or 8")
	fs.DurationVar(&c.TOTPPeriod, "totp-period", 30*time.Second, "time step of new enrolments: 30s or 60s (`duration`)")
	fs.DurationVar(&c.TrustFor, "trust-browser-for", 0, "offer \"Don't ask for a code on this browser\" at sign-in for this `duration` at most (e.g. 720h for 30 days); 0 means never offered")
	fs.IntVar(&c.MaxAuthenticators, "max-authenticators", 5, "most authenticators a user may have (`count`, 1 to 20); each adds 3 codes valid at once")
	throttleFlags(fs, "address", "wrong passwords from one client address", &c.Throttles.Address, mfa.DefaultThrottles.Address)
	throttleFlags(fs, "account", "wrong passwords for one account, from anywhere", &c.Throttles.Account, mfa.DefaultThrottles.Account)
	throttleFlags(fs, "code", "wrong codes after the right password, per user (never reset by a success)", &c.Throttles.Code, mfa.DefaultThrottles.Code)
	throttleFlags(fs, "reauth", "wrong passwords and codes typed again in a signed-in session, per user", &c.Throttles.Reauth, mfa.DefaultThrottles.Reauth)
	fs.Func("argon2-memory", "argon2id memory per password hash in `KiB` (default 65536, 64 MiB)", uintSetter(&c.Argon2.Memory))
	fs.Func("argon2-time", "argon2id `passes` (default 3)", uintSetter(&c.Argon2.Time))
	fs.Func("argon2-threads", "argon2id `lanes` (default 4)", func(s string) error {
		var n uint32
		if err := uintSetter(&n)(s); err != nil || n > 255 {
			return errors.New("must be 1 to 255")
		}
		c.Argon2.Threads = uint8(n)
		return nil
	})
	c.Argon2 = mfa.DefaultArgon2
	fs.IntVar(&c.HashLimits.Concurrent, "hash-concurrency", mfa.DefaultHashLimits.Concurrent, "password hashes computed at once; each takes argon2-memory, so this bounds memory")
	fs.IntVar(&c.HashLimits.Queue, "hash-queue", mfa.DefaultHashLimits.Queue, "password checks that may wait for their turn; one more is answered 503 at once, so that a flood cannot make sign-ins wait for minutes")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log `format`: text or json")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "least `level` logged: debug, info, warn or error; forward-auth checks that let a request through are logged at debug (the proxy logs every request itself), refusals, sign-ins and errors at info or above")
	fs.StringVar(&c.UserFile, "user-file", "", "path `template` of users' google-authenticator files, with ${USER} and ${HOME} (from the system's accounts), e.g. /home/${USER}/.google_authenticator: users without TOTP in the store take codes from theirs; empty means off")
	fs.StringVar(&c.UserFilePerm, "user-file-perm", "0600", "permission bits a user file may have, in `octal` (module allowed_perm)")
	fs.BoolVar(&c.UserFileStrictOwner, "user-file-strict-owner", true, "a user file must be owned by its user (false: module no_strict_owner); as root, otpgate reads and writes each file as its user")
	fs.StringVar(&c.CookieDomain, "cookie-domain", "", "parent `domain` of the session cookie, e.g. example.org, so that one sign-in serves every app under it (forward-auth), and sign-in may return to those hosts (rd); empty means a cookie for this host only")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated `addresses` and CIDR prefixes of reverse proxies (e.g. 127.0.0.1/32,::1) whose X-Forwarded-*, X-Real-IP and X-Original-URL headers are read; from others they are ignored; empty trusts none")
	fs.StringVar(&c.AccessRules, "access-rules", "", "`file` of forward-auth access rules (format above); empty means \""+web.DefaultRules+"\"")
	fs.DurationVar(&c.SessionCacheTTL, "session-cache-ttl", time.Second, "how long forward-auth trusts a positive session check without asking the store; sign-out, sign-out everywhere, password and TOTP changes made through this server take effect at once, revocations made elsewhere (another instance; the user command: disable, passwd, reset-totp, set) within this `duration`; 0 disables the cache")
	dbFlags(fs, c)
	firstFactorFlags(fs, c)
	ldapFlags(fs, c)
	auditFlags(fs, &c.Audit)
	metricsFlags(fs, &c.Metrics)
	enforceFlags(fs, &c.Enforce)
	notifyFlags(fs, &c.Notify)
	oidcFlags(fs, &c.OIDC)
}

// throttleFlags declares the four flags of the throttle counters of kind,
// which count what.
func throttleFlags(fs *flag.FlagSet, kind, what string, p *mfa.ThrottlePolicy, def mfa.ThrottlePolicy) {
	*p = def
	fs.IntVar(&p.Free, "throttle-"+kind+"-free", def.Free, "failures before delays begin; counters of "+what)
	fs.DurationVar(&p.Base, "throttle-"+kind+"-base", def.Base, "first delay once the free failures are spent; each further failure doubles it")
	fs.DurationVar(&p.Max, "throttle-"+kind+"-max", def.Max, "longest delay (never a permanent lockout)")
	fs.DurationVar(&p.Forget, "throttle-"+kind+"-forget", def.Forget, "the failures are forgotten after this long without one")
}

func uintSetter(p *uint32) func(string) error {
	return func(s string) error {
		var n uint32
		if _, err := fmt.Sscan(s, &n); err != nil || n == 0 {
			return errors.New("must be a positive integer")
		}
		*p = n
		return nil
	}
}

// envName is the environment variable of a flag: OTPGATE_ and the name in
// upper case with '_' for '-'.
func envName(flagName string) string {
	return "OTPGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// loadConfig parses args, then fills every flag not given from the
// environment, then from the config file. It returns the remaining
// arguments.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), fillConfig(fs, getenv)
}

// fillConfig fills every flag of fs not given from the environment, then
// from the config file.
func fillConfig(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
			set[f.Name] = true
		}
	})
	if err != nil {
		return err
	}
	if path := fs.Lookup("config").Value.String(); path != "" {
		return readConfigFile(fs, path, set)
	}
	return nil
}

// readConfigFile sets, from "name = value" lines, the flags not set yet.
func readConfigFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || fs.Lookup(name) == nil || name == "config" {
			return fmt.Errorf("config file %s: line %d: want \"name = value\" with a setting's name", path, n)
		}
		if set[name] {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("config file %s: line %d: %s: %w", path, n, name, err)
		}
	}
	return sc.Err()
}

// Validate checks the settings once, after loading.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is empty"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("base-url %q: want an absolute http or https URL", c.BaseURL))
		}
	}
	if c.Issuer == "" || strings.Contains(c.Issuer, ":") || len(c.Issuer) > 64 {
		errs = append(errs, errors.New("issuer: 1 to 64 characters, no colon"))
	}
	if len(c.SiteName) > 64 || !utf8.ValidString(c.SiteName) || strings.ContainsFunc(c.SiteName, unicode.IsControl) {
		errs = append(errs, errors.New("site-name: up to 64 characters of text"))
	}
	alg, err := otp.ParseAlgorithm(strings.ToUpper(strings.ReplaceAll(c.TOTPAlgorithm, "-", "")))
	if err != nil {
		errs = append(errs, fmt.Errorf("totp-algorithm %q: want SHA1, SHA256 or SHA512", c.TOTPAlgorithm))
	}
	if c.TOTPDigits != 6 && c.TOTPDigits != 8 {
		errs = append(errs, fmt.Errorf("totp-digits %d: want 6 or 8", c.TOTPDigits))
	}
	if c.TOTPPeriod != 30*time.Second && c.TOTPPeriod != 60*time.Second {
		errs = append(errs, fmt.Errorf("totp-period %v: want 30s or 60s", c.TOTPPeriod))
	}
	c.enrol = mfa.EnrolPolicy{Algorithm: alg, Digits: c.TOTPDigits, Period: c.TOTPPeriod}
	if c.TrustFor < 0 || c.TrustFor > 365*24*time.Hour || c.TrustFor > 0 && c.TrustFor < 24*time.Hour {
		errs = append(errs, fmt.Errorf("trust-browser-for %v: want 0 (off) or 24h to 8760h", c.TrustFor))
	}
	if c.MaxAuthenticators < 1 || c.MaxAuthenticators > 20 {
		errs = append(errs, fmt.Errorf("max-authenticators %d: want 1 to 20", c.MaxAuthenticators))
	}
	if c.TOTPSkew < 0 || c.TOTPSkew > 10 {
		errs = append(errs, errors.New("totp-skew: 0 to 10"))
	}
	if c.SessionIdle <= 0 || c.SessionMax <= 0 || c.EnrolmentTTL <= 0 {
		errs = append(errs, errors.New("session-idle, session-max and enrolment-ttl must be positive"))
	}
	t := c.Throttles
	for _, p := range []struct {
		kind string
		p    mfa.ThrottlePolicy
	}{{"address", t.Address}, {"account", t.Account}, {"code", t.Code}, {"reauth", t.Reauth}} {
		if !p.p.Valid() {
			errs = append(errs, fmt.Errorf("throttle-%s-*: free >= 0, 0 < base <= max, forget > 0", p.kind))
		}
	}
	if c.HashLimits.Concurrent < 1 || c.HashLimits.Queue < 0 {
		errs = append(errs, errors.New("hash-concurrency: at least 1; hash-queue: at least 0"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("log-format: text or json"))
	}
	errs = append(errs, c.validateForwardAuth()...)
	if c.UserFile != "" {
		if err := userfile.ValidateTemplate(c.UserFile); err != nil {
			errs = append(errs, fmt.Errorf("user-file: %w", err))
		}
	}
	if _, err := c.userFilePerm(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateDB())
	errs = append(errs, c.validateFirstFactors()...)
	errs = append(errs, c.Audit.validate()...)
	errs = append(errs, c.Metrics.validate()...)
	errs = append(errs, c.Enforce.validate()...)
	errs = append(errs, c.Notify.validate()...)
	errs = append(errs, c.OIDC.validate()...)
	return errors.Join(errs...)
}

// userFilePerm parses -user-file-perm.
func (c *Config) userFilePerm() (uint32, error) {
	perm, err := strconv.ParseUint(c.UserFilePerm, 8, 32)
	if err != nil || perm == 0 || perm > 0o3777 {
		return 0, fmt.Errorf("user-file-perm %q: want octal permission bits, e.g. 0600", c.UserFilePerm)
	}
	return uint32(perm), nil
}

// userFiles returns the source of users' files, or nil when -user-file is
// not set.
func (c *Config) userFiles(log *slog.Logger) (*userfile.Source, error) {
	if c.UserFile == "" {
		return nil, nil
	}
	perm, err := c.userFilePerm()
	if err != nil {
		return nil, err
	}
	return userfile.New(log, userfile.Options{Template: c.UserFile, AllowedPerm: perm, NoStrictOwner: !c.UserFileStrictOwner})
}

// validateForwardAuth checks the forward-auth settings and parses the
// trusted proxies and the rules file.
func (c *Config) validateForwardAuth() []error {
	var errs []error
	d := c.CookieDomain
	if d != "" {
		if !access.ValidHostName(d) {
			errs = append(errs, fmt.Errorf("cookie-domain %q: want a lower-case DNS name such as example.org", d))
		} else if u, err := url.Parse(c.BaseURL); c.BaseURL != "" && err == nil {
			if h := strings.ToLower(u.Hostname()); h != d && !strings.HasSuffix(h, "."+d) {
				errs = append(errs, fmt.Errorf("cookie-domain %q: the base-url host %q is not under it, so browsers would refuse the cookie", d, h))
			}
		}
	}
	var err error
	if c.proxies, err = web.ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("trusted-proxies: %w", err))
	}
	if c.AccessRules != "" {
		f, err := os.Open(c.AccessRules)
		if err != nil {
			errs = append(errs, fmt.Errorf("access-rules: %w", err))
		} else {
			c.rules, err = access.Parse(c.AccessRules, io.LimitReader(f, 4<<20))
			f.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("access-rules: %w", err))
			}
		}
	}
	if c.SessionCacheTTL < 0 || c.SessionCacheTTL > time.Minute {
		errs = append(errs, errors.New("session-cache-ttl: 0 (off) to 1m"))
	}
	return errs
}

// dbPath and keyPath are the files in the data directory.
func (c *Config) dbPath() string { return filepath.Join(c.DataDir, "otpgate.db") }

func (c *Config) keyPath() string {
	if c.SecretKey != "" {
		return c.SecretKey
	}
	return filepath.Join(c.DataDir, "secret.key")
}

// baseURL is the public URL, defaulting to the listening address.
func (c *Config) baseURL(listen string) string {
	if c.BaseURL != "" {
		return strings.TrimSuffix(c.BaseURL, "/")
	}
	return "http://" + listen
}

// printSettings writes the help of every setting with its variable.
func printSettings(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s %s\n    \t%s\n    \tenv %s", f.Name, name, usage, envName(f.Name))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, "; default %s", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
