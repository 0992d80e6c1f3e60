package testenv

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// NobodyDir makes, as root, a directory name (mode 0700) owned by the
// account nobody in a temporary directory that nobody can reach, for tests
// of programs that act as a file's owner. It returns the directory and
// nobody's account.
func NobodyDir(t testing.TB, name string) (dir string, nobody *user.User, uid, gid int) {
	t.Helper()
	Root(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		SkipOrFail(t, "no user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(nobody.Uid)
	gid, _ = strconv.Atoi(nobody.Gid)
	top := t.TempDir()
	for d := top; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(top, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir, nobody, uid, gid
}
