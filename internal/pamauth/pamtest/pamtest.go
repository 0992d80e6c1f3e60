// Package pamtest gives tests a real PAM stack to check passwords with:
// the helper otpgate-pam-check built by scripts/build-pam, and a real
// system account with a PAM service of its own (examples/pam/otpgate),
// made as root and removed when the test ends.
package pamtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// root is the repository's top folder, found from the working directory.
func root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("pamtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// HelperPath builds the real helper once with scripts/build-pam (the
// system compiler and libpam0g-dev) and returns its path, or skips (or
// fails) the test when it cannot be built.
func HelperPath(t testing.TB) string {
	t.Helper()
	top := root(t)
	built.once.Do(func() {
		var out bytes.Buffer
		cmd := exec.Command(filepath.Join(top, "scripts", "build-pam"))
		cmd.Dir = top
		cmd.Stdout, cmd.Stderr = &out, &out
		built.err = cmd.Run()
		built.out = out.Bytes()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		built.path = lines[len(lines)-1]
		if built.err == nil && !filepath.IsAbs(built.path) {
			built.path = filepath.Join(top, built.path)
		}
	})
	if built.err != nil {
		testenv.SkipOrFail(t, "scripts/build-pam cannot build the helper (a C compiler and libpam0g-dev, which scripts/test installs as root): %v\n%s", built.err, built.out)
	}
	return built.path
}

// Account is a real system account made for one test run, with a PAM
// service of its own that is examples/pam/otpgate.
type Account struct {
	Name, Password, Group, Service string
	// UID, DisplayName and Groups are what the system says of it.
	UID         string
	DisplayName string
	Groups      []string
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run runs a command with stdin and fails the test when it fails.
func Run(t testing.TB, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// NewAccount makes, as root, a group, a user in it (useradd, chpasswd) and
// /etc/pam.d/otpgate-test-<random>, all removed at cleanup.
func NewAccount(t testing.TB) *Account {
	t.Helper()
	testenv.Root(t)
	for _, p := range []string{"useradd", "userdel", "groupadd", "groupdel", "chpasswd", "passwd", "chage"} {
		testenv.LookPath(t, p)
	}
	example, err := os.ReadFile(filepath.Join(root(t), "examples", "pam", "otpgate"))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob("/usr/lib/*/security/pam_unix.so"); len(m) == 0 {
		if m, _ := filepath.Glob("/lib/*/security/pam_unix.so"); len(m) == 0 {
			testenv.SkipOrFail(t, "no pam_unix.so (libpam-modules)")
		}
	}
	r := RandomHex(4)
	a := &Account{
		Name:     "otpgt" + r,
		Password: "correct horse:" + RandomHex(6) + " é",
		Group:    "otpgtg" + r,
		Service:  "otpgate-test-" + r,
	}
	Run(t, "", "groupadd", a.Group)
	t.Cleanup(func() { exec.Command("groupdel", a.Group).Run() })
	Run(t, "", "useradd", "-m", "-U", "-s", "/usr/sbin/nologin", "-c", "Test User "+r+",Room 12,,", "-G", a.Group, a.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", a.Name).CombinedOutput(); err != nil {
			t.Errorf("userdel -r %s: %v\n%s", a.Name, err, out)
		}
	})
	Run(t, a.Name+":"+a.Password+"\n", "chpasswd")
	pamFile := "/etc/pam.d/" + a.Service
	if err := os.WriteFile(pamFile, example, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(pamFile) })

	u, err := user.Lookup(a.Name)
	if err != nil {
		t.Fatal(err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, gid := range gids {
		g, err := user.LookupGroupId(gid)
		if err != nil {
			t.Fatal(err)
		}
		a.Groups = append(a.Groups, g.Name)
	}
	slices.Sort(a.Groups)
	a.UID, a.DisplayName = u.Uid, "Test User "+r
	if !slices.Contains(a.Groups, a.Group) || !slices.Contains(a.Groups, a.Name) {
		t.Fatalf("%s's groups %v lack %s or %s", a.Name, a.Groups, a.Group, a.Name)
	}
	return a
}
