package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otpgate/otpgate/internal/qr"
)

// Limits of the numeric options, as the stock tool checks them.
const (
	minRateLimit, maxRateLimit = 1, 10
	minRateTime, maxRateTime   = 15, 600
	minStepSize, maxStepSize   = 1, 60
	minWindowSize, maxWindow   = 1, 21
	maxScratchCodes            = 10
	defaultScratchCodes        = 5
)

// tokenMode says whether codes are time-based, counter-based, or still to
// be asked.
type tokenMode int

const (
	askMode tokenMode = iota
	hotpMode
	totpMode
)

// reuseMode says whether DISALLOW_REUSE is written, not written, or still
// to be asked.
type reuseMode int

const (
	askReuse reuseMode = iota
	disallowReuse
	allowReuse
)

// qrMode is the -Q option: unset means ANSI.
type qrMode int

const (
	qrUnset qrMode = iota
	qrNone
	qrANSI
	qrUTF8
)

// terminalMode returns the internal/qr drawing of a mode other than none.
func (m qrMode) terminalMode() qr.Mode {
	if m == qrUTF8 {
		return qr.UTF8
	}
	return qr.ANSI
}

// options is the parsed command line. Zero values mean "not given", as in
// the stock tool, so that repeated options can be detected.
type options struct {
	mode       tokenMode
	reuse      reuseMode
	noConfirm  bool
	force      bool
	quiet      bool
	label      *string // nil: user@hostname
	issuer     *string // nil: hostname; "" leaves issuer= out
	qr         qrMode
	rateLimit  int    // 0 not given, -1 -u, else -r N
	rateTime   int    // 0 not given, -1 -u, else -R M
	secretPath string // "" means $HOME/.google_authenticator
	stepSize   int    // 0 not given
	windowSize int    // 0 not given, -1 -W, else -w W
	scratch    int    // -1 not given
}

// optionSpec describes one option: its short letter (0 for long only),
// long name, and whether it takes an argument.
type optionSpec struct {
	short byte
	long  string
	arg   bool
}

// optionSpecs lists the options in the stock tool's order (its getopt
// string "+hcCtdDfl:i:qQ:r:R:us:S:w:We:" and long option table, with
// --version from upstream 1.09).
var optionSpecs = []optionSpec{
	{'h', "help", false},
	{0, "version", false},
	{'c', "counter-based", false},
	{'C', "no-confirm", false},
	{'t', "time-based", false},
	{'d', "disallow-reuse", false},
	{'D', "allow-reuse", false},
	{'f', "force", false},
	{'l', "label", true},
	{'i', "issuer", true},
	{'q', "quiet", false},
	{'Q', "qr-mode", true},
	{'r', "rate-limit", true},
	{'R', "rate-time", true},
	{'u', "no-rate-limit", false},
	{'s', "secret", true},
	{'S', "step-size", true},
	{'w', "window-size", true},
	{'W', "minimal-window", false},
	{'e', "emergency-codes", true},
}

// usageText is what --help prints.
const usageText = `Usage: google-authenticator [<options>]
Creates a new secret for two-step login and writes ~/.google_authenticator.
 -h, --help                     Show this help
     --version                  Show the version
 -c, --counter-based            Counter-based codes (HOTP)
 -C, --no-confirm               Do not ask for a code from the app
 -t, --time-based               Time-based codes (TOTP)
 -d, --disallow-reuse           Refuse a time-based code used before
 -D, --allow-reuse              Accept a time-based code more than once
 -f, --force                    Write the file without asking first
 -l, --label=<label>            Label in the otpauth:// URI (default user@host)
 -i, --issuer=<issuer>          Issuer in the otpauth:// URI (default host)
 -q, --quiet                    Print nothing but the questions
 -Q, --qr-mode={NONE,ANSI,UTF8} How to draw the QR code
 -r, --rate-limit=N             Allow N logins (1..10) every M seconds
 -R, --rate-time=M              ... every M seconds (15..600)
 -u, --no-rate-limit            No rate limit
 -s, --secret=<file>            Write this file instead
 -S, --step-size=S              Seconds per time-based code (1..60)
 -w, --window-size=W            Number of codes accepted at a time (1..21)
 -W, --minimal-window           Accept as few codes as possible
 -e, --emergency-codes=N        Number of emergency scratch codes (0..10)
`

