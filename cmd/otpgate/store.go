package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
)

// dbFlags declares the settings that choose and tune the store.
func dbFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DB, "db", "", "`store`: sqlite:PATH or a bare PATH for SQLite, or a postgres:// (postgresql://) URL for PostgreSQL, "+
		"shared by any number of instances; empty means SQLite in <data-dir>/otpgate.db. A password here shows in the process list: prefer -db-file")
	fs.StringVar(&c.DBFile, "db-file", "", "`file` holding the -db value (e.g. a PostgreSQL URL with its password), read at start, "+
		"so that the password stays out of the environment and the process list; must not be readable by others")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 16, "PostgreSQL: most `connections` this instance opens at once (the server's max_connections bounds the sum over instances)")
	fs.DurationVar(&c.DBStatementTimeout, "db-statement-timeout", 5*time.Second,
		"PostgreSQL: the server cancels a statement (lock waits included) running longer than this `duration`; the sign-in is then refused with 503")
}

// storeSpec is where the store lives: a SQLite file or a PostgreSQL DSN.
type storeSpec struct {
	sqlitePath string
	dsn        string
}

// parseStore reads a -db value. Its errors never quote the value, which
// may hold a password.
func parseStore(v string) (storeSpec, error) {
	switch {
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		if _, err := url.Parse(v); err != nil {
			return storeSpec{}, errors.New("db: the PostgreSQL URL cannot be parsed (want postgres://user:password@host:port/database?...)")
		}
		return storeSpec{dsn: v}, nil
	case strings.HasPrefix(v, "sqlite:"):
		v = strings.TrimPrefix(v, "sqlite:")
		if v == "" {
			return storeSpec{}, errors.New("db: sqlite: wants a file path (sqlite:PATH)")
		}
		return storeSpec{sqlitePath: v}, nil
	case strings.HasPrefix(strings.ToLower(v), "postgres:"), strings.HasPrefix(strings.ToLower(v), "postgresql:"):
		return storeSpec{}, errPostgresLike
	case strings.Contains(v, "://"):
		scheme, _, _ := strings.Cut(v, "://")
		if len(scheme) > 20 {
			scheme = scheme[:20]
		}
		return storeSpec{}, fmt.Errorf("db: unknown kind of store %q: want sqlite:PATH, a file path or a postgres:// URL", scheme)
	case strings.TrimSpace(v) == "":
		return storeSpec{}, errors.New("db: empty")
	case strings.Contains(strings.ToLower(v), "password="):
		return storeSpec{}, errPostgresLike
	}
	return storeSpec{sqlitePath: v}, nil
}

// errPostgresLike refuses a value that is neither a PostgreSQL URL nor a
// file path but looks like PostgreSQL settings: a mistyped URL
// ("postgres:/host", "Postgres://") or key=value settings ("host=db
// password=..."). Taken for a path, it would reach logs, password and all.
var errPostgresLike = errors.New("db: this looks like PostgreSQL settings, not a file path; give a URL: postgres://user:password@host:port/database?... (the value is not shown: it may hold a password)")

// String describes the store for logs and messages: the SQLite path, or the
// PostgreSQL user, host and database, never the password or parameters.
func (s storeSpec) String() string {
	if s.dsn == "" {
		return "sqlite:" + s.sqlitePath
	}
	u, err := url.Parse(s.dsn)
	if err != nil {
		return "postgres"
	}
	d := url.URL{Scheme: "postgres", Host: u.Host, Path: u.Path}
	if u.User != nil {
		d.User = url.User(u.User.Username())
	}
	return d.String()
}

// validateDB checks the store settings that need no file.
func (c *Config) validateDB() error {
	var errs []error
	if c.DB != "" && c.DBFile != "" {
		errs = append(errs, errors.New("db and db-file: give one, not both"))
	}
	if c.DB != "" {
		if _, err := parseStore(c.DB); err != nil {
			errs = append(errs, err)
		}
	}
	if c.DBMaxConns < 1 {
		errs = append(errs, errors.New("db-max-conns: at least 1"))
	}
	if c.DBStatementTimeout < time.Millisecond {
		errs = append(errs, errors.New("db-statement-timeout: at least 1ms"))
	}
	return errors.Join(errs...)
}

// maxDBFile bounds the -db-file's size.
const maxDBFile = 64 << 10

// store returns where the store lives, reading -db-file if given.
func (c *Config) store() (storeSpec, error) {
	if c.DBFile != "" {
		return readDBFile(c.DBFile)
	}
	if c.DB != "" {
		return parseStore(c.DB)
	}
	return storeSpec{sqlitePath: c.dbPath()}, nil
}

// readDBFile reads a -db value from its first line of a file that others
// cannot read.
func readDBFile(path string) (storeSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return storeSpec{}, fmt.Errorf("db-file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return storeSpec{}, fmt.Errorf("db-file: %w", err)
	}
	if st.Mode().Perm()&0o007 != 0 {
		return storeSpec{}, fmt.Errorf("db-file %s: mode %v, want no access for others (e.g. 0600 or 0640)", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDBFile+1))
	if err != nil {
		return storeSpec{}, fmt.Errorf("db-file: %w", err)
	}
	if len(b) > maxDBFile {
		return storeSpec{}, fmt.Errorf("db-file %s: larger than %d bytes", path, maxDBFile)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	spec, err := parseStore(strings.TrimSpace(line))
	if err != nil {
		return storeSpec{}, fmt.Errorf("db-file %s: %w", path, err)
	}
	return spec, nil
}

// openStore opens the store the settings name, applying its migrations.
func openStore(ctx context.Context, c *Config) (mfa.Store, storeSpec, error) {
	spec, err := c.store()
	if err != nil {
		return nil, spec, err
	}
	if spec.dsn == "" {
		s, err := sqlite.Open(ctx, spec.sqlitePath)
		return s, spec, err
	}
	s, err := postgres.Open(ctx, spec.dsn, postgres.Options{MaxConns: c.DBMaxConns, StatementTimeout: c.DBStatementTimeout})
	if err != nil {
		return nil, spec, fmt.Errorf("store %s: %w", spec, err)
	}
	return s, spec, nil
}
