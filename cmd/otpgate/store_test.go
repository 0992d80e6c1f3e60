package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pgtest"
)

func TestParseStore(t *testing.T) {
	tests := []struct {
		name, in     string
		path, dsn    string
		wantErr      string
		notInMessage string
	}{
		{name: "sqlite prefix", in: "sqlite:/var/lib/otpgate/otpgate.db", path: "/var/lib/otpgate/otpgate.db"},
		{name: "bare path", in: "data/otpgate.db", path: "data/otpgate.db"},
		{name: "postgres", in: "postgres://u:pw@db:5432/otpgate", dsn: "postgres://u:pw@db:5432/otpgate"},
		{name: "postgresql", in: "postgresql://u@db/otpgate?sslmode=require", dsn: "postgresql://u@db/otpgate?sslmode=require"},
		{name: "empty sqlite", in: "sqlite:", wantErr: "sqlite:PATH"},
		{name: "empty", in: " ", wantErr: "empty"},
		{name: "other scheme", in: "mysql://u:hunter2@db/x", wantErr: `"mysql"`, notInMessage: "hunter2"},
		{name: "bad URL", in: "postgres://u:hunter2@db:port/x", wantErr: "cannot be parsed", notInMessage: "hunter2"},
		{name: "one slash", in: "postgres:/u:hunter2@db/x", wantErr: "looks like PostgreSQL", notInMessage: "hunter2"},
		{name: "capitals", in: "PostgreSQL://u:hunter2@db/x", wantErr: "looks like PostgreSQL", notInMessage: "hunter2"},
		{name: "key=value", in: "host=db user=u password=hunter2 dbname=x", wantErr: "looks like PostgreSQL", notInMessage: "hunter2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStore(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseStore(%q) = %v, want an error saying %s", tc.in, err, tc.wantErr)
				}
				if tc.notInMessage != "" && strings.Contains(err.Error(), tc.notInMessage) {
					t.Errorf("parseStore(%q) = %q, quotes the password", tc.in, err)
				}
				return
			}
			if err != nil || got.sqlitePath != tc.path || got.dsn != tc.dsn {
				t.Errorf("parseStore(%q) = %+v, %v; want path %q dsn %q", tc.in, got, err, tc.path, tc.dsn)
			}
		})
	}
}

