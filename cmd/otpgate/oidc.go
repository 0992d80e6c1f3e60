package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// oidcSettings are the OpenID provider's settings, and the provider of a
// running command (run, made by openServiceWith).
type oidcSettings struct {
	TokenTTL, RefreshTTL, CodeTTL, RequestTTL time.Duration
	SigningAlg                                string
	run                                       *oidcRun
}

// oidcRun is what a command's provider is made of, and the provider once
// made.
type oidcRun struct {
	settings oidcSettings
	// store, cipher and svc are those of the command (openServiceWith).
	store  oidcstate.Store
	cipher *mfa.Cipher
	svc    *mfa.Service
	log    *slog.Logger
	// issuer is the provider's, when a command made it without serve's
	// (see sessionEnded).
	issuer   string
	mu       sync.Mutex
	provider *oidc.Provider
}

func oidcFlags(fs *flag.FlagSet, s *oidcSettings) {
	fs.DurationVar(&s.TokenTTL, "oidc-token-ttl", 10*time.Minute, "OpenID Connect: lifetime of ID tokens and access tokens (`duration`, 1m to 24h); a replaced signing key stays published this long after the next one signs")
	fs.DurationVar(&s.RefreshTTL, "oidc-refresh-ttl", 720*time.Hour, "OpenID Connect: lifetime of a refresh token (scope offline_access; `duration`, 1h to 8760h); each use gives a new one, and a second use of one revokes them all")
	fs.DurationVar(&s.CodeTTL, "oidc-code-ttl", time.Minute, "OpenID Connect: how long an authorization code may be redeemed (`duration`, 10s to 10m); once only")
	fs.DurationVar(&s.RequestTTL, "oidc-request-ttl", 30*time.Minute, "OpenID Connect: how long a sign-in for an application may take, TOTP setup included (`duration`, 1m to 24h)")
	fs.StringVar(&s.SigningAlg, "oidc-signing-alg", "RS256", "OpenID Connect: `algorithm` that signs ID tokens and logout tokens: RS256 (what applications expect by default) or ES256; keys of both are published")
}

func (s *oidcSettings) validate() []error {
	var errs []error
	between := func(name string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s %v: want %v to %v", name, d, lo, hi))
		}
	}
	between("oidc-token-ttl", s.TokenTTL, time.Minute, 24*time.Hour)
	between("oidc-refresh-ttl", s.RefreshTTL, time.Hour, 8760*time.Hour)
	between("oidc-code-ttl", s.CodeTTL, 10*time.Second, 10*time.Minute)
	between("oidc-request-ttl", s.RequestTTL, time.Minute, 24*time.Hour)
	if s.SigningAlg != "RS256" && s.SigningAlg != "ES256" {
		errs = append(errs, fmt.Errorf("oidc-signing-alg %q: want RS256 or ES256", s.SigningAlg))
	}
	return errs
}

// errNoOIDCStore is a store without the provider's records.
var errNoOIDCStore = errors.New("the store does not keep the OpenID provider's records")

// open returns the provider with issuer, making it on the first call.
func (s *oidcRun) open(issuer string) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	if s.store == nil || s.svc == nil {
		return nil, errNoOIDCStore
	}
	o := s.settings
	p, err := oidc.New(oidc.Deps{Store: s.store, Service: s.svc, Cipher: s.cipher, Log: s.log, Rand: rand.Reader, Now: time.Now},
		oidc.Options{Issuer: issuer, TokenTTL: o.TokenTTL, RefreshTTL: o.RefreshTTL, CodeTTL: o.CodeTTL, RequestTTL: o.RequestTTL,
			SigningAlgorithm: o.SigningAlg, SessionMax: s.svc.Options().SessionMax})
	if err != nil {
		return nil, err
	}
	s.provider = p
	return p, nil
}

// sessionEnded is the service's SessionEnded hook: the provider revokes
// the sessions' tokens and tells their applications. An operator's
// command (user disable, passwd, ...) makes a provider of its own, with
// the issuer of -base-url: set it where serve finds it too (the config
// file) for the applications to take its logout tokens.
func (s *oidcRun) sessionEnded(ctx context.Context, e mfa.SessionEnd) {
	p, err := s.open(s.issuer)
	if err != nil {
		if !errors.Is(err, errNoOIDCStore) {
			s.log.ErrorContext(ctx, "oidc: sessions ended", "err", err)
		}
		return
	}
	p.SessionsEnded(ctx, e)
}

// start begins a command's run: the provider is made from these, when
// asked for.
func (s *oidcSettings) start(store mfa.Store, cipher *mfa.Cipher, log *slog.Logger, issuer string) *oidcRun {
	r := &oidcRun{settings: *s, cipher: cipher, log: log, issuer: issuer}
	r.settings.run = nil
	r.store, _ = store.(oidcstate.Store)
	s.run = r
	return r
}

// close lets the provider's logout deliveries finish, for a while.
func (s *oidcSettings) close() {
	if s.run == nil {
		return
	}
	s.run.mu.Lock()
	p := s.run.provider
	s.run.mu.Unlock()
	if p != nil {
		p.Close()
	}
}
