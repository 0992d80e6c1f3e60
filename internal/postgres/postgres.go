// Package postgres implements the mfa stores on PostgreSQL, for sites that
// run several otpgate instances behind a load balancer. It speaks to the
// server through database/sql and the pgx driver (github.com/jackc/pgx/v5),
// with hand-written SQL.
//
// Nothing that must be shared lives in the process: a TOTP step and a
// recovery code are accepted once by one conditional UPDATE, throttle
// counters are read and written under a row lock, and sessions are rows that
// every instance reads, so each promise of the design holds across
// instances because the database enforces it.
//
// The schema is created by embedded, numbered migrations (migrations/*.sql),
// applied in one transaction under a transaction-scoped advisory lock, so
// several instances starting at once apply them exactly once.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/otpgate/otpgate/internal/mfa"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the key of the advisory lock held while migrating (the
// first 8 bytes of "otpgate\x00" read as a big-endian integer), so that
// instances starting together take turns.
const migrationLock int64 = 0x6f74706761746500

// Options tune the connection pool and the timeouts; zero fields mean the
// defaults.
type Options struct {
	// MaxConns is the most connections open at once; zero means 16.
	MaxConns int
	// MaxIdleConns is the most idle connections kept open; zero means
	// MaxConns.
	MaxIdleConns int
	// ConnMaxLifetime closes connections older than this, so that they move
	// to a restarted or failed-over server; zero means 30 minutes.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle this long; zero means 5
	// minutes.
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds the opening of one connection; zero means 5s.
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel a statement (lock waits
	// included) that runs longer, and end a session idle in a transaction
	// that long; zero means 5s.
	StatementTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = o.MaxConns
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.ConnMaxIdleTime <= 0 {
		o.ConnMaxIdleTime = 5 * time.Minute
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	return o
}

// Store is the PostgreSQL implementation of mfa.Store. It is safe for
// concurrent use, and any number of Stores, in any number of processes, may
// share one database.
type Store struct {
	db *sql.DB
}

var _ mfa.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or
// key=value connection string, as libpq takes) and applies the migrations
// it lacks. The connection's search_path, as the DSN may set it, chooses the
// schema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN, password masked; keep none of it.
		return nil, errors.New("postgres: DSN cannot be parsed (want postgres://user:password@host:port/database?...)")
	}
	cfg.ConnectTimeout = opts.ConnectTimeout
	ms := strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	cfg.RuntimeParams["statement_timeout"] = ms
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = ms
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "otpgate"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxIdleConns)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	db.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes every connection of the store.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers, for a health check.
func (s *Store) Ping(ctx context.Context) error {
	return dbError("ping", s.db.PingContext(ctx))
}

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
}

func embedded() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: not numbered", base)
		}
		ms = append(ms, migration{version: version, name: name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in order, in one transaction holding the migration
// lock: an instance that starts while another migrates waits, then finds
// nothing left to do. A database migrated by a newer otpgate is refused.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := embedded()
	if err != nil {
		return err
	}
	return s.withTx(ctx, "migrate", func(tx *sql.Tx) error {
		// A migration over a large table, or the wait for another instance's,
		// may take longer than the timeout meant for sign-ins; ctx bounds it.
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return dbError("migrate", err)
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return dbError("migration lock", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return dbError("schema_migrations", err)
		}
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
			return dbError("schema_migrations", err)
		}
		if known := ms[len(ms)-1].version; latest > known {
			return fmt.Errorf("postgres: database schema is at version %d, newer than this otpgate knows (%d)", latest, known)
		}
		for _, m := range ms {
			if m.version <= latest {
				continue
			}
			body, err := migrations.ReadFile(m.name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return dbError(m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
				return dbError(m.name, err)
			}
		}
		return nil
	})
}

// withTx runs f in one transaction, committed when f returns nil. Errors
// of f are returned as they are; f turns its own into mfa kinds.
func (s *Store) withTx(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(what+": begin", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return dbError(what+": commit", tx.Commit())
}

// SQLSTATE codes that map to mfa error kinds (PostgreSQL, Appendix A).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	codeStringTooLong       = "22001"
	codeNumericOutOfRange   = "22003"
	codeQueryCanceled       = "57014"
)

// dbError turns a driver error into an mfa error kind where one applies.
// Other errors keep the driver's error (wrapped), whose text names the
// problem but, unlike PostgreSQL's DETAIL line, quotes no row values.
func dbError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, mfa.ErrNotFound)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%s: %w", what, mfa.ErrConflict)
		case codeForeignKeyViolation:
			// A row whose owner does not exist (or no longer does).
			return fmt.Errorf("%s: owner: %w", what, mfa.ErrNotFound)
		case codeCheckViolation, codeNotNullViolation, codeStringTooLong, codeNumericOutOfRange:
			return fmt.Errorf("%s: %w: %s", what, mfa.ErrInvalid, pg.Message)
		case codeQueryCanceled:
			// An overloaded or stalled server: as unavailable as a gone one.
			return fmt.Errorf("postgres: %s: statement timed out or was cancelled: %w: %w", what, mfa.ErrUnavailable, err)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", what, mfa.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unavailable reports whether err means the server cannot be reached or
// closed the connection (mfa.ErrUnavailable: the caller refuses what it was
// asked, and the pool reconnects by itself once the server is back): a failed connect, a broken connection, or a
// server shutting down (SQLSTATE classes 08 and 57P).
func unavailable(err error) bool {
	var connect *pgconn.ConnectError
	var netErr net.Error
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &connect), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	return false
}

// affected turns a change of no row into mfa.ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return dbError(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, mfa.ErrNotFound)
	}
	return nil
}

// toDB gives a time to the driver: NULL for the zero time, "not yet".
func toDB(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromDB reads a time back in UTC; NULL is the zero time. PostgreSQL keeps
// microseconds.
func fromDB(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// stepToDB checks that a TOTP step fits PostgreSQL's BIGINT; real steps are
// far smaller (Unix seconds divided by the period).
func stepToDB(step uint64) (int64, error) {
	if step > math.MaxInt64 {
		return 0, fmt.Errorf("%w: time step %d out of range", mfa.ErrInvalid, step)
	}
	return int64(step), nil
}
