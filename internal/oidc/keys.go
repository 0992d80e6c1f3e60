package oidc

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The signing algorithms: a key of each is always published; the
// provider's SigningAlgorithm signs.
const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

const (
	// keyReload is how often an instance reads the keys again, to see
	// those another instance or "otpgate keys rotate" added.
	keyReload = time.Minute
	// keySkew is added to how long a replaced key stays published, for
	// the clocks of instances and relying parties.
	keySkew = 5 * time.Minute
	// rsaBits is the size of RS256 keys.
	rsaBits = 2048
)

// loadedKey is a stored signing key with its private key opened.
type loadedKey struct {
	oidcstate.SigningKey
	priv crypto.Signer
}

// keyring holds the signing keys of the store, read again every reload.
type keyring struct {
	store  oidcstate.Store
	cipher *mfa.Cipher
	rand   io.Reader
	now    func() time.Time
	alg    string
	reload time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	keys []loadedKey
	at   time.Time
}

// get returns the keys, ordered as keyOrder, reading them when older than
// reload; on the first start it makes a key of each algorithm. When the
// store does not answer, the keys read last serve on.
func (k *keyring) get(ctx context.Context) ([]loadedKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.keys != nil && now.Sub(k.at) < k.reload && !now.Before(k.at) {
		return k.keys, nil
	}
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		if k.keys != nil {
			k.log.WarnContext(ctx, "oidc: signing keys not read again; the last ones serve on", "err", err)
			return k.keys, nil
		}
		return nil, err
	}
	made, err := ensureKeys(ctx, k.store, k.cipher, k.rand, stored, now)
	if err != nil {
		return nil, err
	}
	for _, sk := range made {
		k.log.InfoContext(ctx, "oidc: signing key made", "kid", sk.ID, "alg", sk.Algorithm)
	}
	stored = append(stored, made...)
	keys := make([]loadedKey, 0, len(stored))
	for _, sk := range stored {
		priv, err := openKey(k.cipher, sk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, loadedKey{SigningKey: sk, priv: priv})
	}
	slices.SortFunc(keys, func(a, b loadedKey) int { return keyOrder(a.SigningKey, b.SigningKey) })
	k.keys, k.at = keys, now
	return keys, nil
}

// ensureKeys makes, for each algorithm without a key that signs at now, one
// that does (the first start), and returns those it made.
func ensureKeys(ctx context.Context, store oidcstate.Store, c *mfa.Cipher, rand io.Reader, stored []oidcstate.SigningKey, now time.Time) ([]oidcstate.SigningKey, error) {
	var made []oidcstate.SigningKey
	for _, alg := range []string{algRS256, algES256} {
		if slices.ContainsFunc(stored, func(s oidcstate.SigningKey) bool {
			return s.Algorithm == alg && !s.SignFrom.After(now) && published(s, now)
		}) {
			continue
		}
		sk, _, err := makeKey(rand, c, alg, now, now)
		if err != nil {
			return nil, err
		}
		if err := store.CreateSigningKey(ctx, sk); err != nil {
			return nil, err
		}
		made = append(made, sk)
	}
	return made, nil
}

// forget makes the next get read the store (the keys read last still
// serve if it does not answer).
func (k *keyring) forget() {
	k.mu.Lock()
	k.at = time.Time{}
	k.mu.Unlock()
}

// keyOrder orders keys by algorithm, then by when they sign, when they
// were made and their ID: of the keys of an algorithm that sign at a time,
// the last signs, and every instance picks the same.
func keyOrder(a, b oidcstate.SigningKey) int {
	return cmp.Or(cmp.Compare(a.Algorithm, b.Algorithm), a.SignFrom.Compare(b.SignFrom), a.Created.Compare(b.Created),
		cmp.Compare(a.ID, b.ID))
}

// published reports whether k is in the JWKS at now.
func published(k oidcstate.SigningKey, now time.Time) bool {
	return k.RetireAt.IsZero() || now.Before(k.RetireAt)
}

