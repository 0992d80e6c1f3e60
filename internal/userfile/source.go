package userfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/mfa"
)

// Options say where users' files are and how they are judged.
type Options struct {
	// Template is the path of a user's file, with ${USER} and ${HOME}
	// (see ValidateTemplate), e.g. /home/${USER}/.google_authenticator.
	Template string
	// AllowedPerm holds the permission bits a file may have; zero means
	// 0600 (module allowed_perm).
	AllowedPerm uint32
	// NoStrictOwner skips the check that the user owns the file (module
	// no_strict_owner); the file is then used as the server's account.
	NoStrictOwner bool
}

// Source finds and checks users' state files; it implements
// mfa.FileFactor.
type Source struct {
	log    *slog.Logger
	opts   Options
	lookup func(name string) (Account, error)
	counts [mfa.FileUnusable + 1]atomic.Uint64
}

// New returns a Source after checking the template. Accounts come from the
// system's account database.
func New(log *slog.Logger, opts Options) (*Source, error) {
	if err := ValidateTemplate(opts.Template); err != nil {
		return nil, err
	}
	return &Source{log: log, opts: opts, lookup: LookupAccount}, nil
}

// errNoFile means that the user has no file.
var errNoFile = errors.New("no state file")

// locate returns the path of the user's file and the account that uses
// it: the user's, or, with UID -1, the server's (owner check off).
func (s *Source) locate(name string) (path string, acct Account, err error) {
	if err := ValidateName(name); err != nil {
		return "", Account{}, err
	}
	acct, err = s.lookup(name)
	switch {
	case errors.Is(err, ErrNoAccount) && needsHome(s.opts.Template):
		// No account, no home directory, so no file.
		return "", Account{}, errNoFile
	case errors.Is(err, ErrNoAccount) && s.opts.NoStrictOwner:
		acct.UID = -1
	case err != nil:
		return "", Account{}, err
	}
	path, err = Expand(s.opts.Template, acct.Home, name)
	if err != nil {
		return "", Account{}, err
	}
	if s.opts.NoStrictOwner && os.Geteuid() != 0 {
		acct.UID = -1
	}
	return path, acct, nil
}

// as runs fn as the account (see Do), or as the server for UID -1.
func as(a Account, fn func() error) error {
	if a.UID < 0 {
		return fn()
	}
	return Do(a.UID, a.GID, fn)
}

// gaOptions are the module options of an attempt on a file of uid.
func (s *Source) gaOptions(uid int) gafile.Options {
	return gafile.Options{UID: uid, NoStrictOwner: s.opts.NoStrictOwner || uid < 0, AllowedPerm: s.opts.AllowedPerm, NullOK: true}
}

// HasFile implements mfa.FileFactor: false only when the file does not
// exist (or cannot, for want of a system account with a home directory).
func (s *Source) HasFile(ctx context.Context, name string) bool {
	path, _, err := s.locate(name)
	if errors.Is(err, errNoFile) {
		return false
	}
	if err != nil {
		s.log.WarnContext(ctx, "user file", "user", name, "result", "file unusable", "err", err)
		return true
	}
	// A look as the server suffices: root sees every file, and a server
	// that cannot see one will not be able to use it either (it fails
	// closed when the code is checked).
	_, err = os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false
	}
	if err != nil {
		s.log.WarnContext(ctx, "user file", "user", name, "result", "file unusable", "err", err)
	}
	return true
}

// CheckFile implements mfa.FileFactor: a look first, so that a user
// without a file costs no read (and, when the template needs no home
// directory, no account look-up), then the file read and parsed as its
// owner with the checks of VerifyCode, changing nothing. It logs nothing:
// the coverage looks at every unenrolled member's file at each count.
func (s *Source) CheckFile(ctx context.Context, name string) mfa.FileState {
	if !needsHome(s.opts.Template) && ValidateName(name) == nil {
		if path, err := Expand(s.opts.Template, "", name); err == nil && absent(path) {
			return mfa.FileAbsent
		}
	}
	path, acct, err := s.locate(name)
	switch {
	case errors.Is(err, errNoFile):
		return mfa.FileAbsent
	case err != nil:
		return mfa.FileBroken
	case absent(path):
		return mfa.FileAbsent
	}
	err = as(acct, func() error {
		_, rerr := gafile.ReadFile(ctx, path, s.gaOptions(acct.UID))
		return rerr
	})
	switch {
	case err == nil:
		return mfa.FileUsable
	case errors.Is(err, gafile.ErrNoFile):
		return mfa.FileAbsent // removed meanwhile
	}
	return mfa.FileBroken
}

// absent reports whether a look as the server finds no file at path.
func absent(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// VerifyCode implements mfa.FileFactor with gafile.VerifyFile, as the
// file's owner. Each verdict is logged (never the code) and counted.
func (s *Source) VerifyCode(ctx context.Context, name, code string, now time.Time) mfa.FileVerdict {
	var res gafile.Result
	path, acct, err := s.locate(name)
	if err == nil {
		err = as(acct, func() error {
			var verr error
			res, verr = gafile.VerifyFile(ctx, path, code, now, s.gaOptions(acct.UID))
			return verr
		})
	}
	v := verdict(err)
	// count is how many attempts have had this result since the start.
	attrs := []any{"user", name, "result", v.String(), "count", s.counts[v].Add(1)}
	switch v {
	case mfa.FileAccepted:
		s.log.InfoContext(ctx, "user file", append(attrs, "method", res.Method.String())...)
	case mfa.FileUnusable:
		s.log.WarnContext(ctx, "user file", append(attrs, "err", err)...)
	default:
		s.log.InfoContext(ctx, "user file", attrs...)
	}
	return v
}

// verdict maps what VerifyFile returned to a verdict.
func verdict(err error) mfa.FileVerdict {
	switch {
	case err == nil:
		return mfa.FileAccepted
	case errors.Is(err, errNoFile), errors.Is(err, gafile.ErrNoFile):
		return mfa.FileMissing
	case errors.Is(err, gafile.ErrWrongCode):
		return mfa.FileWrongCode
	case errors.Is(err, gafile.ErrMalformedAnswer):
		return mfa.FileMalformed
	case errors.Is(err, gafile.ErrReused):
		return mfa.FileReused
	case errors.Is(err, gafile.ErrRateLimited):
		return mfa.FileRateLimited
	case errors.Is(err, gafile.ErrSkewed):
		return mfa.FileSkewed
	}
	// ErrUnusable, ErrNotSaved, an unsafe name, a failed look-up or
	// identity switch: fail closed.
	return mfa.FileUnusable
}

// Counts returns how many attempts ended with each verdict, by name.
func (s *Source) Counts() map[string]uint64 {
	m := map[string]uint64{}
	for v := range s.counts {
		if n := s.counts[v].Load(); n > 0 {
			m[mfa.FileVerdict(v).String()] = n
		}
	}
	return m
}

// Read reads and parses the user's file with the checks of VerifyFile, as
// its owner, changing nothing (for importing it). A missing file gives an
// error wrapping gafile.ErrNoFile; it returns the file's path too.
func (s *Source) Read(ctx context.Context, name string) (*gafile.File, string, error) {
	path, acct, err := s.locate(name)
	if errors.Is(err, errNoFile) {
		return nil, "", fmt.Errorf("%w (no system account with a home directory)", gafile.ErrNoFile)
	}
	if err != nil {
		return nil, "", err
	}
	var f *gafile.File
	err = as(acct, func() error {
		var rerr error
		f, rerr = gafile.ReadFile(ctx, path, s.gaOptions(acct.UID))
		return rerr
	})
	return f, path, err
}
