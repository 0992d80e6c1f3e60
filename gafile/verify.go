package gafile

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// Why an attempt failed. Verify and VerifyFile wrap one of these, so
// callers can count them with errors.Is; the wrapped text adds the details
// (never a code or the secret).
var (
	// ErrWrongCode: the answer held a code, and it matched nothing.
	ErrWrongCode = errors.New("gafile: wrong code")
	// ErrMalformedAnswer: the answer held no code: not 6 digits (8 for a
	// scratch code) at its end, or text before them without ForwardPass.
	ErrMalformedAnswer = errors.New("gafile: malformed answer")
	// ErrReused: a time-based code matched a step already used, and the
	// file has DISALLOW_REUSE.
	ErrReused = errors.New("gafile: code already used")
	// ErrRateLimited: RATE_LIMIT allows no further attempt now; the code
	// was not looked at.
	ErrRateLimited = errors.New("gafile: too many attempts")
	// ErrSkewed: the code belongs to a step outside the window, within
	// 1499 steps of now; the skew was recorded for learning (spec §5.4),
	// and the third such code in a row is accepted instead.
	ErrSkewed = errors.New("gafile: code from a skewed clock")
	// ErrUnusable: the file cannot be used: missing, wrong type, owner,
	// permissions or size, a bad secret, or a bad option value.
	ErrUnusable = errors.New("gafile: unusable file")
	// ErrNoFile: the file does not exist and Options.NullOK is set; the
	// stock module returns PAM_IGNORE.
	ErrNoFile = errors.New("gafile: no state file")
	// ErrNotSaved: the attempt changed the file and the change could not be
	// written; the attempt fails and the file is left as it was.
	ErrNotSaved = errors.New("gafile: state file not saved")
)

// Options are the module arguments (spec §4.2) that change how an attempt
// is checked and how the file on disk is judged. The zero value is the
// module's default.
type Options struct {
	// ForwardPass: the answer is a password followed by the code, and the
	// password part is returned in Result.Password (module forward_pass).
	ForwardPass bool
	// NoSkewAdj turns off time-skew learning (module noskewadj).
	NoSkewAdj bool
	// NoIncrementHOTP: a wrong counter-based code does not advance
	// HOTP_COUNTER (module no_increment_hotp).
	NoIncrementHOTP bool
	// GracePeriod, when positive, accepts RemoteHost without a code if it
	// logged in successfully less than GracePeriod ago, and records each
	// successful login of RemoteHost (module grace_period, whole seconds).
	GracePeriod time.Duration
	// RemoteHost is the client's host (PAM_RHOST), for GracePeriod.
	RemoteHost string

	// The rest applies to VerifyFile only.

	// UID is the account that must own the file (module: the PAM user, or
	// user=). It is not checked when NoStrictOwner is set.
	UID int
	// NoStrictOwner skips the owner check (module no_strict_owner).
	NoStrictOwner bool
	// AllowedPerm holds the permission bits the file may have; zero means
	// 0600 (module allowed_perm). Bits 03777 of the mode are checked.
	AllowedPerm uint32
	// NullOK: a missing file gives ErrNoFile instead of ErrUnusable
	// (module nullok).
	NullOK bool
	// AllowReadonly: an attempt stands even if its change cannot be saved
	// (module allow_readonly). Scratch codes and DISALLOW_REUSE then stop
	// protecting anything, as in the module.
	AllowReadonly bool
}

// Method says how an attempt was accepted.
type Method uint8

// The ways an attempt is accepted.
const (
	None        Method = iota // not accepted
	Scratch                   // an emergency scratch code, now removed
	CounterCode               // an HOTP code within the counter window
	TimeCode                  // a TOTP code within the window
	SkewLearned               // the third skewed TOTP code in a row: TIME_SKEW set (spec §5.4)
	Grace                     // no code: RemoteHost is within its grace period
)

var methodNames = [...]string{"none", "scratch code", "counter-based code", "time-based code", "time skew learned", "grace period"}

// String names the method in words.
func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// Password is the password part of a ForwardPass answer. It prints and
// logs as "REDACTED".
type Password string

// String returns "REDACTED".
func (Password) String() string { return "REDACTED" }

// LogValue returns "REDACTED".
func (Password) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Result is the outcome of one attempt.
type Result struct {
	// Method is how the attempt was accepted; None when it was not.
	Method Method
	// Step is the TOTP step or HOTP counter that matched (TimeCode,
	// CounterCode), or the scratch code's position from 1 (Scratch).
	Step int64
	// Password is the text before the code with ForwardPass, once accepted.
	Password Password
	// Changed reports that the attempt changed the file, accepted or not
	// (rate-limit and skew bookkeeping, HOTP counter, reuse list, scratch
	// code, grace record): the caller must save File.Bytes, and if it
	// cannot, the attempt fails (spec §3.6).
	Changed bool
}

