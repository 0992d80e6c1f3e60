package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// KeySize is the length in bytes of the key that seals TOTP secrets
// (AES-256).
const KeySize = 32

// sealVersion prefixes every sealed value so that the format can change.
const sealVersion = 1

// Cipher seals TOTP secrets at rest with AES-256-GCM. The associated data
// binds each sealed secret to its user and authenticator, so a sealed value
// copied to another row does not open.
type Cipher struct {
	aead cipher.AEAD
	rand io.Reader
}

// NewCipher returns a Cipher using key (KeySize bytes) and rand for nonces
// (crypto/rand.Reader in production).
func NewCipher(key []byte, rand io.Reader) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead, rand: rand}, nil
}

func secretAD(userID int64, authID string) []byte {
	ad := []byte("otpgate totp secret\x00")
	ad = binary.BigEndian.AppendUint64(ad, uint64(userID))
	return append(ad, authID...)
}

// Seal encrypts the secret of authenticator authID of user userID.
func (c *Cipher) Seal(secret []byte, userID int64, authID string) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return c.aead.Seal(out, nonce, secret, secretAD(userID, authID)), nil
}

// Open decrypts a value made by Seal for the same user and authenticator.
func (c *Cipher) Open(sealed []byte, userID int64, authID string) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, errors.New("sealed secret: unknown format")
	}
	plain, err := c.aead.Open(nil, sealed[1:1+n], sealed[1+n:], secretAD(userID, authID))
	if err != nil {
		return nil, errors.New("sealed secret: does not open with this key")
	}
	return plain, nil
}
