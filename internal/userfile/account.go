package userfile

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
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
// ValidateName) in the account database.
func LookupAccount(name string) (Account, error) {
	if err := ValidateName(name); err != nil {
		return Account{}, err
	}
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return Account{}, fmt.Errorf("user %q: %w", name, ErrNoAccount)
	}
	if err != nil {
		return Account{}, fmt.Errorf("user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return Account{}, fmt.Errorf("user %q: ids %q:%q are not numbers", name, u.Uid, u.Gid)
	}
	if !filepath.IsAbs(u.HomeDir) || filepath.Clean(u.HomeDir) != u.HomeDir {
		return Account{}, fmt.Errorf("user %q: home directory %q is not an absolute clean path", name, u.HomeDir)
	}
	return Account{Name: name, Home: u.HomeDir, UID: uid, GID: gid}, nil
}

// primaryGID returns the primary group of uid when the process must switch
// to it, and switch false when it runs as uid already. A process neither
// root nor uid cannot act as uid.
func primaryGID(uid int) (gid int, switchIDs bool, err error) {
	euid := os.Geteuid()
	if euid == uid {
		return 0, false, nil
	}
	if euid != 0 {
		return 0, false, fmt.Errorf("running as user id %d, cannot act as %d", euid, uid)
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return 0, false, fmt.Errorf("user id %d: no such user", uid)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, false, fmt.Errorf("user id %d: group %q", uid, u.Gid)
	}
	return gid, true, nil
}

// BecomeProcess makes the whole process act as uid, with that account's
// primary group, when it runs as root for another account (for one-shot
// commands such as "otpgate verify-file"): files are then read, and their
// replacements created, as the user.
func BecomeProcess(uid int) error {
	gid, switchIDs, err := primaryGID(uid)
	if err != nil || !switchIDs {
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

// Do runs fn with the file-system ids of uid and its primary group, as the
// stock module switches them, when the process runs as root for another
// account; otherwise it runs fn as the process. The switch holds for one
// locked operating-system thread, which is discarded when fn returns, so
// no other goroutine ever runs with those ids. fn must not start
// goroutines that touch files.
func Do(uid int, fn func() error) error {
	gid, switchIDs, err := primaryGID(uid)
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
