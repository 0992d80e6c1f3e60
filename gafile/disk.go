package gafile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// fileError is an error about the file at path, of one kind (ErrUnusable,
// ErrNoFile, ErrNotSaved), with its cause.
type fileError struct {
	path string
	kind error
	err  error
}

func (e *fileError) Error() string {
	msg := strings.TrimPrefix(e.kind.Error(), "gafile: ")
	switch {
	case errors.Is(e.err, e.kind):
		msg = strings.TrimPrefix(e.err.Error(), "gafile: ")
	case e.err != nil:
		msg += ": " + strings.TrimPrefix(e.err.Error(), "gafile: ")
	}
	return fmt.Sprintf("gafile: %q: %s", e.path, msg)
}

func (e *fileError) Unwrap() []error { return []error{e.kind, e.err} }

// VerifyFile checks one answer against the state file at path at time now,
// as the stock module does with its file (spec §4.3, §3.6), and saves what
// the attempt changed:
//
//   - The file is opened (symbolic links followed) and locked with flock,
//     so that two attempts of ours at once are serialised; a lock taken on
//     a file that was replaced meanwhile is dropped and taken again.
//   - It must be a regular file of 1 to MaxSize bytes, owned by opts.UID
//     unless opts.NoStrictOwner, with no mode bits (03777) outside
//     opts.AllowedPerm.
//   - Temporary files that an earlier VerifyFile left when it was killed
//     are removed (see below).
//   - Then Verify. If the attempt changed the file, a new file is
//     written in the same directory, set to mode 0400 and synced; the
//     inode, size and modification time of path are compared with those
//     read, since the stock module takes no lock and may have replaced
//     it; then the new file is renamed over path and the directory is
//     synced. A crash leaves the old file or the new one, never a mix.
//   - Where the file system supports O_TMPFILE, the new file has no name
//     until just before the rename, so that a process killed while
//     writing leaves nothing. Its name, as the name of a temporary file
//     where O_TMPFILE is not supported, is "<path>~otpgate.<pid>.<random>".
//     Under the lock, VerifyFile removes such files whose process no
//     longer runs or that are more than a minute older than now, and those
//     of earlier otpgate versions ("<path>~" and digits, not six) more
//     than a minute old. The stock module's temporary files ("<path>~" and
//     six letters or digits) and the stock command's ("<path>~") are never
//     touched.
//   - If the change cannot be saved, the attempt fails with ErrNotSaved and
//     the file is left as it was, unless opts.AllowReadonly.
//
// Errors wrap the kinds listed at Verify, ErrNoFile or ErrNotSaved; file
// problems wrap ErrUnusable and name the path. ctx is checked before the
// file is locked and before it is replaced; waiting for the lock cannot be
// interrupted.
func VerifyFile(ctx context.Context, path, answer string, now time.Time, opts Options) (Result, error) {
	l, err := openLocked(ctx, path, opts)
	if err != nil {
		return Result{}, err
	}
	defer l.f.Close()
	removeStale(path, now)
	f, err := Parse(l.data)
	if err != nil {
		return Result{}, &fileError{path, ErrUnusable, err}
	}
	res, verr := f.Verify(answer, now, opts)
	if !res.Changed {
		return res, verr
	}
	if err := ctx.Err(); err != nil {
		return Result{}, &fileError{path, ErrNotSaved, err}
	}
	if err := l.replace(f.Bytes()); err != nil && !opts.AllowReadonly {
		return Result{}, &fileError{path, ErrNotSaved, err}
	}
	return res, verr
}

