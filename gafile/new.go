package gafile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/otpgate/otpgate/otp"
)

// Settings are the choices that make a new state file: what Google's
// google-authenticator command decides from its flags and questions
// (spec §2.1, §2.5). The zero value of each optional field writes no line
// for it, so the module's default applies.
type Settings struct {
	// Secret is the shared secret, written in base32 without padding on
	// line 1. It must not be empty.
	Secret otp.Secret
	// HOTP makes the file counter-based (`" HOTP_COUNTER 1`); otherwise
	// it is time-based (`" TOTP_AUTH`).
	HOTP bool
	// DisallowReuse writes `" DISALLOW_REUSE` (time-based only).
	DisallowReuse bool
	// StepSize is the time step in seconds, 1 to 60 (time-based only);
	// zero writes no STEP_SIZE line, which means 30.
	StepSize int
	// WindowSize is the number of codes accepted, 1 to 100; zero writes
	// no WINDOW_SIZE line, which means 3.
	WindowSize int
	// RateLimit and RateTime allow at most RateLimit attempts (1 to 100)
	// in any RateTime seconds (1 to 3600); both zero write no RATE_LIMIT
	// line, which means no limit.
	RateLimit, RateTime int
	// ScratchCodes are the emergency codes, 10000000 to 99999999, one line
	// each after the mode line, in this order.
	ScratchCodes []int
}

// New returns a new state file with the lines in the order the stock
// command writes them (spec §2.5): the secret; RATE_LIMIT, WINDOW_SIZE,
// STEP_SIZE and DISALLOW_REUSE, each only when set; the mode line; the
// scratch codes. Lines end in LF, and there are no blank lines. Values
// out of the ranges the module reads (spec §3.3) are errors.
func New(s Settings) (*File, error) {
	if len(s.Secret) == 0 {
		return nil, errors.New("gafile: new file: empty secret")
	}
	if s.HOTP && (s.DisallowReuse || s.StepSize != 0) {
		return nil, errors.New("gafile: new file: DISALLOW_REUSE and STEP_SIZE are for time-based files only")
	}
	checks := []struct {
		name      string
		v, lo, hi int
	}{
		{"STEP_SIZE", s.StepSize, 1, 60},
		{"WINDOW_SIZE", s.WindowSize, 1, 100},
		{"RATE_LIMIT attempts", s.RateLimit, 1, 100},
		{"RATE_LIMIT seconds", s.RateTime, 1, 3600},
	}
	for _, c := range checks {
		if c.v != 0 && (c.v < c.lo || c.v > c.hi) {
			return nil, fmt.Errorf("gafile: new file: %s %d, want %d to %d", c.name, c.v, c.lo, c.hi)
		}
	}
	if (s.RateLimit == 0) != (s.RateTime == 0) {
		return nil, errors.New("gafile: new file: RATE_LIMIT needs both attempts and seconds")
	}
	var b strings.Builder
	b.WriteString(s.Secret.Base32() + "\n")
	// The stock command inserts each option line right after line 1, in
	// the order DISALLOW_REUSE, STEP_SIZE, WINDOW_SIZE, RATE_LIMIT, which
	// writes them in reverse.
	if s.RateLimit != 0 {
		b.WriteString(`" RATE_LIMIT ` + itoa(s.RateLimit) + " " + itoa(s.RateTime) + "\n")
	}
	if s.WindowSize != 0 {
		b.WriteString(`" WINDOW_SIZE ` + itoa(s.WindowSize) + "\n")
	}
	if s.StepSize != 0 {
		b.WriteString(`" STEP_SIZE ` + itoa(s.StepSize) + "\n")
	}
	if s.DisallowReuse {
		b.WriteString(`" DISALLOW_REUSE` + "\n")
	}
	if s.HOTP {
		b.WriteString(`" HOTP_COUNTER 1` + "\n")
	} else {
		b.WriteString(`" TOTP_AUTH` + "\n")
	}
	for _, c := range s.ScratchCodes {
		if c < 10_000_000 || c > 99_999_999 {
			return nil, fmt.Errorf("gafile: new file: scratch code %d, want 8 digits", c)
		}
		b.WriteString(itoa(c) + "\n")
	}
	return Parse([]byte(b.String()))
}

// Create writes f to path as the stock command writes a new file (spec
// §2.5), made durable: the content goes to a file of mode 0400 in path's
// directory, is flushed to disk, takes the name path+"~" (exclusively:
// never following or replacing anything there) and is renamed over path,
// replacing a file or a symbolic link there without following it; then
// the directory is flushed. If path+"~" exists (another run under way, or
// one of the stock command that died), nothing is written and the error
// wraps fs.ErrExist. Where the file system supports O_TMPFILE, the
// content has no name until it is complete, so that a process killed
// while writing leaves nothing behind. On failure path is left as it was.
// ctx is checked before path is replaced.
func Create(ctx context.Context, path string, f *File) error {
	tmp := path + "~"
	n, err := writeNew(filepath.Dir(path), f.Bytes(), func() (*os.File, error) {
		return os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o400)
	})
	if err != nil {
		return createError(path, tmp, err)
	}
	if err := ctx.Err(); err != nil {
		n.discard()
		return fmt.Errorf("gafile: %q: %w", path, err)
	}
	if err := n.link(tmp); err != nil {
		n.discard()
		return createError(path, tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		n.discard()
		return fmt.Errorf("gafile: %q: %w", path, unwrapPathError(err))
	}
	n.f.Close()
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("gafile: %q written, but its directory not flushed: %w", path, err)
	}
	return nil
}

// createError words an error of Create, naming the temporary file when
// it is in the way.
func createError(path, tmp string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("gafile: %q: %q exists: %w", path, tmp, fs.ErrExist)
	}
	return fmt.Errorf("gafile: %q: %w", path, unwrapPathError(err))
}
