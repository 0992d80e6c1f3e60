package otp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// DefaultSecretSize is the size of a generated secret, in bytes: 160 bits,
// the length RFC 4226 §4 recommends.
const DefaultSecretSize = 20

// MinSecretSize is the smallest secret NewSecret generates: 128 bits, the
// minimum of RFC 4226 §4 (R6). Shorter secrets still verify, because older
// tools wrote 80-bit secrets that people still use.
const MinSecretSize = 16

// maxSecretSize bounds the secrets this package accepts, in bytes; longer
// keys are hashed by HMAC anyway and only cost time.
const maxSecretSize = 1024

// b32 is RFC 4648 base32 without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Secret is the shared secret of a key. It formats and logs itself as
// "REDACTED"; use [Secret.Base32] where it must be shown.
type Secret []byte

// NewSecret reads a secret of n bytes from rand (crypto/rand.Reader in
// production). Zero n means DefaultSecretSize; n must be at least
// MinSecretSize.
func NewSecret(rand io.Reader, n int) (Secret, error) {
	if n == 0 {
		n = DefaultSecretSize
	}
	if n < MinSecretSize || n > maxSecretSize {
		return nil, fmt.Errorf("otp: secret size must be %d to %d bytes, not %d", MinSecretSize, maxSecretSize, n)
	}
	s := make(Secret, n)
	if _, err := io.ReadFull(rand, s); err != nil {
		return nil, fmt.Errorf("otp: reading random secret: %w", err)
	}
	return s, nil
}

// DecodeSecret decodes a base32 secret (RFC 4648 alphabet) as people and
// other tools write it: in any case, with spaces, tabs, newlines and dashes
// between groups, with or without "=" padding. Anything else is an error
// that says where it is (and never repeats the secret).
func DecodeSecret(s string) (Secret, error) {
	if len(s) > 2*maxSecretSize {
		return nil, errors.New("otp: secret too long")
	}
	buf := make([]byte, 0, len(s))
	pad := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-':
			continue
		case c == '=':
			pad++
			continue
		case pad > 0:
			return nil, fmt.Errorf("otp: secret: padding before the end, at character %d", i+1)
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
		default:
			return nil, fmt.Errorf("otp: secret: invalid base32 character %s at character %d", quoteByte(c), i+1)
		}
		buf = append(buf, c)
	}
	if len(buf) == 0 {
		return nil, errors.New("otp: secret is empty")
	}
	// Lengths 1, 3 and 6 (mod 8) leave bits that cannot form a byte.
	if r := len(buf) % 8; r == 1 || r == 3 || r == 6 {
		return nil, fmt.Errorf("otp: secret: %d base32 characters is not a whole number of bytes", len(buf))
	}
	if pad > 0 && (len(buf)+pad)%8 != 0 {
		return nil, fmt.Errorf("otp: secret: wrong padding (%d characters and %d \"=\")", len(buf), pad)
	}
	out := make(Secret, b32.DecodedLen(len(buf)))
	n, err := b32.Decode(out, buf)
	if err != nil {
		// Unreachable with the checks above; keep the secret out of the message.
		return nil, errors.New("otp: secret: invalid base32")
	}
	if n > maxSecretSize {
		return nil, errors.New("otp: secret too long")
	}
	return out[:n], nil
}

// quoteByte names a byte for an error message: printable ASCII quoted, the
// rest in hex.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("0x%02X", c)
}

// Base32 returns the secret in RFC 4648 base32, upper case, without
// padding: the form otpauth:// URIs and authenticator apps use.
func (s Secret) Base32() string { return b32.EncodeToString(s) }

// String returns "REDACTED", so that a secret printed by mistake stays
// secret.
func (s Secret) String() string { return "REDACTED" }

// GoString returns "REDACTED", for %#v.
func (s Secret) GoString() string { return "REDACTED" }

// LogValue returns "REDACTED", so that log/slog never records a secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format writes "REDACTED" whatever the verb, so that no format (not even
// %d or %x) prints a secret's bytes.
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, "REDACTED") }