// ReadFile reads and parses the state file at path with the checks and the
// lock of VerifyFile (type, owner, permissions, size), and changes nothing.
// Errors wrap ErrUnusable, or ErrNoFile for a missing file when
// opts.NullOK is set.
func ReadFile(ctx context.Context, path string, opts Options) (*File, error) {
	l, err := openLocked(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	defer l.f.Close()
	f, err := Parse(l.data)
	if err != nil {
		return nil, &fileError{path, ErrUnusable, err}
	}
	return f, nil
}

// lockedFile is an open, flock-ed state file and what was read from it.
type lockedFile struct {
	f    *os.File
	path string
	stat syscall.Stat_t
	data []byte
}

// maxLockTries bounds how often openLocked starts again because the file
// was replaced while it waited for the lock.
const maxLockTries = 1000

// openLocked opens path, locks it, checks it and reads it.
func openLocked(ctx context.Context, path string, opts Options) (*lockedFile, error) {
	l := &lockedFile{path: path}
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			if opts.NullOK && errors.Is(err, fs.ErrNotExist) {
				return nil, &fileError{path, ErrNoFile, nil}
			}
			return nil, &fileError{path, ErrUnusable, unwrapPathError(err)}
		}
		if err := flock(f); err != nil {
			f.Close()
			return nil, &fileError{path, ErrUnusable, err}
		}
		var now syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &l.stat); err != nil {
			f.Close()
			return nil, &fileError{path, ErrUnusable, err}
		}
		// The lock is on an inode: if a writer renamed a new file over path
		// while we waited, our inode is stale and the lock protects nothing.
		if syscall.Stat(path, &now) == nil && now.Ino == l.stat.Ino && now.Dev == l.stat.Dev {
			l.f = f
			break
		}
		f.Close()
		if try == maxLockTries {
			return nil, &fileError{path, ErrUnusable, errors.New("replaced too often while waiting for the lock")}
		}
	}
	if err := l.check(opts); err != nil {
		l.f.Close()
		return nil, &fileError{path, ErrUnusable, err}
	}
	l.data = make([]byte, l.stat.Size)
	if _, err := io.ReadFull(l.f, l.data); err != nil {
		l.f.Close()
		return nil, &fileError{path, ErrUnusable, err}
	}
	return l, nil
}

// unwrapPathError drops the operation and path that os adds, since
// fileError names the path already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// flock takes an exclusive advisory lock on f, waiting for it.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

// check applies the stock module's checks to the opened file, in its order
// (spec §4.3).
func (l *lockedFile) check(opts Options) error {
	if l.stat.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return errors.New("not a regular file")
	}
	allowed := opts.AllowedPerm
	if allowed == 0 {
		allowed = 0o600
	}
	if perm := l.stat.Mode & 0o3777; perm&^allowed != 0 {
		return fmt.Errorf("permissions %04o are more permissive than %04o", perm, allowed)
	}
	if !opts.NoStrictOwner && int(l.stat.Uid) != opts.UID {
		return fmt.Errorf("owned by user id %d, want %d", l.stat.Uid, opts.UID)
	}
	if l.stat.Size < 1 || l.stat.Size > MaxSize {
		return fmt.Errorf("size %d bytes, want 1 to %d", l.stat.Size, MaxSize)
	}
	return nil
}

// errChanged reports that the file was replaced or modified between the
// read and the write, by a program that does not take our lock.
var errChanged = errors.New("changed while in use")

// replace writes data over the file atomically (see VerifyFile).
func (l *lockedFile) replace(data []byte) error {
	dir := filepath.Dir(l.path)
	n, err := writeNew(dir, data, func() (*os.File, error) {
		return os.OpenFile(tempName(l.path), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o400)
	})
	if err != nil {
		return unwrapPathError(err)
	}
	defer n.f.Close()
	var now syscall.Stat_t
	if err := syscall.Stat(l.path, &now); err != nil {
		n.discard()
		return err
	}
	if now.Ino != l.stat.Ino || now.Dev != l.stat.Dev || now.Size != l.stat.Size || now.Mtim != l.stat.Mtim {
		n.discard()
		return errChanged
	}
	// The file gets a name only now, and keeps it for as long as the
	// rename takes: a writer killed in between leaves it to removeStale.
	for try := 0; ; try++ {
		err := n.link(tempName(l.path))
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 10 {
			n.discard()
			return err
		}
	}
	if err := os.Rename(n.name, l.path); err != nil {
		n.discard()
		return unwrapPathError(err)
	}
	// From here on the new file is in place: report a failure to make the
	// rename durable, but there is no temporary file left to remove.
	return syncDir(dir)
}

// syncDir fsyncs directory dir, so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return unwrapPathError(err)
	}
	defer d.Close()
	return d.Sync()
}
