package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

const serveUsage = `usage: otpgate serve [flags]

Runs the otpgate server: sign-in pages, Personal settings → Security → TOTP
setup, the JSON API POST /api/v1/verify and /healthz. On first start it
creates the data directory, the SQLite database and the secret key file, and
prints a one-time link where the first administrator chooses a password.
With -db postgres://... (or -db-file) any number of instances share one
PostgreSQL database; all must use the same -secret-key-file.
SIGINT or SIGTERM stops it after the requests in flight. POST /api/v1/enrol
and /api/v1/enrol/confirm serve the terminal command "otpgate enrol".

With -user-file, a user without TOTP in the store takes codes from their
google-authenticator state file, checked and updated with the stock PAM
module's rules (rate limit, reuse, scratch codes, skew), so that the module
and otpgate share it; a user without a file signs in with the password alone
unless -require-totp. As root, otpgate reads and writes each file as its
user, who must own it (-user-file-strict-owner); an unusable file fails the
sign-in.

First factors: -first-factors lists the sources that check passwords, in
order: local (otpgate's own argon2id passwords) and ldap (the directory of
the -ldap-* settings); the first that knows the name decides, so that with
ldap,local the local passwords serve the names the directory does not know.
A directory user gets a record at the first sign-in, to set up TOTP. A
directory that does not answer gives its users 503 within the -ldap-*-timeout
settings, and /healthz names it. "otpgate ldap check USER" shows each step of
a directory sign-in.

Forward-auth: a reverse proxy asks GET /auth/nginx (nginx auth_request:
401 without a session) or /auth/redirect (Caddy forward_auth, Traefik
forwardAuth: 302 to the login page) about the original URL, which it sends
in X-Original-URL or X-Forwarded-Proto/-Host/-Uri, with the port it
received the request on in X-Forwarded-Port (read only from
-trusted-proxies). 200 carries Remote-User, Remote-Name and Remote-Groups;
403 means signed in but not allowed, or a path that backends read in
different ways. The -access-rules file has one rule a line; the first
whose host and path match decides, no match denies:

  # comment
  host notebook.example.org  path /         groups hpc,staff  second-factor required
  host wiki.example.org      path /private  deny
  host wiki.example.org:8443                users alice,bob
  host *.example.org                        users *           second-factor optional

  host    a name, name:port (the port from X-Forwarded-Port, never Host),
          *.domain (hosts under it) or * (any host)
  path    prefix on whole segments (/lab matches /lab/x, not /labs); default /.
          A path passes only as sent and as lenient apps read it, so
          path /private deny refuses /PRIVATE, /private;x and /private. too
  case    sensitive (default) or insensitive: the app ignores case, so
          /PUBLIC passes a path /public rule
  users   comma-separated user names, or * for every signed-in user
  groups  comma-separated group names (otpgate user set NAME --groups ...)
  deny    instead of users/groups: refuse everyone
  second-factor  required (default) or optional: a user without a second
          factor passes with the password alone; one who has it must pass it

OpenID Connect: the server is an OpenID provider whose issuer is the base
URL (discovery at BASE/.well-known/openid-configuration; endpoints under
/oidc/): the code flow with PKCE S256, client_secret_basic and _post,
refresh tokens with offline_access (rotated; one used twice revokes its
family), userinfo, RP-initiated and back-channel logout. Applications are
registered with "otpgate client add"; the signing keys (RS256 and ES256,
made on the first start, sealed with the secret key, in the store) are
rotated with "otpgate keys rotate". The -oidc-* settings set the lifetimes.

Settings (flag, environment variable, or "name = value" in the -config file;
first found wins):
`

// newFlagSet returns the flag set of a command with every setting.
func newFlagSet(name, usage string, c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	configFlags(fs, c)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		printSettings(fs.Output(), fs)
	}
	return fs
}

