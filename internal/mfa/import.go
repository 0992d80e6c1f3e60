package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/otpgate/otpgate/otp"
)

// ImportedTOTP is a TOTP secret taken over from elsewhere (a
// google-authenticator state file), so that its user need not enrol again.
type ImportedTOTP struct {
	// Name is shown to the user, e.g. "Imported google-authenticator file".
	Name string
	// Key is the secret and its code parameters.
	Key otp.Key
	// LastStep is the last time step known to be used; codes of that step
	// and earlier are refused as reused. Zero means none known.
	LastStep uint64
	// ScratchCodes become the user's recovery codes, typed as they are
	// (8 digits each, see normalizeRecoveryCode).
	ScratchCodes []string
}

// ImportTOTP makes imp the user's confirmed authenticator and its scratch
// codes the user's recovery codes (replacing any), all at once. A user with
// a confirmed authenticator gets ErrConflict and nothing changes; a scratch
// code that is not 8 digits, ErrInvalid.
func (s *Service) ImportTOTP(ctx context.Context, u User, imp ImportedTOTP) error {
	hashes := make([][]byte, len(imp.ScratchCodes))
	for i, c := range imp.ScratchCodes {
		if !isScratchCode(c) {
			return fmt.Errorf("scratch code %d is not 8 digits: %w", i+1, ErrInvalid)
		}
		hashes[i] = s.cipher.RecoveryHash(u.ID, c)
	}
	idb := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, idb); err != nil {
		return fmt.Errorf("authenticator id: %w", err)
	}
	now := s.now()
	a := Authenticator{ID: hex.EncodeToString(idb), UserID: u.ID, Name: imp.Name, Algorithm: imp.Key.Algorithm,
		Digits: imp.Key.Digits, Period: imp.Key.Period, Created: now, Confirmed: now, LastUsed: now, LastStep: imp.LastStep}
	if a.Digits == 0 {
		a.Digits = otp.DefaultDigits
	}
	if a.Period == 0 {
		a.Period = otp.DefaultPeriod
	}
	var err error
	if a.SealedSecret, err = s.cipher.Seal(imp.Key.Secret, u.ID, a.ID); err != nil {
		return err
	}
	err = s.store.ImportAuthenticator(ctx, a, hashes)
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("user %s has a TOTP authenticator already: %w", u.Name, ErrConflict)
	}
	return err
}

// HasSecret reports whether one of the user's confirmed authenticators has
// this secret (for instance from an earlier import).
func (s *Service) HasSecret(ctx context.Context, userID int64, secret []byte) (bool, error) {
	auths, err := s.store.Authenticators(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, a := range auths {
		if a.Confirmed.IsZero() {
			continue
		}
		key, err := s.key(a)
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare(key.Secret, secret) == 1 {
			return true, nil
		}
	}
	return false, nil
}
