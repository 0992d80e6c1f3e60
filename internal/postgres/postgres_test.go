package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/storetest"
)

// freshSchema is pgtest.Schema without the schema's name.
func freshSchema(t testing.TB) (dsn string, admin *sql.DB) {
	dsn, admin, _ = pgtest.Schema(t)
	return dsn, admin
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

// TestShared runs the checks of two stores on one database, as two
// instances have.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (mfa.Store, mfa.Store) {
		dsn, _ := freshSchema(t)
		var stores [2]mfa.Store
		for i := range stores {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			stores[i] = s
		}
		return stores[0], stores[1]
	})
}
