package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// Rotation of the signing keys: "otpgate keys rotate" and "keys list",
// and the server's clean-up of the keys replaced.

// KeyInfo describes a signing key for "otpgate keys list".
type KeyInfo struct {
	ID, Algorithm string
	// Created is when it was made and published; SignFrom when it signs;
	// RetireAt, when set, when it is no longer published.
	Created, SignFrom, RetireAt time.Time
	// State is "next" (published, not signing yet), "current" (signing),
	// "previous" (replaced, published while its tokens may be valid) or
	// "retired" (no longer published; the server's clean-up removes it).
	State string
}

// ListKeys returns the store's signing keys as they stand at now.
func ListKeys(ctx context.Context, store oidcstate.Store, now time.Time) ([]KeyInfo, error) {
	stored, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(stored, keyOrder)
	current := map[string]string{}
	for _, k := range stored {
		if !k.SignFrom.After(now) && published(k, now) {
			current[k.Algorithm] = k.ID
		}
	}
	out := make([]KeyInfo, 0, len(stored))
	for _, k := range stored {
		ki := KeyInfo{ID: k.ID, Algorithm: k.Algorithm, Created: k.Created, SignFrom: k.SignFrom, RetireAt: k.RetireAt}
		switch {
		case k.SignFrom.After(now):
			ki.State = "next"
		case current[k.Algorithm] == k.ID:
			ki.State = "current"
		case published(k, now):
			ki.State = "previous"
		default:
			ki.State = "retired"
		}
		out = append(out, ki)
	}
	return out, nil
}

// ErrRotationPending refuses a rotation while the keys of the last one do
// not sign yet.
var ErrRotationPending = errors.New("the keys of the last rotation do not sign yet")

// RotateKeys adds the next signing keys, one of each algorithm, published
// at once and signing from now+publishFor, so that relying parties have
// them before they see a token they signed. The keys they replace stay
// published until every token those signed has expired: tokenTTL after
// the new keys sign (and a few minutes for clocks); the server's clean-up
// removes them then. While keys of a rotation do not sign yet, another is
// refused (ErrRotationPending).
func RotateKeys(ctx context.Context, store oidcstate.Store, c *mfa.Cipher, rand io.Reader, now time.Time, publishFor, tokenTTL time.Duration) ([]KeyInfo, error) {
	if publishFor < 0 || tokenTTL <= 0 {
		return nil, errors.New("oidc: publish-for must not be negative, the token lifetime positive")
	}
	stored, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range stored {
		if k.SignFrom.After(now) {
			return nil, fmt.Errorf("%w: key %s signs from %s", ErrRotationPending, k.ID, k.SignFrom.UTC().Format(time.RFC3339))
		}
	}
	// Keys to sign until then, when the server never made any.
	if publishFor > 0 {
		if _, err := ensureKeys(ctx, store, c, rand, stored, now); err != nil {
			return nil, err
		}
	}
	for _, alg := range []string{algRS256, algES256} {
		sk, _, err := makeKey(rand, c, alg, now, now.Add(publishFor))
		if err != nil {
			return nil, err
		}
		if err := store.CreateSigningKey(ctx, sk); err != nil {
			return nil, err
		}
	}
	if err := retireReplaced(ctx, store, tokenTTL); err != nil {
		return nil, err
	}
	return ListKeys(ctx, store, now)
}

// retireReplaced sets when each replaced key stops being published: when
// the tokens it signed have expired, tokenTTL (and keySkew) after the key
// replacing it signs. It only ever puts that time later, so that
// instances with different token lifetimes agree on the longest.
func retireReplaced(ctx context.Context, store oidcstate.Store, tokenTTL time.Duration) error {
	stored, err := store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(stored, keyOrder)
	for i := 0; i+1 < len(stored); i++ {
		k, next := stored[i], stored[i+1]
		if k.Algorithm != next.Algorithm {
			continue
		}
		at := next.SignFrom.Add(tokenTTL + keySkew)
		if k.RetireAt.IsZero() || k.RetireAt.Before(at) {
			if err := store.RetireSigningKey(ctx, k.ID, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanupKeys retires replaced keys and removes those no longer
// published; the newest key of each algorithm is never removed.
func (k *keyring) cleanupKeys(ctx context.Context, tokenTTL time.Duration) error {
	if err := retireReplaced(ctx, k.store, tokenTTL); err != nil {
		return err
	}
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(stored, keyOrder)
	now := k.now()
	for i, sk := range stored {
		last := i+1 == len(stored) || stored[i+1].Algorithm != sk.Algorithm
		if !last && !published(sk, now) {
			if err := k.store.DeleteSigningKey(ctx, sk.ID); err != nil {
				return err
			}
			k.log.InfoContext(ctx, "oidc: retired signing key removed", "kid", sk.ID, "alg", sk.Algorithm)
		}
	}
	k.forget()
	return nil
}
