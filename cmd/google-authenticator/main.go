// Command google-authenticator is otpgate's drop-in for Google's
// google-authenticator command (libpam-google-authenticator): it creates a
// new secret, shows it as a QR code and an otpauth:// URI for an
// authenticator app, and writes ~/.google_authenticator, the state file
// that Google's PAM module and otpgate read.
//
// Usage:
//
//	google-authenticator [options]
//
// Run "google-authenticator --help" for the options. They are the stock
// tool's (Debian's 1.08), short and long, with the same ranges, errors and
// exit statuses, plus --version. The questions, and the prompt for a code
// from the app, are the stock tool's word for word, in the same order and
// with the same yes/no meaning (an answer counts by its first letter, y or
// n; any other answer repeats the question; the end of the input exits
// with status 1); like the stock tool's, they speak of 30 seconds whatever
// -S says. The file has the same lines in the same order. So scripts
// written for the stock tool (expect, Ansible) and the stock PAM module
// work unchanged. The other messages (the key, the codes, errors) are
// worded anew.
//
// Where it differs from the stock tool, on purpose:
//
//   - Secrets are 20 random bytes (32 base32 characters), as RFC 4226 §4
//     recommends and upstream writes since 1.11; 1.08 writes 16.
//   - The otpauth:// URI is printed as it is; the stock tool's link to a
//     Google chart service, which would send the secret to Google, is left
//     out. With -S other than 30 the URI says period=S, so that apps
//     generate codes of the right length of time (the stock URI omits it,
//     and such apps would show wrong codes).
//   - The confirmation ("enter a code from the app") accepts a phone one
//     time step off either way, and runs only when standard input is a
//     terminal: with answers piped in there is nobody to scan the code, and
//     the stock tool would take the next answer as the code, so that
//     printf 'y\ny\ny\nn\ny\n' | google-authenticator never wrote a file.
//     A code or -1 piped in for the stock tool's confirmation still works:
//     a y/n question ignores an answer that starts with neither letter.
//   - Without the confirmation (-C, or input that is not a terminal), a
//     time-based secret shows the code for the current time step. The
//     stock tool shows the counter-based code for counter 1, which an app
//     never displays for a time-based key. Counter-based secrets show the
//     code for counter 1, the first one the app shows, as the stock tool
//     does.
//   - A missing or relative $HOME (with no -s) is reported before anything
//     else, not after the secret has been shown for a file that cannot be
//     written. The exit status is 1 either way.
//   - The file is flushed to disk (fsync) before it is renamed into place,
//     and the directory after, so that a crash leaves the old file or the
//     new one. Where the file system supports O_TMPFILE, the new content
//     has no name until it is complete, so that a run killed while
//     writing leaves no FILE~ behind to stop the next one.
//
// The QR code is drawn only when standard output is a terminal, as in
// 1.08; -Q NONE leaves out the URI and the QR code.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/qr"
	"github.com/otpgate/otpgate/otp"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// secretSize is the size of a new secret in bytes.
const secretSize = 20

// maxURI bounds the otpauth URI's length in bytes, as the stock tool does
// (it exits with status 1 when escaping the URI for its chart link might
// take more than 10000 bytes).
const maxURI = 3333

// defaultFile is the state file under $HOME.
const defaultFile = ".google_authenticator"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, rand.Reader, time.Now))
}

// run is the whole command; it returns the exit status. Randomness and
// the clock are injected so that tests are repeatable; stdin and stdout
// count as terminals when they are terminal *os.File values.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, random io.Reader, now func() time.Time) int {
	err := enrol(args, getenv, stdin, stdout, random, now)
	var e *exit
	if !errors.As(err, &e) {
		if err == nil {
			return 0
		}
		e = &exit{status: 1, msg: err.Error()}
	}
	if e.msg != "" {
		fmt.Fprintf(stderr, "google-authenticator: %s\n", e.msg)
	}
	if e.usage {
		io.WriteString(stdout, usageText)
	}
	return e.status
}

