package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/userfile"
)

// maxAnswer bounds what verify-file reads from standard input.
const maxAnswer = 4096

// verifyFileUsage is the help text of verify-file.
const verifyFileUsage = `usage: otpgate verify-file [flags] [module arguments]

Verifies one code, read from standard input, against a ~/.google_authenticator
state file exactly as pam_google_authenticator does, and saves the file as the
module would. Exit status: 0 accepted (or no file with nullok), 1 refused,
2 unusable input, arguments or file; the reason is one line on standard error.

The module's arguments may also be given as they appear in a PAM
configuration (secret=PATH nullok forward_pass ...). The account is PAM_USER
when set (as under pam_exec), else the invoking user; the remote host is
PAM_RHOST. Running as root, the command acts as that account, as the module
does. A trailing NUL (pam_exec expose_authtok) and a trailing newline are
removed from the answer. With forward_pass, the password part is discarded.
For example, after the password module in a PAM stack:

  auth required pam_exec.so expose_authtok quiet /usr/bin/otpgate verify-file secret=${HOME}/.google_authenticator

flags:
`

// verifyFileConfig holds the flags of verify-file.
type verifyFileConfig struct {
	secret, user, allowedPerm, rhost, now string
	gracePeriod                           int
	opts                                  gafile.Options
}

// runVerifyFile is "otpgate verify-file".
func runVerifyFile(ctx context.Context, e env) error {
	var c verifyFileConfig
	fs := flag.NewFlagSet("verify-file", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyFileUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.secret, "secret", "~/.google_authenticator", "state `file`; ~ (at the start or after /), ${HOME} and ${USER} are expanded")
	fs.StringVar(&c.user, "user", "", "fixed `account` (name or uid) for file access and the owner check, instead of the PAM user")
	fs.BoolVar(&c.opts.NullOK, "nullok", false, "a missing file is not an error: exit 0 without reading a code")
	fs.BoolVar(&c.opts.ForwardPass, "forward_pass", false, "the answer is a password followed by the code")
	fs.BoolVar(&c.opts.NoSkewAdj, "noskewadj", false, "do not learn the time skew of the user's device")
	fs.BoolVar(&c.opts.NoIncrementHOTP, "no_increment_hotp", false, "a wrong counter-based code does not advance the counter")
	fs.StringVar(&c.allowedPerm, "allowed_perm", "0600", "permission bits the file may have, in `octal`")
	fs.BoolVar(&c.opts.NoStrictOwner, "no_strict_owner", false, "do not check who owns the file")
	fs.BoolVar(&c.opts.AllowReadonly, "allow_readonly", false, "accept even when the file cannot be updated")
	fs.IntVar(&c.gracePeriod, "grace_period", 0, "accept a host without a code for `seconds` after its last login (0: off)")
	fs.StringVar(&c.rhost, "rhost", e.getenv("PAM_RHOST"), "the client's `host`, for grace_period")
	fs.StringVar(&c.now, "now", "", "the time, in Unix `seconds` (default: the clock)")
	if err := parseFlags(fs, e.args, e); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	for _, a := range fs.Args() {
		name, val, hasVal := strings.Cut(a, "=")
		f := fs.Lookup(name)
		if f == nil || name == "now" || name == "rhost" {
			return exitError{code: 2, msg: fmt.Sprintf("verify-file: unknown module argument %q", a)}
		}
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool == hasVal {
			return exitError{code: 2, msg: fmt.Sprintf("verify-file: module argument %q: wrong form", a)}
		}
		if !hasVal {
			val = "true"
		}
		if err := fs.Set(name, val); err != nil {
			return exitError{code: 2, msg: fmt.Sprintf("verify-file: module argument %q: %v", a, err)}
		}
	}

	now := time.Now()
	if c.now != "" {
		n, err := strconv.ParseInt(c.now, 10, 64)
		if err != nil || n < 0 {
			return exitError{code: 2, msg: fmt.Sprintf("verify-file: -now %q: want Unix seconds", c.now)}
		}
		now = time.Unix(n, 0)
	}
	perm, err := strconv.ParseUint(c.allowedPerm, 8, 32)
	if err != nil || perm == 0 {
		return exitError{code: 2, msg: fmt.Sprintf("verify-file: allowed_perm %q: want a positive octal number", c.allowedPerm)}
	}
	c.opts.AllowedPerm = uint32(perm)
	if c.gracePeriod < 0 {
		return exitError{code: 2, msg: fmt.Sprintf("verify-file: grace_period %d: want 0 or more seconds", c.gracePeriod)}
	}
	c.opts.GracePeriod = time.Duration(c.gracePeriod) * time.Second
	c.opts.RemoteHost = c.rhost

	path, uid, err := c.account(e.getenv)
	if err != nil {
		return exitError{code: 2, msg: "verify-file: " + err.Error()}
	}
	c.opts.UID = uid
	if err := userfile.BecomeProcess(uid); err != nil {
		return exitError{code: 2, msg: "verify-file: " + err.Error()}
	}
	answer, err := readAnswer(e.stdin)
	if err != nil {
		return exitError{code: 2, msg: "verify-file: reading the answer: " + err.Error()}
	}

	res, err := gafile.VerifyFile(ctx, path, answer, now, c.opts)
	switch {
	case err == nil:
		fmt.Fprintf(e.stderr, "otpgate: accepted: %s\n", res.Method)
		return nil
	case errors.Is(err, gafile.ErrNoFile):
		fmt.Fprintf(e.stderr, "otpgate: %v (nullok)\n", err)
		return nil
	case errors.Is(err, gafile.ErrUnusable), errors.Is(err, gafile.ErrNotSaved):
		return exitError{code: 2, msg: err.Error()}
	default:
		return exitError{code: 1, msg: err.Error()}
	}
}

// account resolves the state file's path and the account that must own
// it, as the module does (spec §4.2, §4.3).
func (c *verifyFileConfig) account(getenv func(string) string) (path string, uid int, err error) {
	name := getenv("PAM_USER")
	if name == "" {
		u, err := user.Current()
		if err != nil {
			return "", 0, fmt.Errorf("who is the user: %w", err)
		}
		name = u.Username
	}
	home := ""
	if c.user != "" {
		if uid, err = parseUser(c.user); err != nil {
			return "", 0, err
		}
	} else {
		u, err := user.Lookup(name)
		if err != nil || !strings.HasPrefix(u.HomeDir, "/") {
			return "", 0, fmt.Errorf("no home directory for user %q", name)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return "", 0, fmt.Errorf("user %q: uid %q", name, u.Uid)
		}
		home = u.HomeDir
	}
	if path, err = userfile.Expand(c.secret, home, name); err != nil {
		return "", 0, fmt.Errorf("secret=%s: no home directory when user= is set", c.secret)
	}
	return path, uid, nil
}

// parseUser reads the module's user= argument: a leading decimal number is
// a uid (the rest ignored, as strtol does), anything else a user name.
func parseUser(s string) (int, error) {
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		if n, err := strconv.ParseInt(s[:digits], 10, 32); err == nil {
			return int(n), nil
		}
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, fmt.Errorf("user=%s: no such user", s)
	}
	return strconv.Atoi(u.Uid)
}

// readAnswer reads the answer from r: at most maxAnswer bytes, without a
// trailing NUL (pam_exec sends one) and one trailing newline.
func readAnswer(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAnswer+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxAnswer {
		return "", fmt.Errorf("longer than %d bytes", maxAnswer)
	}
	s := strings.TrimSuffix(string(data), "\x00")
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
