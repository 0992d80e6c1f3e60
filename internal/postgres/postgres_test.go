package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/storetest"
	"github.com/otpgate/otpgate/internal/testenv"
)

// dsnVar names the variable that scripts/test fills from scripts/start-postgres.
const dsnVar = "OTPGATE_TEST_POSTGRES_DSN"

// baseDSN returns the test database's DSN, or skips (fails in CI).
func baseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		testenv.SkipOrFail(t, dsnVar+" not set")
	}
	return dsn
}

// withParams returns dsn with the given connection parameters set, in
// whichever form (URL or key=value) dsn has.
func withParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsnVar, err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += " " + k + "=" + v
	}
	return dsn
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose connections use it (search_path) and carry the
// schema's name as application_name, so that a test can find its own
// backends in pg_stat_activity.
func freshSchema(t testing.TB) (dsn string, admin *sql.DB) {
	dsn, admin, _ = freshSchemaNamed(t)
	return dsn, admin
}

// freshSchemaNamed is freshSchema that also returns the schema's name.
func freshSchemaNamed(t testing.TB) (dsn string, admin *sql.DB, schema string) {
	t.Helper()
	base := baseDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema = "otpgate_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("DROP SCHEMA: %v", err)
		}
	})
	return withParams(t, base, map[string]string{"search_path": schema, "application_name": schema}), admin, schema
}

// openStore opens a store on dsn, closed when the test ends.
func openStore(t testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mfa.Store {
		dsn, _ := freshSchema(t)
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		return s
	})
}
