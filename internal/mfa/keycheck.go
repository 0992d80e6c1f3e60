package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// KeyCheckStore keeps the key check value of a store (see CheckKey).
type KeyCheckStore interface {
	// KeyCheck returns the stored key check value (nil when none is stored)
	// and, when there is one, a confirmed authenticator to try the key on.
	KeyCheck(ctx context.Context) (value []byte, sample Authenticator, err error)
	// SetKeyCheck stores value unless a value is stored already, and
	// returns the value stored: of instances starting at once, one wins.
	SetKeyCheck(ctx context.Context, value []byte) ([]byte, error)
}

// ErrWrongKey means that the secret key does not open what the store holds:
// the instance was given another key than the one its secrets were sealed
// with.
var ErrWrongKey = errors.New("the secret key does not match this store's: every instance must use the same secret key file")

// keyCheckText is what a key check value seals; user 0 and this
// authenticator ID are no real authenticator's.
const (
	keyCheckText = "otpgate key check"
	keyCheckID   = "key-check"
)

// CheckKey makes sure that c holds the key the store's secrets are sealed
// with, so that an instance started with another key (a fresh random one,
// say) refuses to start instead of failing every sign-in. The first
// instance stores a value sealed with its key, after trying the key on an
// existing authenticator if any; every later start must open it.
func CheckKey(ctx context.Context, s KeyCheckStore, c *Cipher) error {
	value, sample, err := s.KeyCheck(ctx)
	if err != nil {
		return fmt.Errorf("key check: %w", err)
	}
	if value == nil {
		if sample.ID != "" {
			if _, err := c.Open(sample.SealedSecret, sample.UserID, sample.ID); err != nil {
				return ErrWrongKey
			}
		}
		mine, err := c.Seal([]byte(keyCheckText), 0, keyCheckID)
		if err != nil {
			return err
		}
		if value, err = s.SetKeyCheck(ctx, mine); err != nil {
			return fmt.Errorf("key check: %w", err)
		}
	}
	plain, err := c.Open(value, 0, keyCheckID)
	if err != nil || !bytes.Equal(plain, []byte(keyCheckText)) {
		return ErrWrongKey
	}
	return nil
}
