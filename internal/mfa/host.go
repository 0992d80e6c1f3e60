package mfa

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Host is a machine registered to ask for second-factor checks over PAM
// (the pam_otpgate module; see PAMCheck). It proves who it is with a token
// made by AddHost; the store keeps only the token's hash.
type Host struct {
	// ID is assigned by the store on creation.
	ID int64
	// Name names the host in the log and in the operator's commands: the
	// rules of a user name (see ValidateName).
	Name string
	// TokenHash is HashToken of the host's token.
	TokenHash []byte
	// AllowPassword lets the host have passwords checked here too (the
	// site's first factors), for PAM services whose stack has no other
	// password module.
	AllowPassword bool
	// Created is when the host was registered.
	Created time.Time
}

// MaxHostTokenLength is the longest host token looked up, in bytes; real
// ones are 43 (TokenSize bytes in unpadded base64url).
const MaxHostTokenLength = 128

// AddHost registers a host and returns its token: TokenSize random bytes in
// unpadded base64url, to be shown once; only its hash is stored. A name
// taken gives ErrConflict, a name that is no valid user name ErrInvalid.
func (s *Service) AddHost(ctx context.Context, name string, allowPassword bool) (string, error) {
	name = NormalizeName(name)
	if err := ValidateName(name); err != nil {
		return "", fmt.Errorf("%w: host names follow the rules of user names", err)
	}
	token, err := newToken(s.rand)
	if err != nil {
		return "", err
	}
	_, err = s.store.CreateHost(ctx, Host{Name: name, TokenHash: HashToken(token), AllowPassword: allowPassword, Created: s.now()})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Hosts returns every registered host, ordered by name.
func (s *Service) Hosts(ctx context.Context) ([]Host, error) { return s.store.Hosts(ctx) }

// RemoveHost removes the host of that name: its token stops working at
// once. An unknown name gives ErrNotFound.
func (s *Service) RemoveHost(ctx context.Context, name string) error {
	return s.store.DeleteHost(ctx, NormalizeName(name))
}

// HostByToken returns the host whose token this is. The token is looked up
// by its hash, so that the time taken tells nothing of how near a guess
// came. A missing, overlong or unknown token gives ErrNotFound and counts
// one failure on the address counter of addr (the client's address; none
// when empty), the counter wrong passwords from there count on.
//
// A registered token is answered whatever that counter says: every user
// of a host shares its address, and none of them may keep the host's PAM
// stack from the server by sending wrong tokens. Guessing gets nowhere
// anyway: a token has 256 random bits.
func (s *Service) HostByToken(ctx context.Context, token, addr string) (Host, error) {
	if token != "" && len(token) <= MaxHostTokenLength {
		h, err := s.store.HostByTokenHash(ctx, HashToken(token))
		if !errors.Is(err, ErrNotFound) {
			return h, err
		}
	}
	if addr != "" {
		if err := s.fail(ctx, []counter{s.addressCounter("address", addr)}, s.now()); err != nil {
			return Host{}, err
		}
	}
	return Host{}, fmt.Errorf("host token: %w", ErrNotFound)
}
