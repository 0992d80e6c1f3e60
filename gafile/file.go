package gafile

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/otpgate/otpgate/otp"
)

// MaxSize is the largest state file the stock module reads, in bytes
// (spec §3.1); the smallest is 1.
const MaxSize = 64 * 1024

// File is a parsed state file. It keeps the file's bytes and edits them as
// the stock module does, so that Bytes returns exactly what the module
// would have written. The zero File is not usable: use Parse.
type File struct {
	buf    []byte
	secret otp.Secret
}

// Parse checks a state file's content as the stock module does (size 1 to
// MaxSize bytes, no NUL byte, a base32 secret on line 1; spec §3) and
// returns it; errors wrap ErrUnusable. Option lines are not checked here:
// like the module, Verify reports a bad value when it needs it. Parse keeps
// its own copy of data.
func Parse(data []byte) (*File, error) {
	if len(data) < 1 || len(data) > MaxSize {
		return nil, fmt.Errorf("%w: size %d bytes, want 1 to %d", ErrUnusable, len(data), MaxSize)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, fmt.Errorf("%w: line %d: NUL byte", ErrUnusable, 1+bytes.Count(data[:i], []byte{'\n'}))
	}
	secret, err := decodeSecret(data[:strcspn(data, "\n")])
	if err != nil {
		return nil, err
	}
	return &File{buf: bytes.Clone(data), secret: secret}, nil
}

// Bytes returns the file's content, with every edit made so far. The
// caller must not modify it.
func (f *File) Bytes() []byte { return f.buf }

// Secret returns the decoded shared secret of line 1.
func (f *File) Secret() otp.Secret { return f.secret }

// line returns the 1-based line number of byte offset pos.
func (f *File) line(pos int) int { return 1 + bytes.Count(f.buf[:pos], []byte{'\n'}) }

// nextLine returns the start of the line after the one at pos: lines are
// separated by any run of CR and LF, as in the module's option lookup.
func nextLine(b []byte, pos int) int {
	pos += strcspn(b[pos:], "\r\n")
	return pos + strspn(b[pos:], "\r\n")
}

// isOption reports whether the line at b starts with `" NAME` followed by
// the end of the file, a space, a tab, CR or LF (spec §3.3).
func isOption(b []byte, name string) bool {
	n := 2 + len(name)
	if len(b) < n || b[0] != '"' || b[1] != ' ' || string(b[2:n]) != name {
		return false
	}
	return len(b) == n || b[n] == ' ' || b[n] == '\t' || b[n] == '\r' || b[n] == '\n'
}

// findOption returns the offset of the first line for option name at or
// after from, or -1.
func (f *File) findOption(name string, from int) int {
	for pos := from; pos < len(f.buf); pos = nextLine(f.buf, pos) {
		if isOption(f.buf[pos:], name) {
			return pos
		}
	}
	return -1
}

// Option returns the value of the first line for option name anywhere in
// the file (the first occurrence wins): the rest of the line after the name
// and any spaces or tabs, up to CR or LF. ok is false when there is no such
// line. Option("DISALLOW_REUSE") is ("", true) for a bare `" DISALLOW_REUSE`.
func (f *File) Option(name string) (value string, ok bool) {
	v, pos := f.option(name)
	return string(v), pos >= 0
}

// option is Option returning the value's bytes and the line's offset.
func (f *File) option(name string) ([]byte, int) {
	pos := f.findOption(name, 0)
	if pos < 0 {
		return nil, -1
	}
	v := f.buf[pos+2+len(name):]
	v = v[strspn(v, " \t"):]
	return v[:strcspn(v, "\r\n")], pos
}

// SetOption sets option name to value as the stock module does (spec §3.5):
// the first line for name is replaced in place by `" NAME value` and LF,
// swallowing the CR and blank lines that followed it; later lines for name
// are deleted; without such a line, the new one goes right after line 1
// (and the line breaks that follow it). An empty value leaves a trailing
// space. value must not hold CR, LF or NUL.
func (f *File) SetOption(name, value string) {
	start := f.findOption(name, 0)
	stop := start
	if start >= 0 {
		stop = nextLine(f.buf, start)
	} else {
		start = nextLine(f.buf, 0)
		stop = start
	}
	line := `" ` + name + " " + value + "\n"
	out := make([]byte, 0, len(f.buf)-(stop-start)+len(line))
	out = append(out, f.buf[:start]...)
	out = append(out, line...)
	out = append(out, f.buf[stop:]...)
	f.buf = out
	for pos := start + len(line); pos < len(f.buf); {
		if isOption(f.buf[pos:], name) {
			f.buf = append(f.buf[:pos], f.buf[nextLine(f.buf, pos):]...)
			continue
		}
		pos = nextLine(f.buf, pos)
	}
}

