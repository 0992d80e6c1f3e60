package gafile

import (
	"fmt"

	"github.com/otpgate/otpgate/otp"
)

// decodeSecret decodes the secret line as the stock module does (spec §1):
// A–Z and 2–7 in either case; space, tab, CR, LF and '-' skipped; the
// look-alikes 0, 1 and 8 read as O, L and B; anything else, padding '='
// included, makes the secret invalid; bits that do not fill a byte are
// dropped; at least one byte is required. It is stricter than
// otp.DecodeSecret, which accepts padding. The error gives the position of
// a bad character, never the character: it may be part of the secret.
func decodeSecret(line []byte) (otp.Secret, error) {
	out := make(otp.Secret, 0, len(line)*5/8)
	var buf uint32
	bits := 0
	for i, c := range line {
		switch c {
		case ' ', '\t', '\r', '\n', '-':
			continue
		case '0':
			c = 'O'
		case '1':
			c = 'L'
		case '8':
			c = 'B'
		}
		var v byte
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			v = c&0x1f - 1
		case c >= '2' && c <= '7':
			v = c - '2' + 26
		default:
			return nil, fmt.Errorf("%w: line 1: secret is not base32 (character %d)", ErrUnusable, i+1)
		}
		buf = buf<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			out = append(out, byte(buf>>(bits-8)))
			bits -= 8
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: line 1: no secret", ErrUnusable)
	}
	return out, nil
}
