package postgres

import (
	"io/fs"
	"strconv"
	"strings"
	"testing"
)

// TestMigrationNumbers: the embedded migrations are numbered 1, 2, 3 ...
// without a gap or a number used twice, since a store records each number
// once and would skip a second file of the same number.
func TestMigrationNumbers(t *testing.T) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		num, _, _ := strings.Cut(strings.TrimPrefix(name, "migrations/"), "_")
		if n, err := strconv.Atoi(num); err != nil || n != i+1 {
			t.Errorf("migration %s is number %q, want %04d (in order, no gap, none twice)", name, num, i+1)
		}
	}
}
