package otp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"strings"
)

// Algorithm is the hash function of the HMAC (RFC 6238 §1.2). The zero value
// is SHA1, the default of RFC 4226 and of every authenticator app.
type Algorithm uint8

// The algorithms RFC 6238 names.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

var algorithmNames = [...]string{SHA1: "SHA1", SHA256: "SHA256", SHA512: "SHA512"}

// String returns the name used in otpauth:// URIs: "SHA1", "SHA256" or
// "SHA512".
func (a Algorithm) String() string {
	if int(a) < len(algorithmNames) {
		return algorithmNames[a]
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm returns the algorithm with the given name, in any case,
// with or without a dash ("sha-256").
func ParseAlgorithm(s string) (Algorithm, error) {
	name := strings.ToUpper(strings.ReplaceAll(s, "-", ""))
	for a, n := range algorithmNames {
		if n == name {
			return Algorithm(a), nil
		}
	}
	return 0, fmt.Errorf("otp: unknown algorithm %q (want SHA1, SHA256 or SHA512)", s)
}

func (a Algorithm) valid() bool { return int(a) < len(algorithmNames) }

// blockSize is the HMAC block size of the hash, in bytes.
func (a Algorithm) blockSize() int {
	if a == SHA512 {
		return sha512.BlockSize
	}
	return sha1.BlockSize // SHA-256 has the same 64-byte block
}

// size is the digest size of the hash, in bytes.
func (a Algorithm) size() int {
	switch a {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return sha1.Size
}