// TOTP reports whether the file holds the substring `" TOTP_AUTH` anywhere,
// which is how the module recognises a time-based file (spec §3.3).
func (f *File) TOTP() bool { return bytes.Contains(f.buf, []byte(`" TOTP_AUTH`)) }

// HOTPCounter returns the value of HOTP_COUNTER read as the module reads it
// (C strtol: garbage is 0). The file is counter-based when it is at least
// 1, whatever TOTP says.
func (f *File) HOTPCounter() int64 {
	v, pos := f.option("HOTP_COUNTER")
	if pos < 0 {
		return 0
	}
	return strtol(v)
}

// smallOption reads STEP_SIZE or WINDOW_SIZE: a number from lo to hi,
// optionally followed by a space or tab and anything. def is the value when
// the option is absent.
func (f *File) smallOption(name string, def, lo, hi int) (int, error) {
	v, pos := f.option(name)
	if pos < 0 {
		return def, nil
	}
	n, end, overflow := strtoul(v)
	x := int(int32(n))
	if overflow || end == 0 || end < len(v) && v[end] != ' ' && v[end] != '\t' || x < lo || x > hi {
		return 0, fmt.Errorf("%w: line %d: %s must be %d to %d", ErrUnusable, f.line(pos), name, lo, hi)
	}
	return x, nil
}

// StepSize returns STEP_SIZE in seconds: 30 when absent, otherwise 1 to 60.
func (f *File) StepSize() (int, error) { return f.smallOption("STEP_SIZE", 30, 1, 60) }

// WindowSize returns WINDOW_SIZE, the number of codes accepted: 3 when
// absent, otherwise 1 to 100.
func (f *File) WindowSize() (int, error) { return f.smallOption("WINDOW_SIZE", 3, 1, 100) }

// TimeSkew returns TIME_SKEW in steps (C strtol: garbage is 0; absent is 0).
func (f *File) TimeSkew() int {
	v, pos := f.option("TIME_SKEW")
	if pos < 0 {
		return 0
	}
	return int(int32(strtol(v)))
}

// scratchCode is one scratch code found in the file: its value and the
// bytes its line occupies, line breaks after it included.
type scratchCode struct {
	code       int
	start, end int
}

// scratchCodes walks the lines after line 1 as the module does (spec §3.4):
// blank lines and lines starting with `"` are skipped, every other line must
// be an 8-digit number, and the first one that is not ends the list.
func (f *File) scratchCodes() []scratchCode {
	var codes []scratchCode
	b := f.buf
	pos := strcspn(b, "\n")
	for {
		pos += strspn(b[pos:], "\r\n")
		if pos < len(b) && b[pos] == '"' {
			pos += strcspn(b[pos:], "\n")
			continue
		}
		n, end, overflow := strtoul(b[pos:])
		end += pos
		code := int(int32(n))
		if overflow || end == pos || end < len(b) && b[end] != '\r' && b[end] != '\n' ||
			code < 10_000_000 || code >= 100_000_000 {
			return codes
		}
		codes = append(codes, scratchCode{code, pos, end + strspn(b[end:], "\r\n")})
		pos = end
	}
}

// ScratchCodes returns the emergency scratch codes the module would accept,
// in file order.
func (f *File) ScratchCodes() []int {
	var out []int
	for _, c := range f.scratchCodes() {
		out = append(out, c.code)
	}
	return out
}

// useScratchCode removes the first line holding code from the scratch
// list, with the line breaks after it, and reports whether there was one.
func (f *File) useScratchCode(code int) bool {
	for _, c := range f.scratchCodes() {
		if c.code == code {
			f.buf = append(f.buf[:c.start], f.buf[c.end:]...)
			return true
		}
	}
	return false
}

// itoa formats n in decimal.
func itoa[T int | int64 | uint32](n T) string { return strconv.FormatInt(int64(n), 10) }
