package otp

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultPeriod is the TOTP time step when Key.Period is zero (RFC 6238 §4.1).
const DefaultPeriod = 30 * time.Second

// DefaultDigits is the code length when Key.Digits is zero.
const DefaultDigits = 6

// Key is the configuration of one HOTP or TOTP generator. It is a plain
// value: zero fields mean the RFC defaults.
type Key struct {
	// Secret is the shared secret, K in RFC 4226.
	Secret Secret
	// Algorithm is the HMAC hash; zero means SHA1.
	Algorithm Algorithm
	// Digits is the code length, 6 to 8; zero means 6 (RFC 4226 §5.3).
	Digits int
	// Period is the TOTP time step X in whole seconds; zero means 30s
	// (RFC 6238 §4.1). HOTP ignores it.
	Period time.Duration
}

// digits returns the effective code length.
func (k Key) digits() int {
	if k.Digits == 0 {
		return DefaultDigits
	}
	return k.Digits
}

// period returns the effective time step.
func (k Key) period() time.Duration {
	if k.Period == 0 {
		return DefaultPeriod
	}
	return k.Period
}

// Validate reports whether the key can compute codes: a non-empty secret of
// at most 1024 bytes, a known algorithm, 6 to 8 digits, and a period of a
// whole number of seconds, at least one.
func (k Key) Validate() error {
	switch {
	case len(k.Secret) == 0:
		return errors.New("otp: empty secret")
	case len(k.Secret) > maxSecretSize:
		return fmt.Errorf("otp: secret longer than %d bytes", maxSecretSize)
	case !k.Algorithm.valid():
		return fmt.Errorf("otp: unknown algorithm %d", k.Algorithm)
	case k.Digits != 0 && (k.Digits < 6 || k.Digits > 8):
		return fmt.Errorf("otp: digits must be 6 to 8, not %d", k.Digits)
	case k.Period < 0 || k.Period != 0 && (k.Period < time.Second || k.Period%time.Second != 0):
		return fmt.Errorf("otp: period must be a whole number of seconds, at least 1s, not %v", k.Period)
	}
	return nil
}

// Step returns the TOTP time step of t: floor(unix seconds / period), with
// T0 = 0 (RFC 6238 §4.2). Times before the Unix epoch give step 0.
func (k Key) Step(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / uint64(k.period()/time.Second)
}

// HOTP returns the code for counter (RFC 4226 §5.3), zero-padded to Digits.
// It returns "" when the key is invalid (see Validate).
func (k Key) HOTP(counter uint64) string {
	if k.Validate() != nil {
		return ""
	}
	m := getMAC(k)
	v := m.value(counter)
	putMAC(m)
	var buf [8]byte
	return string(formatCode(buf[:k.digits()], v))
}

// TOTP returns the code for the time step that contains t (RFC 6238 §4.2).
// It returns "" when the key is invalid or t lies before the Unix epoch.
func (k Key) TOTP(t time.Time) string {
	if t.Unix() < 0 {
		return ""
	}
	return k.HOTP(k.Step(t))
}

// formatCode writes v as len(dst) decimal digits, zero-padded.
func formatCode(dst []byte, v uint32) []byte {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// String describes the key without its secret.
func (k Key) String() string {
	return fmt.Sprintf("otp.Key{Secret: REDACTED, Algorithm: %v, Digits: %d, Period: %v}", k.Algorithm, k.digits(), k.period())
}

// LogValue logs the key's parameters and never its secret.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("algorithm", k.Algorithm.String()),
		slog.Int("digits", k.digits()),
		slog.Duration("period", k.period()),
	)
}