// signing returns the key that signs with alg at now: the last of that
// algorithm whose SignFrom has come.
func (k *keyring) signing(ctx context.Context, alg string) (loadedKey, error) {
	keys, err := k.get(ctx)
	if err != nil {
		return loadedKey{}, err
	}
	now := k.now()
	var best *loadedKey
	for i := range keys {
		if keys[i].Algorithm == alg && !keys[i].SignFrom.After(now) && published(keys[i].SigningKey, now) {
			best = &keys[i]
		}
	}
	if best == nil {
		return loadedKey{}, fmt.Errorf("oidc: no %s key signs now", alg)
	}
	return *best, nil
}

// makeKey makes a key of alg, sealed, published from created and signing
// from signFrom. Its ID is its RFC 7638 thumbprint.
func makeKey(rand io.Reader, c *mfa.Cipher, alg string, created, signFrom time.Time) (oidcstate.SigningKey, crypto.Signer, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case algRS256:
		priv, err = rsa.GenerateKey(rand, rsaBits)
	case algES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand)
	default:
		err = fmt.Errorf("unknown algorithm %q", alg)
	}
	if err != nil {
		return oidcstate.SigningKey{}, nil, fmt.Errorf("oidc: signing key: %w", err)
	}
	id, err := keyID(priv.Public())
	if err != nil {
		return oidcstate.SigningKey{}, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return oidcstate.SigningKey{}, nil, err
	}
	sealed, err := c.SealWith(der, keyAD(id, alg))
	if err != nil {
		return oidcstate.SigningKey{}, nil, err
	}
	return oidcstate.SigningKey{ID: id, Algorithm: alg, Sealed: sealed, Created: created, SignFrom: signFrom}, priv, nil
}

// keyID is the RFC 7638 thumbprint of a public key, in base64url.
func keyID(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("oidc: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// keyAD binds a sealed private key to its ID and algorithm.
func keyAD(id, alg string) []byte { return []byte("oidc signing key\x00" + alg + "\x00" + id) }

// openKey opens a stored key and checks that it is of its algorithm and
// ID.
func openKey(c *mfa.Cipher, sk oidcstate.SigningKey) (crypto.Signer, error) {
	der, err := c.OpenWith(sk.Sealed, keyAD(sk.ID, sk.Algorithm))
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.ID, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.ID, err)
	}
	var priv crypto.Signer
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if sk.Algorithm == algRS256 && k.N.BitLen() >= rsaBits {
			priv = k
		}
	case *ecdsa.PrivateKey:
		if sk.Algorithm == algES256 && k.Curve == elliptic.P256() {
			priv = k
		}
	}
	if priv == nil {
		return nil, fmt.Errorf("oidc: signing key %s is not an %s key", sk.ID, sk.Algorithm)
	}
	if id, err := keyID(priv.Public()); err != nil || id != sk.ID {
		return nil, fmt.Errorf("oidc: signing key %s: its ID is not its thumbprint", sk.ID)
	}
	return priv, nil
}

// opSigningKey is a key that signs, as the library takes it.
type opSigningKey struct{ k loadedKey }

// SignatureAlgorithm returns the key's algorithm.
func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.k.Algorithm)
}

// Key returns the private key.
func (s opSigningKey) Key() any { return s.k.priv }

// ID returns the kid.
func (s opSigningKey) ID() string { return s.k.ID }

// opPublicKey is a published key, as the library takes it.
type opPublicKey struct{ k loadedKey }

// ID returns the kid.
func (s opPublicKey) ID() string { return s.k.ID }

// Algorithm returns the key's algorithm.
func (s opPublicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.k.Algorithm)
}

// Use is "sig".
func (s opPublicKey) Use() string { return "sig" }

// Key returns the public key.
func (s opPublicKey) Key() any { return s.k.priv.Public() }

// SigningKey returns the key that signs ID tokens now.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.p.keys.signing(ctx, s.p.opts.SigningAlgorithm)
	if err != nil {
		return nil, err
	}
	return opSigningKey{k}, nil
}

// SignatureAlgorithms returns the algorithm that signs, then the other.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
	if s.p.opts.SigningAlgorithm == algES256 {
		algs[0], algs[1] = algs[1], algs[0]
	}
	return algs, nil
}

// KeySet returns the published keys: the JWKS, which holds the keys that
// sign, those that will (published ahead, see RotateKeys) and those
// replaced whose tokens may still be valid.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.p.keys.get(ctx)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	var out []op.Key
	for _, k := range keys {
		if published(k.SigningKey, now) {
			out = append(out, opPublicKey{k})
		}
	}
	return out, nil
}