func TestStoreSpecStringHidesPassword(t *testing.T) {
	s := storeSpec{dsn: "postgres://otpgate:hunter2@db.example.org:5432/otpgate?password=hunter3&sslmode=require"}
	if got, want := s.String(), "postgres://otpgate@db.example.org:5432/otpgate"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDBSettings(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.url")
	os.WriteFile(open, []byte("postgres://u:pw@db/x\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"both", []string{"-db", "x.db", "-db-file", open}, "not both"},
		{"max conns", []string{"-db-max-conns", "0"}, "db-max-conns"},
		{"timeout", []string{"-db-statement-timeout", "0s"}, "db-statement-timeout"},
		{"readable file", []string{"-db-file", open}, "no access for others"},
		{"missing file", []string{"-db-file", filepath.Join(dir, "none")}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, append([]string{"user", "list", "-data-dir", filepath.Join(dir, "data")}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("user list %q = %v, want an error saying %s", tc.args, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("user list %q = %q, quotes the password", tc.args, err)
			}
		})
	}
	// A SQLite path given by -db is used.
	path := filepath.Join(dir, "elsewhere.db")
	if _, stderr, err := runCmd(t, "user", "list", "-data-dir", filepath.Join(dir, "data"), "-db", "sqlite:"+path); err != nil {
		t.Fatalf("user list -db sqlite:%s = %v\n%s", path, err, stderr)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("-db sqlite:PATH did not create the store there: %v", err)
	}
}

// FuzzParseStore: any -db value gives a store or an error, never a panic,
// and an error never quotes what followed the scheme (a password).
func FuzzParseStore(f *testing.F) {
	for _, s := range []string{"sqlite:a.db", "a.db", "postgres://u:p@h/d", "postgresql://h", "x://u:secret@h", "sqlite:", "", "postgres://%zz"} {
		f.Add(s)
	}
	// The errors' own words, from values with nothing to hide: an error
	// may hold these and the (shortened) scheme it names, nothing else.
	var words strings.Builder
	for _, v := range []string{"postgres://%zz", "x://h", "sqlite:", ""} {
		_, err := parseStore(v)
		words.WriteString(err.Error())
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseStore(s)
		if err != nil {
			scheme, rest, ok := strings.Cut(s, "://")
			msg := strings.Replace(err.Error(), strconv.Quote(scheme[:min(len(scheme), 20)]), "", 1)
			if ok && len(rest) > 8 && strings.Contains(msg, rest) && !strings.Contains(words.String(), rest) {
				t.Errorf("parseStore(%q) = %q, quotes the value", s, err)
			}
			return
		}
		if (spec.dsn == "") == (spec.sqlitePath == "") {
			t.Errorf("parseStore(%q) = %+v, want exactly one of path and DSN", s, spec)
		}
		_ = spec.String()
	})
}

// TestMigrateStoreCommand moves a seeded SQLite store to PostgreSQL with
// the command, checks its report, then refuses a second copy into the now
// non-empty database.
func TestMigrateStoreCommand(t *testing.T) {
	dsn, _, _ := pgtest.Schema(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := runInput(t, "seed password\n", append([]string{"seed", "-accounts", "500", "-seed", "m", "-sessions",
		"-password-stdin", "-data-dir", data}, fastFlags...)...); err != nil {
		t.Fatalf("seed = %v\n%s", err, out)
	}
	if out, err := runInput(t, "", append([]string{"host", "add", "login1", "-data-dir", data}, fastFlags...)...); err != nil {
		t.Fatalf("host add = %v\n%s", err, out)
	}
	if out, err := runInput(t, "", "client", "add", "nextcloud", "--redirect-uri", "https://cloud.example.org/apps/user_oidc/code", "-data-dir", data); err != nil {
		t.Fatalf("client add = %v\n%s", err, out)
	}
	src := "sqlite:" + filepath.Join(data, "otpgate.db")
	out, err := runInput(t, "", "migrate-store", "-from", src, "-to-file", writeDBFile(t, dsn))
	if err != nil {
		t.Fatalf("migrate-store = %v\n%s", err, out)
	}
	sums := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindAllStringSubmatch(out, -1)
	if len(sums) != 2 || sums[0][1] != sums[1][1] || !strings.Contains(out, "users 500\n") ||
		!strings.Contains(out, "sessions 500\n") || strings.Count(out, "hosts 1\n") != 2 || strings.Count(out, "oidc_clients 1\n") != 2 || !strings.Contains(out, "ok: source and target agree") {
		t.Errorf("migrate-store output:\n%s\nwant counts of 500, one host, one client and two equal checksums", out)
	}
	// The client is registered on PostgreSQL without being added again.
	if out, err := runInput(t, "", "client", "list", "-data-dir", data, "-db", dsn); err != nil || !strings.Contains(out, "\nnextcloud  confidential") {
		t.Errorf("client list on PostgreSQL = %v\n%s, want nextcloud", err, out)
	}
	// The instances on PostgreSQL serve the moved accounts with the key.
	if out, err := runInput(t, "", append([]string{"user", "list", "-data-dir", data, "-db", dsn}, fastFlags...)...); err != nil ||
		strings.Count(out, "seed") != 500 {
		t.Errorf("user list on PostgreSQL = %v, %d seeded users listed", err, strings.Count(out, "seed"))
	}
	out, err = runInput(t, "", "migrate-store", "-from", src, "-to", dsn)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "not empty") {
		t.Errorf("migrate-store into a non-empty database = %v\n%s, want exit status 1, not empty", err, out)
	}
	missing := filepath.Join(dir, "missing.db")
	if _, err := runInput(t, "", "migrate-store", "-from", missing, "-to-file", writeDBFile(t, dsn)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("migrate-store from a missing file = %v, want not exist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("migrate-store from a missing file made it: %v", err)
	}
	for _, args := range [][]string{
		{"-from", src},
		{"-from", src, "-to", dsn, "-to-file", "x"},
		{"-from", "postgres://x/y", "-to", dsn},
		{"-from", src, "-to", "sqlite:other.db"},
	} {
		_, err := runInput(t, "", append([]string{"migrate-store"}, args...)...)
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("migrate-store %q = %v, want exit status 2", args, err)
		}
	}
}

// TestKeyMismatchSQLite: given another secret key file than the one its
// store was first opened with, a command refuses the SQLite store, naming
// the key, instead of failing every sign-in later.
func TestKeyMismatchSQLite(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := runInput(t, "a password long enough\n", append([]string{"user", "add", "bob", "-data-dir", data, "--password-stdin"}, fastFlags...)...); err != nil {
		t.Fatalf("user add = %v\n%s", err, out)
	}
	if out, err := runInput(t, "", "user", "list", "-data-dir", data); err != nil || !strings.Contains(out, "bob") {
		t.Fatalf("user list with the store's key = %v\n%s", err, out)
	}
	out, err := runInput(t, "", "user", "list", "-data-dir", data, "-secret-key-file", filepath.Join(dir, "other.key"))
	if !errors.Is(err, mfa.ErrWrongKey) || strings.Contains(out, "bob") {
		t.Errorf("user list with another key = %v\n%s; want a refusal naming the key", err, out)
	}
}
