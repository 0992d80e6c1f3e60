package userfile

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Account is a system account, from the system's account database.
type Account struct {
	Name string
	// Home is the absolute home directory.
	Home string
	UID  int
	GID  int
}

// ErrNoAccount means the system has no account of that name.
var ErrNoAccount = errors.New("no such system account")

// LookupAccount finds the system account of a user name (which must pass
// ValidateName) in the account database: with os/user and, when that does
// not know the name, with getent(1), which asks every source the system is
// configured with (LDAP, say), since os/user reads only /etc/passwd in a
// build without cgo.
func LookupAccount(name string) (Account, error) {
	if err := ValidateName(name); err != nil {
		return Account{}, err
	}
	var a Account
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	switch {
	case errors.As(err, &unknown):
		line, gerr := getent(name)
		if gerr != nil {
			return Account{}, gerr
		}
		if a, err = parsePasswd(line); err == nil && a.Name != name {
			err = fmt.Errorf("getent answered for %q", a.Name)
		}
	case err != nil:
	default:
		a.Name, a.Home = name, u.HomeDir
		var err1, err2 error
		a.UID, err1 = strconv.Atoi(u.Uid)
		a.GID, err2 = strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			err = fmt.Errorf("ids %q:%q are not numbers", u.Uid, u.Gid)
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("user %q: %w", name, err)
	}
	if !filepath.IsAbs(a.Home) || filepath.Clean(a.Home) != a.Home {
		return Account{}, fmt.Errorf("user %q: home directory %q is not an absolute clean path", name, a.Home)
	}
	return a, nil
}

// getent returns the passwd entry of name from getent(1); ErrNoAccount
// when it knows no such user or is missing.
func getent(name string) (string, error) {
	path, err := exec.LookPath("getent")
	if err != nil {
		return "", fmt.Errorf("user %q: %w", name, ErrNoAccount)
	}
	out, err := exec.Command(path, "passwd", "--", name).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return "", fmt.Errorf("user %q: %w", name, ErrNoAccount)
	}
	if err != nil {
		return "", fmt.Errorf("user %q: getent: %w", name, err)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

// parsePasswd reads one passwd(5) line:
// name:password:uid:gid:gecos:home:shell.
func parsePasswd(line string) (Account, error) {
	f := strings.Split(line, ":")
	if len(f) != 7 || strings.ContainsAny(line, "\n\x00") {
		return Account{}, errors.New("getent: not one passwd line")
	}
	uid, err1 := strconv.ParseUint(f[2], 10, 31)
	gid, err2 := strconv.ParseUint(f[3], 10, 31)
	if err1 != nil || err2 != nil {
		return Account{}, fmt.Errorf("getent: ids %q:%q are not numbers", f[2], f[3])
	}
	return Account{Name: f[0], Home: f[5], UID: int(uid), GID: int(gid)}, nil
}

// mustSwitch reports whether the process must switch its ids to act as
// uid: false when it runs as uid already; a process neither root nor uid
// cannot act as uid.
func mustSwitch(uid int) (bool, error) {
	euid := os.Geteuid()
	if euid == uid {
		return false, nil
	}
	if euid != 0 {
		return false, fmt.Errorf("running as user id %d, cannot act as %d", euid, uid)
	}
	return true, nil
}

// primaryGID looks up the primary group of uid.
func primaryGID(uid int) (int, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return 0, fmt.Errorf("user id %d: no such user", uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return 0, fmt.Errorf("user id %d: group %q", uid, u.Gid)
	}
	return gid, nil
}

// BecomeProcess makes the whole process act as uid, with that account's
// primary group, when it runs as root for another account (for one-shot
// commands such as "otpgate verify-file"): files are then read, and their
// replacements created, as the user.
func BecomeProcess(uid int) error {
	switchIDs, err := mustSwitch(uid)
	if err != nil || !switchIDs {
		return err
	}
	gid, err := primaryGID(uid)
	if err != nil {
		return err
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}

// Do runs fn with the file-system ids of uid and gid (the account's
// primary group), as the stock module switches them, when the process runs
// as root for another account; otherwise it runs fn as the process. The switch holds for one
// locked operating-system thread, which is discarded when fn returns, so
// no other goroutine ever runs with those ids. fn must not start
// goroutines that touch files.
func Do(uid, gid int, fn func() error) error {
	switchIDs, err := mustSwitch(uid)
	if err != nil {
		return err
	}
	if !switchIDs {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, taking the
		// changed ids with it.
		runtime.LockOSThread()
		if err := setfsids(uid, gid); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// setfsids sets the calling thread's file-system group and user ids and
// checks that both took effect (the system calls report no failure).
func setfsids(uid, gid int) error {
	unix.Setfsgid(gid)
	unix.Setfsuid(uid)
	g, _ := unix.SetfsgidRetGid(-1)
	u, _ := unix.SetfsuidRetUid(-1)
	if u != uid || g != gid {
		return fmt.Errorf("setfsuid %d, setfsgid %d: ids are %d, %d", uid, gid, u, g)
	}
	return nil
}