// parseConfig loads and checks the settings of a command.
func parseConfig(fs *flag.FlagSet, c *Config, e env) ([]string, error) {
	if err := parseFlags(fs, e.args, e); err != nil {
		return nil, err
	}
	if err := fillConfig(fs, e.getenv); err != nil {
		return nil, exitError{code: 2, msg: err.Error()}
	}
	if err := c.Validate(); err != nil {
		return nil, exitError{code: 2, msg: strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return fs.Args(), nil
}

// parseWithNames parses args, in which flags may come before, between and
// after names, and returns the names.
func parseWithNames(fs *flag.FlagSet, c *Config, e env, args []string) ([]string, error) {
	var names []string
	for {
		e.args = args
		rest, err := parseConfig(fs, c, e)
		if err != nil {
			return nil, err
		}
		if len(rest) == 0 {
			return names, nil
		}
		names, args = append(names, rest[0]), rest[1:]
	}
}

// newLogger logs to w in the configured format, from the configured level.
func (c *Config) newLogger(w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// openService opens the store (-db; by default SQLite in the data
// directory) and the key file (creating both when missing), checks that
// the key opens the store's secrets, and builds the service on them, with
// the local passwords as the only first factor (the operator's commands).
func openService(ctx context.Context, c *Config, log *slog.Logger) (*mfa.Service, mfa.Store, error) {
	return openServiceWith(ctx, c, log, nil)
}

// openServiceWith is openService with the first factors ffs, in order
// (nil: the local passwords alone).
func openServiceWith(ctx context.Context, c *Config, log *slog.Logger, ffs []mfa.FirstFactor) (*mfa.Service, mfa.Store, error) {
	if err := privateDir(c.DataDir); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	key, err := loadOrCreateKey(c.keyPath())
	if err != nil {
		return nil, nil, err
	}
	cipher, err := mfa.NewCipher(key, rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	store, spec, err := openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if err := mfa.CheckKey(ctx, store, cipher); err != nil {
		store.Close()
		if errors.Is(err, mfa.ErrWrongKey) {
			return nil, nil, fmt.Errorf("secret key file %s: %w (store %s)", c.keyPath(), err, spec)
		}
		return nil, nil, err
	}
	// The OpenID provider's records are in the same store (not observed
	// by the metrics).
	oidcRun := c.OIDC.start(store, cipher, log, c.baseURL(c.Addr))
	store = c.Metrics.wrap(store, &c.Audit)
	deps := mfa.Deps{Store: store, Hasher: mfa.NewHasher(c.Argon2, rand.Reader, c.HashLimits),
		Cipher: cipher, Rand: rand.Reader, Now: time.Now, Events: c.Notify.events(log, c.Issuer, logEvent(log)), Audit: c.Audit.start(store, log),
		FirstFactors: ffs, SessionEnded: oidcRun.sessionEnded}
	files, err := c.userFiles(log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if files != nil {
		deps.Files = files
		if os.Geteuid() != 0 && c.UserFileStrictOwner {
			log.Warn("user files: not running as root, so only files owned by this account can be used (see -user-file-strict-owner)")
		}
	}
	svc := mfa.NewService(deps, mfa.Options{
		Issuer: c.Issuer, Window: otp.Skew(c.TOTPSkew), Throttles: c.Throttles, RequireSecondFactor: c.RequireTOTP, Enforce: c.Enforce.rules,
		SessionIdle: c.SessionIdle, SessionMax: c.SessionMax, EnrolmentTTL: c.EnrolmentTTL,
		Enrol: c.enrol, MaxAuthenticators: c.MaxAuthenticators, TrustFor: c.TrustFor})
	oidcRun.svc = svc
	c.Audit.coverage = svc.EnforcedCoverage
	return svc, store, nil
}

// logEvent logs each change to an account's factors, one line each with
// the stable keys event, user and client_addr, for the operator (and, with
// the notifications to come, for the account's owner).
func logEvent(log *slog.Logger) func(context.Context, mfa.Event) {
	return func(ctx context.Context, e mfa.Event) {
		attrs := []any{"event", e.Kind.String(), "user", e.User.Name}
		if e.Addr != "" {
			attrs = append(attrs, "client_addr", e.Addr)
		}
		log.InfoContext(ctx, "account change", attrs...)
	}
}

// privateDir creates dir with mode 0700, or gives an existing one that
// mode: it holds the database and the secret key, and a directory made
// beforehand (by mkdir or a package, mode 0755) would let others list it
// and open files that are briefly or wrongly readable. A directory owned by
// another user is refused: its owner could change it back.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this user (uid %d): run otpgate as its owner", dir, sys.Uid, os.Geteuid())
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// loadOrCreateKey reads the secret key file, or creates it (mode 0600,
// written to a temporary file and linked into place, so that a crash
// leaves no torn key and two starts cannot make two keys).
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, mfa.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret key: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%s\n", hex.EncodeToString(key))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path) // another process won the race
		}
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}

// readKey reads a key file, refusing one that others can read.
func readKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s: mode %v, want 0600 (owner only)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != mfa.KeySize {
		return nil, fmt.Errorf("secret key file %s: want %d hex digits", path, 2*mfa.KeySize)
	}
	return key, nil
}

func runServe(ctx context.Context, e env) error {
	var c Config
	fs := newFlagSet("serve", serveUsage, &c)
	args, err := parseConfig(fs, &c, e)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("serve: unexpected argument %q", args[0])}
	}
	lw := newLogWriter(e.stderr)
	defer lw.Close()
	log := c.newLogger(lw)
	// The OpenID provider's library logs its refusals to the default
	// logger: into this log, not as lines of another format.
	slog.SetDefault(log)
	c.Audit.failures = lw
	c.Notify.on = true
	defer c.Notify.close()
	ffs, closeFFs, err := c.firstFactors(log)
	if err != nil {
		return err
	}
	defer closeFFs()
	if len(c.LDAP.URLs) > 0 && !strings.Contains(","+c.FirstFactors+",", ","+factorLDAP+",") {
		log.Warn("ldap-url is set but first-factors does not list ldap: the directory is not asked", "first_factors", c.FirstFactors)
	}
	svc, store, err := openServiceWith(ctx, &c, log, ffs)
	if err != nil {
		return err
	}
	defer store.Close()
	defer c.Audit.close()
	// A stored rule that cannot be read stops the server here, not at a
	// sign-in.
	rules, err := svc.Enforcement(ctx)
	if err != nil {
		return fmt.Errorf("enforcement rules: %w", err)
	}
	if n := len(rules.Rules()); n > 0 {
		stored := 0
		for _, r := range rules.Rules() {
			if r.ID != 0 {
				stored++
			}
		}
		log.Info("second factor required by group", "rules_from_file", n-stored, "rules_from_admin_pages", stored)
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	if _, err := c.Metrics.serve(ctx, log); err != nil {
		ln.Close()
		return err
	}
	base := c.baseURL(ln.Addr().String())
	provider, err := c.OIDC.run.open(base)
	if err == nil {
		err = provider.EnsureKeys(ctx)
	}
	if err != nil {
		ln.Close()
		return fmt.Errorf("openid provider: %w", err)
	}
	defer c.OIDC.close()
	handler, err := web.NewServer(log, svc, web.Options{BaseURL: base,
		CookieDomain: c.CookieDomain, TrustedProxies: c.proxies, Rules: c.rules, SessionCacheTTL: c.SessionCacheTTL, SiteName: c.SiteName,
		OIDC: provider})
	if err != nil {
		ln.Close()
		return err
	}
	token, first, err := svc.SetupToken(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if first {
		// The link is a secret: it goes to standard output, never to the
		// log on standard error (under systemd both reach the journal;
		// the log line says where to look, and logs may be shipped on).
		fmt.Fprintf(e.stdout, "No users yet. Create the first administrator within %v at:\n\n    %s/setup?token=%s\n\n",
			svc.Options().SetupTTL, base, token)
		log.Warn("no users yet: the one-time link to create the first administrator is on standard output (or run: otpgate user add -admin NAME)",
			"valid_for", svc.Options().SetupTTL.String())
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	spec, _ := c.store()
	log.Info("listening", "addr", ln.Addr().String(), "base_url", base, "data_dir", c.DataDir, "store", spec.String(),
		"first_factors", c.FirstFactors)

	cleanupDone := make(chan struct{})
	go func() {
		defer close(cleanupDone)
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := svc.Cleanup(ctx); err != nil && ctx.Err() == nil {
					log.Error("cleanup", "err", err)
				}
				if err := provider.Cleanup(ctx); err != nil && ctx.Err() == nil {
					log.Error("openid provider: cleanup", "err", err)
				}
				if err := c.Audit.prune(ctx, store, time.Now()); err != nil && ctx.Err() == nil {
					log.Error("audit log: prune", "err", err)
				}
			}
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-cleanupDone
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