// exit ends the command: status is the exit status; msg, if not empty, is
// printed on standard error; usage prints the help on standard output.
type exit struct {
	status int
	msg    string
	usage  bool
}

func (e *exit) Error() string { return e.msg }

// fail is an error exit with status 1 and a message.
func fail(format string, args ...any) *exit {
	return &exit{status: 1, msg: fmt.Sprintf(format, args...)}
}

// parseArgs reads the command line as the stock tool's getopt_long does:
// short options may be grouped ("-tdf") and take their argument attached
// or as the next word; long options take "--opt=value" or "--opt value"
// and may be abbreviated to any unambiguous prefix; parsing stops at "--"
// or at the first word that is not an option (the leading "+" of the stock
// tool's option string). Each option is applied when it is read, so the
// first problem met is the one reported, as in the stock tool. It returns
// an *exit for --help, --version and every error.
func parseArgs(args []string, stdout io.Writer) (options, *exit) {
	o := options{scratch: -1}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		if a[1] == '-' {
			spec, value, hasValue, e := findLong(a[2:])
			if e != nil {
				return o, e
			}
			if spec.arg && !hasValue {
				if i == len(args) {
					return o, usageError("option --%s needs a value", spec.long)
				}
				value, i = args[i], i+1
			}
			if e := o.apply(spec, value, stdout); e != nil {
				return o, e
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			spec, ok := findShort(a[j])
			if !ok {
				return o, usageError("unknown option -%s", printable(a[j:j+1]))
			}
			var value string
			if spec.arg {
				switch {
				case j+1 < len(a):
					value = a[j+1:]
				case i < len(args):
					value, i = args[i], i+1
				default:
					return o, usageError("option -%c needs a value", spec.short)
				}
			}
			if e := o.apply(spec, value, stdout); e != nil {
				return o, e
			}
			if spec.arg {
				break
			}
		}
	}
	if i != len(args) {
		// Like the stock tool: a stray word shows the help and exits 0,
		// writing nothing.
		return o, &exit{status: 0, msg: fmt.Sprintf("unexpected argument %q; nothing written", args[i]), usage: true}
	}
	if o.reuse != askReuse && o.mode != totpMode {
		return o, fail("-d and -D need -t (time-based codes)")
	}
	if (o.rateLimit == 0) != (o.rateTime == 0) {
		return o, fail("-r and -R go together: give both or neither")
	}
	if o.scratch < 0 {
		o.scratch = defaultScratchCodes
	}
	return o, nil
}

// findShort returns the option with letter c.
func findShort(c byte) (optionSpec, bool) {
	for _, s := range optionSpecs {
		if s.short != 0 && s.short == c {
			return s, true
		}
	}
	return optionSpec{}, false
}

// findLong returns the long option named by arg (the word after "--", up
// to an "="): an exact name, or else the one option the name is a prefix
// of.
func findLong(arg string) (spec optionSpec, value string, hasValue bool, e *exit) {
	name, value, hasValue := strings.Cut(arg, "=")
	var matches []optionSpec
	for _, s := range optionSpecs {
		if s.long == name {
			matches = []optionSpec{s}
			break
		}
		if strings.HasPrefix(s.long, name) {
			matches = append(matches, s)
		}
	}
	switch {
	case len(matches) == 0:
		return spec, "", false, usageError("unknown option --%s", printable(name))
	case len(matches) > 1:
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = "--" + m.long
		}
		return spec, "", false, usageError("option --%s is ambiguous: %s", printable(name), strings.Join(names, ", "))
	}
	spec = matches[0]
	if hasValue && !spec.arg {
		return spec, "", false, usageError("option --%s takes no value", spec.long)
	}
	return spec, value, hasValue, nil
}

// printable quotes s for an error message if it holds anything but plain
// printable ASCII.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return strconv.Quote(s)
		}
	}
	return s
}