// enrol runs the command's steps in the stock tool's order.
func enrol(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer, random io.Reader, now func() time.Time) error {
	o, e := parseArgs(args, stdout)
	if e != nil {
		return e
	}
	path := o.secretPath
	if path == "" {
		home := getenv("HOME")
		if !strings.HasPrefix(home, "/") {
			return fail("cannot determine your home directory ($HOME is not an absolute path); name the file with -s")
		}
		path = strings.TrimSuffix(home, "/") + "/" + defaultFile
	}
	secret, err := otp.NewSecret(random, secretSize)
	if err != nil {
		return fmt.Errorf("cannot make a secret: %w", err)
	}
	p := prompter{in: bufio.NewReader(stdin), out: stdout}

	step := 30
	if o.stepSize != 0 {
		step = o.stepSize
	}
	totp := o.mode == totpMode
	if o.mode == askMode {
		if totp, err = p.yesNo(askTimeBased); err != nil {
			return err
		}
	}
	if !totp {
		step = 30 // -S means nothing for counter-based codes
	}
	key := otp.Key{Secret: secret, Period: time.Duration(step) * time.Second}

	if !o.quiet {
		if err := show(stdout, o, key, totp); err != nil {
			return err
		}
		if totp && !o.noConfirm && isTerminal(stdin) {
			if err := confirm(p, key, now); err != nil {
				return err
			}
		} else if totp {
			fmt.Fprintf(stdout, "The app should now show the code %s (it changes every %d seconds).\n", key.TOTP(now()), step)
		} else {
			fmt.Fprintf(stdout, "The app's first code (counter 1) should be %s.\n", key.HOTP(1))
		}
	}
	scratch, err := scratchCodes(random, o.scratch)
	if err != nil {
		return err
	}
	if !o.quiet && len(scratch) > 0 {
		fmt.Fprintln(stdout, "Emergency scratch codes, each good for one login (keep them somewhere safe):")
		for _, c := range scratch {
			fmt.Fprintf(stdout, "  %d\n", c)
		}
	}

	if !o.force {
		ok, err := p.yesNo(fmt.Sprintf(askUpdate, path))
		if err != nil || !ok {
			return err
		}
	}
	settings := gafile.Settings{Secret: secret, HOTP: !totp, ScratchCodes: scratch}
	if err := ask(p, &o, &settings); err != nil {
		return err
	}
	f, err := gafile.New(settings)
	if err != nil {
		return err
	}
	if err := gafile.Create(context.Background(), path, f); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail("cannot write %q: %q exists (left by a run that did not finish?); nothing written", path, path+"~")
		}
		return fail("%s", strings.TrimPrefix(err.Error(), "gafile: "))
	}
	return nil
}

// show prints the key for the app: the URI and, on a terminal, the QR
// code (unless -Q NONE), then the secret for typing in by hand.
func show(w io.Writer, o options, key otp.Key, totp bool) error {
	if o.qr != qrNone {
		u := keyURI(key, totp, label(o), issuer(o))
		if stockURILength(u) > maxURI {
			return fail("the label and issuer make the otpauth URI too long (over %d bytes); nothing written", maxURI)
		}
		uri := u.Encode()
		fmt.Fprintf(w, "Key URI for your authenticator app (it holds the secret: keep it private):\n  %s\n", uri)
		if isTerminal(w) {
			if err := qr.Terminal(w, uri, o.qr.terminalMode()); err != nil {
				fmt.Fprintf(w, "Cannot draw the QR code (%v): type the secret key into the app instead.\n", err)
			}
		}
	}
	_, err := fmt.Fprintf(w, "Your new secret key, to type into the app by hand: %s\n", key.Secret.Base32())
	return err
}

