package mfa

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// sealedValueAD starts the associated data of SealWith, so that no value
// it seals opens as a TOTP secret (whose data starts "otpgate totp
// secret"), nor the other way round.
const sealedValueAD = "otpgate sealed value\x00"

// SealWith encrypts plain for other parts of the server (the OpenID
// provider's signing keys and tokens), with AES-256-GCM under the same key
// as the TOTP secrets. The associated data ad names what the value is and
// where it belongs: the value opens only with the same ad (see OpenWith).
func (c *Cipher) SealWith(plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return c.aead.Seal(out, nonce, plain, append([]byte(sealedValueAD), ad...)), nil
}

// OpenWith decrypts a value made by SealWith with the same associated
// data; anything else (another ad, a changed byte, another key) is an
// error.
func (c *Cipher) OpenWith(sealed, ad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < 1+n+c.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("sealed value: unknown format")
	}
	plain, err := c.aead.Open(nil, sealed[1:1+n], sealed[1+n:], append([]byte(sealedValueAD), ad...))
	if err != nil {
		return nil, errors.New("sealed value: does not open with this key")
	}
	return plain, nil
}

// DeriveKey returns a key of KeySize bytes for purpose, derived from the
// sealing key with HKDF-SHA256: every instance with the same secret key
// derives the same one, and keys of different purposes are unrelated.
func (c *Cipher) DeriveKey(purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, c.deriveKey, nil, purpose, KeySize)
}
