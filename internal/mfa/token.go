package mfa

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// TokenSize is the number of random bytes in a session or setup token.
const TokenSize = 32

// newToken returns TokenSize random bytes in unpadded base64url.
func newToken(rand io.Reader) (string, error) {
	b := make([]byte, TokenSize)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the SHA-256 of a session or setup token, which is what
// stores keep: a copy of the database does not give working tokens.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Recovery codes: RecoveryCodeCount codes of 80 random bits each, written
// as 16 base32 letters in groups of 4 (abcd-efgh-ijkl-mnop).
const (
	RecoveryCodeCount = 10
	recoveryCodeBytes = 10
)

const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var recoveryEncoding = base32.NewEncoding(recoveryAlphabet).WithPadding(base32.NoPadding)

// newRecoveryCode returns one recovery code as shown to the user.
func newRecoveryCode(rand io.Reader) (string, error) {
	b := make([]byte, recoveryCodeBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("recovery code: %w", err)
	}
	s := recoveryEncoding.EncodeToString(b)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16], nil
}

// normalizeRecoveryCode turns what a user typed into the 16 letters of a
// recovery code, or the 8 digits of a scratch code imported from a
// google-authenticator file (see ImportTOTP), or reports that it cannot be
// one.
func normalizeRecoveryCode(s string) (string, bool) {
	s = strings.ToLower(s)
	s = strings.NewReplacer("-", "", " ", "").Replace(s)
	if isScratchCode(s) {
		return s, true
	}
	// Sixteen letters of the alphabet always decode (16 × 5 = 80 bits), so
	// checking each letter is the whole check; the decoder itself would
	// skip line breaks.
	if len(s) != 16 || strings.Trim(s, recoveryAlphabet) != "" {
		return "", false
	}
	return s, true
}

// isScratchCode reports whether s is an 8-digit scratch code as the
// google-authenticator command makes them: 10000000 to 99999999.
func isScratchCode(s string) bool {
	return len(s) == 8 && s[0] != '0' && strings.Trim(s, "0123456789") == ""
}