// apply records one option, with the stock tool's checks in its order.
func (o *options) apply(s optionSpec, value string, stdout io.Writer) *exit {
	switch s.long {
	case "help":
		return &exit{status: 0, usage: true}
	case "version":
		fmt.Fprintf(stdout, "google-authenticator (otpgate) %s\n", version)
		return &exit{status: 0}
	case "counter-based":
		if o.mode != askMode {
			return fail("-c and -t may be given once, and not together")
		}
		if o.reuse != askReuse {
			return fail("-d and -D have no meaning for counter-based codes (-c)")
		}
		o.mode = hotpMode
	case "no-confirm":
		o.noConfirm = true
	case "time-based":
		if o.mode != askMode {
			return fail("-c and -t may be given once, and not together")
		}
		o.mode = totpMode
	case "disallow-reuse", "allow-reuse":
		if o.reuse != askReuse {
			return fail("-d and -D may be given once, and not together")
		}
		if o.mode == hotpMode {
			return fail("-d and -D have no meaning for counter-based codes (-c)")
		}
		o.reuse = allowReuse
		if s.long == "disallow-reuse" {
			o.reuse = disallowReuse
		}
	case "force":
		if o.force {
			return duplicate('f')
		}
		o.force = true
	case "label":
		if o.label != nil {
			return duplicate('l')
		}
		o.label = &value
	case "issuer":
		if o.issuer != nil {
			return duplicate('i')
		}
		o.issuer = &value
	case "quiet":
		if o.quiet {
			return duplicate('q')
		}
		o.quiet = true
	case "qr-mode":
		if o.qr != qrUnset {
			return duplicate('Q')
		}
		switch strings.ToLower(value) {
		case "none":
			o.qr = qrNone
		case "ansi":
			o.qr = qrANSI
		case "utf8":
			o.qr = qrUTF8
		default:
			return fail("-Q takes NONE, ANSI or UTF8, not %q", value)
		}
	case "rate-limit":
		switch {
		case o.rateLimit > 0:
			return duplicate('r')
		case o.rateLimit < 0:
			return fail("-r and -u exclude each other")
		}
		n, ok := number(value, minRateLimit, maxRateLimit)
		if !ok {
			return outOfRange('r', minRateLimit, maxRateLimit, value)
		}
		o.rateLimit = n
	case "rate-time":
		switch {
		case o.rateTime > 0:
			return duplicate('R')
		case o.rateTime < 0:
			return fail("-R and -u exclude each other")
		}
		n, ok := number(value, minRateTime, maxRateTime)
		if !ok {
			return outOfRange('R', minRateTime, maxRateTime, value)
		}
		o.rateTime = n
	case "no-rate-limit":
		if o.rateLimit > 0 || o.rateTime > 0 {
			return fail("-u excludes -r and -R")
		}
		if o.rateLimit < 0 {
			return duplicate('u')
		}
		o.rateLimit, o.rateTime = -1, -1
	case "secret":
		if o.secretPath != "" {
			return duplicate('s')
		}
		if value == "" {
			return fail("-s needs a file name")
		}
		o.secretPath = value
	case "step-size":
		if o.stepSize != 0 {
			return duplicate('S')
		}
		n, ok := number(value, minStepSize, maxStepSize)
		if !ok {
			return outOfRange('S', minStepSize, maxStepSize, value)
		}
		o.stepSize = n
	case "window-size":
		if o.windowSize != 0 {
			return fail("-w and -W may be given once, and not together")
		}
		n, ok := number(value, minWindowSize, maxWindow)
		if !ok {
			return outOfRange('w', minWindowSize, maxWindow, value)
		}
		o.windowSize = n
	case "minimal-window":
		if o.windowSize != 0 {
			return fail("-w and -W may be given once, and not together")
		}
		o.windowSize = -1
	case "emergency-codes":
		if o.scratch >= 0 {
			return duplicate('e')
		}
		n, ok := number(value, 0, maxScratchCodes)
		if !ok {
			return outOfRange('e', 0, maxScratchCodes, value)
		}
		o.scratch = n
	}
	return nil
}

// usageError is a malformed command line: status 1, a message that
// points to --help, and nothing on standard output (the stock tool's help
// text in this case is lost in its unflushed output buffer, unless
// standard output is a terminal).
func usageError(format string, args ...any) *exit {
	return fail(format+" (see google-authenticator --help)", args...)
}

func duplicate(c byte) *exit { return fail("option -%c given twice", c) }

func outOfRange(c byte, lo, hi int, value string) *exit {
	return fail("-%c needs a whole number from %d to %d, not %q", c, lo, hi, value)
}

// number reads a whole decimal number in lo..hi the way the stock tool's
// strtol check does: leading white space and a sign are allowed, nothing
// may follow the digits.
func number(s string, lo, hi int) (int, bool) {
	n, err := strconv.ParseInt(strings.TrimLeft(s, " \t\n\v\f\r"), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, false
	}
	return int(n), true
}