// confirm asks for a code from the app until it is right (one time step
// either way counts) or the answer is negative, as the stock tool does:
// the answer is read like C's strtol, so garbage counts as 0.
func confirm(p prompter, key otp.Key, now func() time.Time) error {
	for {
		line, err := p.line(askCode)
		if err != nil {
			return err
		}
		n, negative := leadingNumber(line)
		if negative {
			fmt.Fprintln(p.out, "Confirmation skipped.")
			return nil
		}
		if n < 1000000 {
			if _, err := key.Verify(fmt.Sprintf("%06d", n), now(), otp.Skew(1)); err == nil {
				fmt.Fprintln(p.out, "Code confirmed: the app is set up.")
				return nil
			}
		}
		fmt.Fprintln(p.out, "That is not the app's code. Check that the phone's clock is right, and try again.")
	}
}

// leadingNumber reads a decimal number at the start of s as strtol does:
// after white space, an optional sign and digits; anything else is 0.
// Values too large for a code come back as 1000000.
func leadingNumber(s string) (n int, negative bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	sign := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign = s[0] == '-'
		s = s[1:]
	}
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n < 1000000 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if n > 1000000 {
		n = 1000000
	}
	return n, sign && n != 0
}

// The stock tool's questions (spec §2.2), word for word, so that scripts
// that answer them (expect, Ansible) work unchanged; yesNo adds " (y/n) ".
// They say 30 seconds whatever -S says, as the stock tool's do.
const (
	askTimeBased     = "Do you want authentication tokens to be time-based"
	askUpdate        = `Do you want me to update your "%s" file?`
	askCode          = "Enter code from app (-1 to skip): "
	askDisallowReuse = "Do you want to disallow multiple uses of the same authentication\n" +
		"token? This restricts you to one login about every 30s, but it increases\n" +
		"your chances to notice or even prevent man-in-the-middle attacks"
	askTimeWindow = "By default, a new token is generated every 30 seconds by the mobile app.\n" +
		"In order to compensate for possible time-skew between the client and the server,\n" +
		"we allow an extra token before and after the current time. This allows for a\n" +
		"time skew of up to 30 seconds between authentication server and client. If you\n" +
		"experience problems with poor time synchronization, you can increase the window\n" +
		"from its default size of 3 permitted codes (one previous code, the current\n" +
		"code, the next code) to 17 permitted codes (the 8 previous codes, the current\n" +
		"code, and the 8 next codes). This will permit for a time skew of up to 4 minutes\n" +
		"between client and server.\n" +
		"Do you want to do so?"
	askCounterWindow = "By default, three tokens are valid at any one time.  This accounts for\n" +
		"generated-but-not-used tokens and failed login attempts. In order to\n" +
		"decrease the likelihood of synchronization problems, this window can be\n" +
		"increased from its default size of 3 to 17. Do you want to do so?"
	askRateLimit = "If the computer that you are logging into isn't hardened against brute-force\n" +
		"login attempts, you can enable rate-limiting for the authentication module.\n" +
		"By default, this limits attackers to no more than 3 login attempts every 30s.\n" +
		"Do you want to enable rate-limiting?"
)

// ask puts the remaining questions (or applies the options that answer
// them) in the stock tool's order, and records the answers in s.
func ask(p prompter, o *options, s *gafile.Settings) error {
	if !s.HOTP {
		switch o.reuse {
		case askReuse:
			yes, err := p.yesNo(askDisallowReuse)
			if err != nil {
				return err
			}
			s.DisallowReuse = yes
		case disallowReuse:
			s.DisallowReuse = true
		}
		s.StepSize = o.stepSize
		switch {
		case o.windowSize == 0:
			yes, err := p.yesNo(askTimeWindow)
			if err != nil {
				return err
			}
			if yes {
				s.WindowSize = 17
			}
		case o.windowSize < 0:
			s.WindowSize = 3
		default:
			s.WindowSize = o.windowSize
		}
	} else {
		switch {
		case o.windowSize == 0:
			yes, err := p.yesNo(askCounterWindow)
			if err != nil {
				return err
			}
			if yes {
				s.WindowSize = 17
			}
		case o.windowSize < 0:
			s.WindowSize = 1
		default:
			s.WindowSize = o.windowSize
		}
	}
	switch {
	case o.rateLimit == 0:
		yes, err := p.yesNo(askRateLimit)
		if err != nil {
			return err
		}
		if yes {
			s.RateLimit, s.RateTime = 3, 30
		}
	case o.rateLimit > 0:
		s.RateLimit, s.RateTime = o.rateLimit, o.rateTime
	}
	return nil
}

