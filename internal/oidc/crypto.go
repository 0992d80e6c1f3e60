package oidc

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// idBytes is the randomness of request IDs, token IDs and refresh tokens.
const idBytes = 32

// idLen is their length in unpadded base64url.
var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// newRandom returns idBytes random bytes in unpadded base64url.
func newRandom(rand io.Reader) (string, error) {
	b := make([]byte, idBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("oidc: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validID reports whether s has the shape of what newRandom makes. It is
// checked before any store look-up, so that what a client sends in place
// of an ID or a token reaches the store only in that shape.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// The last character carries 4 bits of the 256 and 2 of padding, which
	// must be zero: one value, one spelling.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// maxToken bounds what Decrypt looks at.
const maxToken = 1024

// tokenAD is the associated data of what tokenCrypto seals.
var tokenAD = []byte("otpgate oidc token")

// tokenCrypto is the library's Crypto (op.Crypto), with which it makes
// authorization codes (the request's ID, sealed) and opaque access tokens
// ("tokenID:sub", sealed). It seals with the server's key
// (mfa.Cipher.SealWith), so that every instance opens what another made
// and no one else can make one; what a token is worth is still decided by
// the store, where codes are taken once and access tokens revoked. The
// sealed value starts with when it was made (Unix seconds, 8 bytes), so
// that a code presented too late is told from one presented twice.
type tokenCrypto struct {
	c   *mfa.Cipher
	now func() time.Time
}

// Encrypt seals s, in unpadded base64url.
func (t tokenCrypto) Encrypt(s string) (string, error) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(t.now().Unix()))
	sealed, err := t.c.SealWith(append(plain, s...), tokenAD)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decrypt opens what Encrypt sealed.
func (t tokenCrypto) Decrypt(s string) (string, error) {
	s, _, err := t.open(s)
	return s, err
}

// open opens what Encrypt sealed, and tells when it was made.
func (t tokenCrypto) open(s string) (string, time.Time, error) {
	if len(s) > maxToken {
		return "", time.Time{}, errors.New("token too long")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", time.Time{}, errors.New("token: not base64url")
	}
	plain, err := t.c.OpenWith(b, tokenAD)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(plain) < 8 {
		return "", time.Time{}, errors.New("token: too short")
	}
	return string(plain[8:]), time.Unix(int64(binary.BigEndian.Uint64(plain)), 0), nil
}

// codeRequest returns the request ID an authorization code of ours names,
// and when the code was made. An access token, which opens too, holds a
// ':' and is no request ID.
func (t tokenCrypto) codeRequest(code string) (string, time.Time, bool) {
	id, made, err := t.open(code)
	if err != nil || strings.Contains(id, ":") || !validID(id) {
		return "", time.Time{}, false
	}
	return id, made, true
}
