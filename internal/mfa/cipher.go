package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
// copied to another row does not open. It also hashes recovery codes with a
// key derived from the same key (see RecoveryHash).
type Cipher struct {
	aead    cipher.AEAD
	rand    io.Reader
	codeKey []byte
	// throttleKey keys ThrottleKey.
	throttleKey []byte
	// deriveKey is the base of DeriveKey.
	deriveKey []byte
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
	codeKey, err := hkdf.Key(sha256.New, key, nil, "otpgate recovery codes", sha256.Size)
	if err != nil {
		return nil, err
	}
	throttleKey, err := hkdf.Key(sha256.New, key, nil, "otpgate throttle keys", sha256.Size)
	if err != nil {
		return nil, err
	}
	deriveKey, err := hkdf.Key(sha256.New, key, nil, "otpgate derived keys", sha256.Size)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead, rand: rand, codeKey: codeKey, throttleKey: throttleKey, deriveKey: deriveKey}, nil
}

// RecoveryHash is what stores keep of a normalized recovery code of user
// userID: HMAC-SHA256 under a key derived from the sealing key. A fast hash
// suffices for our own codes, which have 80 random bits each; the key is
// for the 8-digit scratch codes imported from google-authenticator files,
// whose 26 bits could otherwise be found from a copy of the store by trying
// them all. Without the key, a copy of the store reveals nothing.
func (c *Cipher) RecoveryHash(userID int64, normalized string) []byte {
	h := hmac.New(sha256.New, c.codeKey)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(userID)))
	h.Write([]byte(normalized))
	return h.Sum(nil)
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

// ThrottleKey is the store key of a throttle counter of that kind for
// value (a typed name, an address, a user ID): kind, a colon and an
// HMAC-SHA256 under a key derived from the sealing key, in hex. People type
// passwords into the name field, so what they typed is never stored.
func (c *Cipher) ThrottleKey(kind, value string) string {
	h := hmac.New(sha256.New, c.throttleKey)
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return kind + ":" + hex.EncodeToString(h.Sum(nil)[:20])
}
