package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/internal/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mfa.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "otpgate.db"))
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		return s
	})
}

// TestShared runs the checks of two stores on one database file, as two
// processes have.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (mfa.Store, mfa.Store) {
		path := filepath.Join(t.TempDir(), "otpgate.db")
		var stores [2]mfa.Store
		for i := range stores {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			stores[i] = s
		}
		return stores[0], stores[1]
	})
}

// TestReopen checks that migrations are recorded and not applied twice, and
// that data survives closing the file.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otpgate.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if _, err := s.CreateUser(ctx, mfa.User{Name: "bob", PasswordHash: "h", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open again = %v", err)
	}
	defer s.Close()
	if _, err := s.UserByName(ctx, "bob"); err != nil {
		t.Errorf("UserByName after reopen = %v", err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no WAL file beside the database: %v", err)
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b", filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		if s, err := sqlite.Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error, want an error", p)
		}
	}
}

// TestFileMode: a new database and the files SQLite makes beside it are
// for their owner only, whatever the umask; an existing database open to
// others is made private when opened.
func TestFileMode(t *testing.T) {
	checkPrivate := func(t *testing.T, path string) {
		t.Helper()
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Users(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
			}
		}
	}
	t.Run("new", func(t *testing.T) {
		checkPrivate(t, filepath.Join(t.TempDir(), "otpgate.db"))
	})
	t.Run("existing 0644", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "otpgate.db")
		checkPrivate(t, path)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		// As a crash would leave them (empty here), made with a loose mode.
		for _, p := range []string{path + "-wal", path + "-shm"} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		checkPrivate(t, path)
	})
}
