package mfa

import (
	"fmt"
	"strings"
)

// NormalizeName returns the canonical form of a user name as typed: trimmed
// and in lower case.
func NormalizeName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidateName checks a normalized user name: 1 to MaxNameLength bytes of
// a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty user name", ErrInvalid)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: user name longer than %d bytes", ErrInvalid, MaxNameLength)
	}
	for i, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-' || c == '@'):
		default:
			return fmt.Errorf("%w: user name may hold only a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit", ErrInvalid)
		}
	}
	return nil
}