// Verify checks one answer against the file at time now, in the stock
// module's order (spec §5.1): rate limit, grace period, then the code, read
// from the end of answer as 6 digits and then as an 8-digit scratch code,
// checked against the scratch codes, then HOTP if HOTP_COUNTER is at least
// 1, else TOTP if the file has TOTP_AUTH. It edits f as the module edits
// the file, even when the attempt fails; Result.Changed says so.
//
// It returns a nil error when the attempt is accepted, and otherwise an
// error wrapping ErrWrongCode, ErrMalformedAnswer, ErrReused,
// ErrRateLimited, ErrSkewed or ErrUnusable.
func (f *File) Verify(answer string, now time.Time, opts Options) (Result, error) {
	var res Result
	unix := now.Unix()
	var before []byte
	grace := opts.GracePeriod > 0 && opts.RemoteHost != ""
	if grace {
		before = bytes.Clone(f.buf)
	}
	present, exceeded, err := f.rateLimit(unix)
	if err != nil {
		return res, err
	}
	res.Changed = present
	// The module checks the grace period after the rate-limit bookkeeping,
	// even when the limit is exceeded, and saves nothing when it applies.
	if grace && f.withinGrace(opts.RemoteHost, unix, int64(opts.GracePeriod/time.Second)) {
		f.buf = before
		return Result{Method: Grace}, nil
	}
	if exceeded {
		return res, ErrRateLimited
	}

	counter := f.HOTPCounter()
	mustAdvance := false
	err = fmt.Errorf("%w: want %d digits, or %d for a scratch code", ErrMalformedAnswer, 6, 8)
	var prefix string
	for _, n := range [...]int{6, 8} {
		if len(answer) < n {
			continue
		}
		code := answer[len(answer)-n:]
		if !allDigits(code) || n == 8 && code[0] == '0' {
			continue
		}
		prefix = answer[:len(answer)-n]
		if prefix != "" && !opts.ForwardPass {
			err = fmt.Errorf("%w: text before the code", ErrMalformedAnswer)
			continue
		}
		err = ErrWrongCode
		var ok bool
		var cerr error
		switch {
		case n == 8:
			v, _ := strconv.Atoi(code)
			i := slices.Index(f.ScratchCodes(), v)
			if ok = f.useScratchCode(v); ok {
				res.Method, res.Step = Scratch, int64(i+1)
				res.Changed = true
			}
		case counter > 0:
			ok, cerr = f.checkCounter(code, counter, &res, &mustAdvance)
		default:
			ok, cerr = f.checkTime(code, unix, opts, &res)
		}
		if ok {
			err = nil
			break
		}
		if cerr != nil {
			err = cerr
			break
		}
	}
	if err == nil && opts.ForwardPass {
		res.Password = Password(prefix)
	}
	if mustAdvance && !opts.NoIncrementHOTP {
		f.SetOption("HOTP_COUNTER", itoa(counter+1))
		res.Changed = true
	}
	// Decision (see the package doc): a grace record is always saved, as
	// upstream does since 1.10, not only when something else changed.
	if err == nil && grace {
		f.recordLogin(opts.RemoteHost, unix)
		res.Changed = true
	}
	if err != nil {
		res.Method, res.Step, res.Password = None, 0, ""
	}
	return res, err
}

// allDigits reports whether s is made of ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rateLimit does the RATE_LIMIT bookkeeping of one attempt at now (spec
// §5.7): it reports whether the line exists and whether the limit is
// exceeded, and rewrites the line.
func (f *File) rateLimit(now int64) (present, exceeded bool, err error) {
	v, pos := f.option("RATE_LIMIT")
	if pos < 0 {
		return false, false, nil
	}
	bad := func(what string) error {
		return fmt.Errorf("%w: line %d: RATE_LIMIT: %s", ErrUnusable, f.line(pos), what)
	}
	a, end, overflow := strtoul(v)
	attempts := int32(a)
	if attempts < 1 || end == 0 || attempts > 100 || overflow || end >= len(v) || v[end] != ' ' && v[end] != '\t' {
		return false, false, bad("attempts must be 1 to 100, then the interval")
	}
	p := end
	b, end, overflow := strtoul(v[p:])
	interval := int32(b)
	if interval < 1 || end == 0 || interval > 3600 || overflow {
		return false, false, bad("interval must be 1 to 3600 seconds")
	}
	p += end
	t := uint32(now)
	stamps := []uint32{t}
	for p < len(v) {
		s, end, overflow := strtoul(v[p:])
		if v[p] != ' ' && v[p] != '\t' || overflow || end == 0 {
			return false, false, bad("invalid list of timestamps")
		}
		stamps = append(stamps, uint32(s))
		p += end
	}
	slices.Sort(stamps)
	start, stop := 0, -1
	for i, s := range stamps {
		if s < t-uint32(interval) {
			start = i + 1
		} else if s > t {
			break
		}
		stop = i
	}
	if stop-start+1 > int(attempts) {
		exceeded = true
		start = stop - int(attempts) + 1
	}
	line := itoa(int(attempts)) + " " + itoa(int(interval))
	for _, s := range stamps[start : stop+1] {
		line += " " + itoa(s)
	}
	f.SetOption("RATE_LIMIT", line)
	return true, exceeded, nil
}

