package otp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrWrongCode is returned (wrapped) when a well-formed code matches no
// step of the window.
var ErrWrongCode = errors.New("otp: wrong code")

// ErrMalformedCode is returned (wrapped, with the reason) when a code is not
// exactly the key's number of ASCII digits.
var ErrMalformedCode = errors.New("otp: malformed code")

// MaxWindow bounds each side of a Window, so that one verification costs a
// bounded number of HMACs.
const MaxWindow = 4096

// Window is the range of steps (TOTP) or counters (HOTP) a verification
// accepts: Before steps before the current one and After steps after it.
// The zero Window accepts the current step only.
type Window struct {
	Before, After int
}

// Skew returns the symmetric window ±n: for TOTP, n steps of clock drift
// either way (RFC 6238 §5.2 recommends at most one).
func Skew(n int) Window { return Window{Before: n, After: n} }

// GoogleWindow returns the window of google-authenticator's WINDOW_SIZE:
// size codes, from -floor((size-1)/2) to +floor(size/2), so that an even
// size leans to the future (size 3 is ±1, size 4 is -1..+2).
func GoogleWindow(size int) Window {
	if size < 1 {
		return Window{}
	}
	return Window{Before: (size - 1) / 2, After: size / 2}
}

func (w Window) validate() error {
	if w.Before < 0 || w.After < 0 || w.Before > MaxWindow || w.After > MaxWindow {
		return fmt.Errorf("otp: window must be 0 to %d steps each way, not %d..%d", MaxWindow, -w.Before, w.After)
	}
	return nil
}

// Verify checks code against the time steps of t within w and returns the
// step that matched. When several steps match, the earliest is returned,
// as google-authenticator does. The comparison runs over the whole window in
// constant time. Errors wrap ErrMalformedCode or ErrWrongCode, or report an
// invalid key, window or time.
func (k Key) Verify(code string, t time.Time, w Window) (step uint64, err error) {
	if t.Unix() < 0 {
		return 0, errors.New("otp: time before the Unix epoch")
	}
	return k.VerifyCounter(code, k.Step(t), w)
}

// VerifyCounter checks code against the counters (HOTP) or steps (TOTP)
// from counter-w.Before to counter+w.After, and returns the one that
// matched; see Verify.
func (k Key) VerifyCounter(code string, counter uint64, w Window) (uint64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	if err := w.validate(); err != nil {
		return 0, err
	}
	want, err := parseCode(code, k.digits())
	if err != nil {
		return 0, err
	}
	first := counter - uint64(w.Before)
	if uint64(w.Before) > counter {
		first = 0 // no counters before zero
	}
	last := counter + uint64(w.After)
	if last < counter {
		last = ^uint64(0) // no wrap-around past the largest counter
	}
	m := getMAC(k)
	var found int
	var match uint64
	for c := first; ; c++ {
		eq := subtle.ConstantTimeEq(int32(m.value(c)), int32(want)) &^ found
		match |= uint64(-int64(eq)) & c
		found |= eq
		if c == last {
			break
		}
	}
	putMAC(m)
	if found == 0 {
		return 0, ErrWrongCode
	}
	return match, nil
}

// parseCode returns the value of a code of exactly n ASCII digits. A
// leading zero counts as a digit: "050548" is six digits, "50548" five.
func parseCode(code string, n int) (uint32, error) {
	if len(code) != n {
		return 0, fmt.Errorf("%w: want %d digits, got %d characters", ErrMalformedCode, n, utf8.RuneCountInString(code))
	}
	var v uint32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: character %d is not a digit", ErrMalformedCode, i+1)
		}
		v = v*10 + uint32(c-'0')
	}
	return v, nil
}