// label returns the URI label: -l, or user@hostname.
func label(o options) string {
	if o.label != nil {
		return *o.label
	}
	return userName() + "@" + hostname()
}

// issuer returns the URI issuer: -i, or the hostname.
func issuer(o options) string {
	if o.issuer != nil {
		return *o.issuer
	}
	return hostname()
}

// userName returns the name of the real user, or the user ID when it has
// no name, as the stock tool does.
func userName() string {
	uid := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(uid); err == nil && u.Username != "" {
		return u.Username
	}
	return uid
}

// hostname returns the host name, or "unix" when it is unknown, as the
// stock tool does.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unix"
	}
	return h
}

// keyURI returns the otpauth:// URI in the stock tool's form: the label
// as given, its minimal escaping, no issuer parameter when it is empty;
// and period= when the step is not 30 seconds.
func keyURI(key otp.Key, totp bool, label, issuer string) otp.URI {
	u := otp.URI{Type: "hotp", Issuer: issuer, Label: &label, Key: otp.Key{Secret: key.Secret}}
	if totp {
		u.Type = "totp"
		if key.Period != 30*time.Second {
			u.Key.Period = key.Period
		}
	}
	return u
}

// stockURILength returns the length of the stock tool's URI with u's
// label and issuer: its 26-character secret and no period, so that the
// limit falls where the stock tool's does.
func stockURILength(u otp.URI) int {
	u.Type, u.Key = "totp", otp.Key{Secret: make(otp.Secret, 16)}
	return len(u.Encode())
}

// scratchCodes makes n emergency codes as the stock tool does: 4 random
// bytes as a big-endian number, top bit cleared, modulo 10^8; values
// below 10^7 are drawn again, so that every code has 8 digits.
func scratchCodes(random io.Reader, n int) ([]int, error) {
	codes := make([]int, 0, n)
	var buf [4]byte
	for len(codes) < n {
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return nil, fmt.Errorf("cannot make scratch codes: %w", err)
		}
		v := (binary.BigEndian.Uint32(buf[:]) & 0x7fffffff) % 100000000
		if v < 10000000 {
			continue
		}
		codes = append(codes, int(v))
	}
	return codes, nil
}

// prompter asks questions on out and reads one line of in per answer.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

// errEOF ends the command with status 1 when the input ends at a
// question, as the stock tool does.
var errEOF = &exit{status: 1, msg: "the input ended before the answer; nothing written"}

// line prints prompt and returns the next input line. At the end of the
// input it prints a newline (to end the prompt's line) and returns errEOF.
func (p prompter) line(prompt string) (string, error) {
	io.WriteString(p.out, prompt)
	s, err := p.in.ReadString('\n')
	if s != "" {
		return s, nil
	}
	if err == io.EOF {
		io.WriteString(p.out, "\n")
		return "", errEOF
	}
	return "", fmt.Errorf("reading the answer: %w", err)
}

// yesNo asks question after a blank line, until the answer starts with
// y or n (either case).
func (p prompter) yesNo(question string) (bool, error) {
	io.WriteString(p.out, "\n")
	for {
		s, err := p.line(question + " (y/n) ")
		if err != nil {
			return false, err
		}
		switch s[0] {
		case 'y', 'Y':
			return true, nil
		case 'n', 'N':
			return false, nil
		}
	}
}

// isTerminal reports whether v is an *os.File open on a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