// checkCounter checks a 6-digit code against counters C to C+W-1 (spec
// §5.6). A match sets HOTP_COUNTER past it; no match asks for the counter
// to be advanced.
func (f *File) checkCounter(code string, counter int64, res *Result, mustAdvance *bool) (bool, error) {
	window, err := f.WindowSize()
	if err != nil {
		return false, err
	}
	key := otp.Key{Secret: f.secret, Algorithm: otp.SHA1, Digits: 6}
	m, err := key.VerifyCounter(code, uint64(counter), otp.Window{After: window - 1})
	if err != nil {
		if errors.Is(err, otp.ErrWrongCode) {
			*mustAdvance = true
			return false, nil
		}
		return false, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	f.SetOption("HOTP_COUNTER", itoa(int64(m)+1))
	*mustAdvance = false
	res.Method, res.Step, res.Changed = CounterCode, int64(m), true
	return true, nil
}

// skewSearch is how far, in steps, a wrong time-based code is looked for
// on either side of now (spec §5.4).
const skewSearch = 1500

// checkTime checks a 6-digit code against the TOTP window around now plus
// TIME_SKEW (spec §5.4), then DISALLOW_REUSE (§5.5); failing that, it looks
// for the code within ±1499 steps and does the skew bookkeeping.
func (f *File) checkTime(code string, now int64, opts Options, res *Result) (bool, error) {
	if !f.TOTP() {
		return false, nil
	}
	step, err := f.StepSize()
	if err != nil {
		return false, err
	}
	tm := now / int64(step)
	window, err := f.WindowSize()
	if err != nil {
		return false, err
	}
	key := otp.Key{Secret: f.secret, Algorithm: otp.SHA1, Digits: 6, Period: time.Duration(step) * time.Second}
	m, err := key.VerifyCounter(code, uint64(tm+int64(f.TimeSkew())), otp.GoogleWindow(window))
	switch {
	case err == nil:
		if err := f.disallowReuse(int64(m), window, step); err != nil {
			return false, err
		}
		res.Method, res.Step = TimeCode, int64(m)
		res.Changed = res.Changed || f.hasOption("DISALLOW_REUSE")
		return true, nil
	case !errors.Is(err, otp.ErrWrongCode):
		return false, fmt.Errorf("%w: %w", ErrUnusable, err)
	case opts.NoSkewAdj:
		return false, nil
	}
	// Like the module, look at every step rather than stop at the first
	// match, so that the time taken does not tell where the code lies.
	skew, found := int64(0), false
	for d := int64(0); d < skewSearch; d++ {
		if key.HOTP(uint64(tm-d)) == code && !found {
			skew, found = -d, true
		}
		if key.HOTP(uint64(tm+d)) == code && !found {
			skew, found = d, true
		}
	}
	if !found {
		return false, nil
	}
	return f.learnSkew(tm, skew, res)
}

// hasOption reports whether a line for option name exists.
func (f *File) hasOption(name string) bool { return f.findOption(name, 0) >= 0 }

// disallowReuse refuses step m if DISALLOW_REUSE lists it, and otherwise
// drops the listed steps W or more away from m, keeping the order and the
// spacing of the rest, and appends m (spec §5.5).
func (f *File) disallowReuse(m int64, window, step int) error {
	v, pos := f.option("DISALLOW_REUSE")
	if pos < 0 {
		return nil
	}
	list := bytes.Clone(v)
	for p := 0; p < len(list); {
		p += strspn(list[p:], " \t\r\n")
		if p >= len(list) {
			break
		}
		n, end, overflow := strtoul(list[p:])
		end += p
		if overflow || end == p || end < len(list) && list[end] != ' ' && list[end] != '\t' {
			return fmt.Errorf("%w: line %d: DISALLOW_REUSE: not a list of steps", ErrUnusable, f.line(pos))
		}
		blocked := int64(int32(n))
		if blocked == m {
			return fmt.Errorf("%w: step %d, try again in %d seconds", ErrReused, m, step)
		}
		if blocked-m >= int64(window) || m-blocked >= int64(window) {
			list = append(list[:p], list[end+strspn(list[end:], " \t"):]...)
		} else {
			p = end
		}
	}
	if len(list) > 0 {
		list = append(list, ' ')
	}
	f.SetOption("DISALLOW_REUSE", string(list)+itoa(m))
	return nil
}

// learnSkew does the skew bookkeeping for a code found at server step tm
// plus skew (spec §5.4): the third code in a row off by the same amount,
// entered one or two steps apart, sets TIME_SKEW and is accepted.
func (f *File) learnSkew(tm, skew int64, res *Result) (bool, error) {
	type pair struct {
		tm   uint32
		skew int32
	}
	var pairs []pair
	if v, pos := f.option("RESETTING_TIME_SKEW"); pos >= 0 {
		for p := 0; p < len(v); {
			t, end, overflow := strtoul(v[p:])
			if overflow || end == 0 || p+end >= len(v) || v[p+end] != '+' && v[p+end] != '-' {
				break
			}
			p += end
			k, end, overflow := strtoul(v[p+1:])
			e := p + 1 + end
			if overflow || e < len(v) && v[e] != ' ' && v[e] != '\t' {
				break
			}
			s := int32(k)
			if v[p] == '-' {
				s = -s
			}
			pairs = append(pairs, pair{uint32(t), s})
			if len(pairs) > 3 {
				pairs = pairs[1:]
			}
			p = e
		}
		// The same phone step as last time tells nothing new.
		if n := len(pairs); n > 0 && uint32(tm+skew) == pairs[n-1].tm+uint32(pairs[n-1].skew) {
			return false, fmt.Errorf("%w: same step as the last attempt", ErrSkewed)
		}
	}
	pairs = append(pairs, pair{uint32(tm), int32(skew)})
	if len(pairs) > 3 {
		pairs = pairs[1:]
	}
	res.Changed = true
	learned := false
	if len(pairs) == 3 {
		learned = true
		last, avg := pairs[0], int32(pairs[0].skew)
		for _, p := range pairs[1:] {
			if p.tm <= last.tm || p.tm > last.tm+2 || last.skew-int32(skew) < -1 || last.skew-int32(skew) > 1 {
				learned = false
				break
			}
			last = p
			avg += p.skew
		}
		if learned {
			f.SetOption("TIME_SKEW", itoa(int(avg/3)))
		}
	}
	var reset string
	if !learned {
		for i, p := range pairs {
			if i > 0 {
				reset += " "
			}
			reset += fmt.Sprintf("%d%+d", int32(p.tm), p.skew)
		}
	}
	f.SetOption("RESETTING_TIME_SKEW", reset)
	if !learned {
		return false, fmt.Errorf("%w: %+d steps, recorded", ErrSkewed, skew)
	}
	res.Method, res.Step = SkewLearned, tm+skew
	return true, nil
}

// lastLogin parses a LASTn value, `<host> <unix time>`, with the host made
// of [0-9a-zA-Z:.-], at most 255 bytes (spec §3.3).
func lastLogin(v []byte) (host string, when int64, ok bool) {
	v = v[strspn(v, " \t"):]
	n := 0
	for n < len(v) && n < 255 && (v[n] >= '0' && v[n] <= '9' || v[n] >= 'a' && v[n] <= 'z' ||
		v[n] >= 'A' && v[n] <= 'Z' || v[n] == ':' || v[n] == '.' || v[n] == '-') {
		n++
	}
	if n == 0 {
		return "", 0, false
	}
	t, end, overflow := strtoul(v[n:])
	if end == 0 || overflow {
		return "", 0, false
	}
	return string(v[:n]), int64(t), true
}

// withinGrace reports whether a LAST0..LAST9 line records host less than
// grace seconds before now (spec §5.8).
func (f *File) withinGrace(host string, now, grace int64) bool {
	for i := range 10 {
		v, pos := f.option("LAST" + strconv.Itoa(i))
		if pos < 0 {
			continue
		}
		if h, when, ok := lastLogin(v); ok && h == host && when+grace > now {
			return true
		}
	}
	return false
}

// recordLogin records a successful login of host at now in the LASTn line
// of that host, else the first absent one, else the oldest (spec §5.8).
func (f *File) recordLogin(host string, now int64) {
	slot, oldest := -1, now
	for i := range 10 {
		v, pos := f.option("LAST" + strconv.Itoa(i))
		if pos < 0 {
			slot = i
			break
		}
		h, when, ok := lastLogin(v)
		if !ok {
			continue
		}
		if h == host {
			slot = i
			break
		}
		if when < oldest {
			slot, oldest = i, when
		}
	}
	if slot < 0 {
		slot = 0
	}
	f.SetOption("LAST"+strconv.Itoa(slot), host+" "+itoa(now))
}
