package mfa

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestSealWith: a value opens with the data it was sealed with only, never
// as a TOTP secret, and derived keys differ by purpose and agree between
// ciphers of one key.
func TestSealWith(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	c, err := NewCipher(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("private key bytes")
	sealed, err := c.SealWith(plain, []byte("signing key k1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.OpenWith(sealed, []byte("signing key k1")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("OpenWith(SealWith(x)) = %q, %v", got, err)
	}
	other, _ := NewCipher(bytes.Repeat([]byte{8}, KeySize), rand.Reader)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	totp, _ := c.Seal(plain, 1, "a")
	tests := []struct {
		name   string
		c      *Cipher
		sealed []byte
		ad     string
	}{
		{"other data", c, sealed, "signing key k2"},
		{"no data", c, sealed, ""},
		{"other key", other, sealed, "signing key k1"},
		{"tampered", c, tampered, "signing key k1"},
		{"truncated", c, sealed[:20], "signing key k1"},
		{"empty", c, nil, "signing key k1"},
		{"a TOTP secret", c, totp, "\x00\x00\x00\x00\x00\x00\x00\x01a"},
	}
	for _, tc := range tests {
		if got, err := tc.c.OpenWith(tc.sealed, []byte(tc.ad)); err == nil {
			t.Errorf("%s: OpenWith = %q, want an error", tc.name, got)
		}
	}
	if got, err := c.Open(sealed, 1, "a"); err == nil {
		t.Errorf("a sealed value opened as a TOTP secret: %q", got)
	}

	k1, err1 := c.DeriveKey("oidc subject")
	k2, err2 := c.DeriveKey("oidc session")
	c2, _ := NewCipher(key, rand.Reader)
	k3, err3 := c2.DeriveKey("oidc subject")
	ko, err4 := other.DeriveKey("oidc subject")
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		t.Fatal(err1, err2, err3, err4)
	}
	if len(k1) != KeySize || bytes.Equal(k1, k2) || !bytes.Equal(k1, k3) || bytes.Equal(k1, ko) || bytes.Equal(k1, key) {
		t.Errorf("DeriveKey: want %d bytes, one per purpose and key, the same for the same key", KeySize)
	}
}
