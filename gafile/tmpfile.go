package gafile

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// newFile is the content of a file that is to replace another: written,
// flushed, and not yet in place.
type newFile struct {
	f *os.File
	// name is the file's path; empty while it has none (O_TMPFILE).
	name string
}

// writeNew writes data into a new file in directory dir, sets mode 0400
// and flushes it. Where the file system supports O_TMPFILE the file has
// no name yet, so that it vanishes with the process if that dies before
// link; elsewhere create makes it under a name.
func writeNew(dir string, data []byte, create func() (*os.File, error)) (*newFile, error) {
	n := &newFile{}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o400)
	if err == nil {
		n.f = os.NewFile(uintptr(fd), dir)
		// Naming the file later goes through /proc (see link); without
		// it, use a named file from the start.
		if _, err := os.Stat(n.procPath()); err != nil {
			n.f.Close()
			n.f = nil
		}
	} else if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		// Those three mean no O_TMPFILE here (file system or kernel);
		// anything else would fail for a named file too.
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if n.f == nil {
		if n.f, err = create(); err != nil {
			return nil, err
		}
		n.name = n.f.Name()
	}
	if err := n.write(data); err != nil {
		n.discard()
		return nil, err
	}
	return n, nil
}

// procPath names the open file in /proc, which linkat can follow.
func (n *newFile) procPath() string { return "/proc/self/fd/" + strconv.Itoa(int(n.f.Fd())) }

// write sets mode 0400 (whatever the umask), writes data and flushes it.
func (n *newFile) write(data []byte) error {
	if err := n.f.Chmod(0o400); err != nil {
		return err
	}
	if _, err := n.f.Write(data); err != nil {
		return err
	}
	return n.f.Sync()
}

// link gives a file without a name the name name, which must not exist:
// then the error wraps fs.ErrExist. A file that has a name keeps it.
func (n *newFile) link(name string) error {
	if n.name != "" {
		return nil
	}
	if err := unix.Linkat(unix.AT_FDCWD, n.procPath(), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: n.procPath(), New: name, Err: err}
	}
	n.name = name
	return nil
}

// discard closes the file and removes its name, if it has one.
func (n *newFile) discard() {
	n.f.Close()
	if n.name != "" {
		os.Remove(n.name)
	}
}

// Temporary files of VerifyFile are named "<base>~otpgate.<pid>.<random>".
// The stock module's are "<base>~" and six letters or digits (mkstemp),
// and the stock command's "<base>~": neither holds a dot after the tilde,
// so that removeStale never takes one of theirs.
const tempMark = "~otpgate."

// tempName returns a fresh name for a temporary file beside path.
func tempName(path string) string {
	return path + tempMark + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(rand.Uint64(), 36)
}

// staleAge is the age after which a temporary file of ours is removed even
// if a process with its pid runs: the pid may have been reused, or belong
// to another pid namespace or host. Writers keep a temporary file for
// milliseconds.
const staleAge = time.Minute

// removeStale removes temporary files that a writer of ours left beside
// path when it was killed between naming and renaming one (or, where
// O_TMPFILE is not supported, while writing it): those whose pid is not a
// running process, and those older than staleAge. It also removes, once
// older than staleAge, those of otpgate versions before O_TMPFILE was
// used, named "<base>~" and 1 to 10 digits (os.CreateTemp), but not 6:
// mkstemp's six letters or digits may all be digits. The caller holds the
// lock on path, so no writer of ours is using them, except one racing the
// stock module (which takes no lock), whose file is young and whose pid
// runs. Errors are ignored: this is housekeeping.
func removeStale(path string, now time.Time) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, base+"~")
		if !ok {
			continue
		}
		pid := 0
		if rest, ok = strings.CutPrefix(rest, tempMark[1:]); ok {
			pidText, _, ok := strings.Cut(rest, ".")
			if pid, err = strconv.Atoi(pidText); !ok || err != nil || pid <= 0 {
				continue // not a name of ours
			}
		} else if len(rest) == 0 || len(rest) == 6 || len(rest) > 10 || strings.Trim(rest, "0123456789") != "" {
			continue // the stock module's or command's, or nobody's we know
		}
		full := filepath.Join(dir, name)
		fi, err := os.Lstat(full)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if pid != 0 && processGone(pid) || now.Sub(fi.ModTime()) > staleAge {
			os.Remove(full)
		}
	}
}

// processGone reports whether no process with this pid exists (EPERM
// means one exists, of another user).
func processGone(pid int) bool {
	return pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH
}
