package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The provider's paths, under the issuer.
const (
	pathDiscovery  = "/.well-known/openid-configuration"
	pathAuthorize  = "/oidc/authorize"
	pathToken      = "/oidc/token"
	pathUserinfo   = "/oidc/userinfo"
	pathKeys       = "/oidc/keys"
	pathEndSession = "/oidc/end_session"
	pathRevoke     = "/oidc/revoke"
	pathIntrospect = "/oidc/introspect"
	// LoginPath is the sign-in pages' bridge (package web): the
	// authorization endpoint sends the browser there with ?id=REQUEST.
	LoginPath = "/oidc/login"
	// LogoutPath is the sign-in pages' sign-out of an end_session request
	// (package web), with ?ticket=T (see Provider.Logout).
	LogoutPath = "/oidc/logout"
)

// Deps are what a Provider is built from.
type Deps struct {
	Store   oidcstate.Store
	Service *mfa.Service
	// Cipher seals signing keys, codes and access tokens, and derives the
	// keys of sub and sid, so that every instance with the same secret
	// key agrees.
	Cipher *mfa.Cipher
	Log    *slog.Logger
	// Rand supplies tokens, IDs and keys (crypto/rand.Reader in
	// production); Now tells the time (time.Now).
	Rand io.Reader
	Now  func() time.Time
	// HTTPClient sends back-channel logout tokens; nil means a client with
	// a 5-second timeout that follows no redirect.
	HTTPClient *http.Client
}

// Options are the provider's settings; zero durations take the defaults
// named.
type Options struct {
	// Issuer is the server's public base URL, without a final '/'.
	Issuer string
	// TokenTTL is the lifetime of ID and access tokens; zero means 10
	// minutes.
	TokenTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token (each use gives a
	// new one); zero means 720 hours (30 days).
	RefreshTTL time.Duration
	// CodeTTL is how long an authorization code may be redeemed; zero
	// means 1 minute.
	CodeTTL time.Duration
	// RequestTTL is how long an authorization request waits for its
	// sign-in (password, code, perhaps a TOTP setup); zero means 30
	// minutes.
	RequestTTL time.Duration
	// SigningAlgorithm signs ID tokens and logout tokens: "RS256" (zero,
	// what relying parties expect by default) or "ES256"; keys of both
	// are published.
	SigningAlgorithm string
	// SessionMax is the longest a session lives (mfa.Options.SessionMax):
	// older records of the applications a session signed in to are
	// forgotten; zero means 12 hours.
	SessionMax time.Duration
}

func (o *Options) setDefaults() {
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	if o.TokenTTL == 0 {
		o.TokenTTL = 10 * time.Minute
	}
	if o.RefreshTTL == 0 {
		o.RefreshTTL = 720 * time.Hour
	}
	if o.CodeTTL == 0 {
		o.CodeTTL = time.Minute
	}
	if o.RequestTTL == 0 {
		o.RequestTTL = 30 * time.Minute
	}
	if o.SigningAlgorithm == "" {
		o.SigningAlgorithm = algRS256
	}
	if o.SessionMax == 0 {
		o.SessionMax = 12 * time.Hour
	}
}

// Provider is the OpenID provider: an http.Handler of the protocol's
// endpoints, and the methods the sign-in pages and the service call.
type Provider struct {
	store  oidcstate.Store
	svc    *mfa.Service
	cipher *mfa.Cipher
	log    *slog.Logger
	rand   io.Reader
	now    func() time.Time
	opts   Options
	op     *op.Provider
	keys   *keyring
	crypto tokenCrypto
	// subKey and sidKey key the sub of a user and the sid of a session.
	subKey, sidKey []byte
	logouts        *logoutQueue
}

// New returns a Provider. It fails for an issuer that is not an absolute
// http(s) URL or an unknown signing algorithm.
func New(d Deps, o Options) (*Provider, error) {
	o.setDefaults()
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oidc: issuer %q is not an absolute http or https URL", o.Issuer)
	}
	if o.SigningAlgorithm != algRS256 && o.SigningAlgorithm != algES256 {
		return nil, fmt.Errorf("oidc: signing algorithm %q: want RS256 or ES256", o.SigningAlgorithm)
	}
	if o.TokenTTL < 0 || o.RefreshTTL < 0 || o.CodeTTL < 0 || o.RequestTTL < 0 || o.SessionMax < 0 {
		return nil, errors.New("oidc: lifetimes must not be negative")
	}
	p := &Provider{store: d.Store, svc: d.Service, cipher: d.Cipher, log: d.Log, rand: d.Rand, now: d.Now, opts: o,
		crypto: tokenCrypto{c: d.Cipher, now: d.Now}}
	if p.subKey, err = d.Cipher.DeriveKey("otpgate oidc subject"); err != nil {
		return nil, err
	}
	if p.sidKey, err = d.Cipher.DeriveKey("otpgate oidc session"); err != nil {
		return nil, err
	}
	p.keys = &keyring{store: d.Store, cipher: d.Cipher, rand: d.Rand, now: d.Now, alg: o.SigningAlgorithm, reload: keyReload, log: d.Log}
	client := d.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	p.logouts = newLogoutQueue(p, client)
	opts := []op.Option{
		op.WithCrypto(p.crypto),
		op.WithCustomEndpoints(op.NewEndpoint(pathAuthorize), op.NewEndpoint(pathToken), op.NewEndpoint(pathUserinfo),
			op.NewEndpoint(pathRevoke), op.NewEndpoint(pathEndSession), op.NewEndpoint(pathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(pathIntrospect)),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(algRS256, algES256)),
		// Any origin may call the token, userinfo and keys endpoints (a
		// public client in a browser), never with the browser's cookies.
		op.WithCORSOptions(&cors.Options{AllowOriginFunc: func(string) bool { return true },
			AllowedMethods: []string{http.MethodGet, http.MethodPost}, AllowedHeaders: []string{"Authorization", "Content-Type"}}),
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	config := &op.Config{CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: true,
		BackChannelLogoutSupported: true, BackChannelLogoutSessionSupported: true}
	if p.op, err = op.NewProvider(config, &storage{p}, op.StaticIssuer(o.Issuer), opts...); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return p, nil
}

// ServeHTTP answers the protocol's endpoints; every other path is 404.
// Requests go through the checks of this package before the library sees
// them (see authorize.go, token.go, params.go).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathDiscovery:
		p.serveDiscovery(w, r)
	case pathAuthorize:
		p.authorize(w, r)
	case pathToken:
		p.token(w, r)
	case pathEndSession:
		p.endSession(w, r)
	case pathUserinfo, pathKeys, pathRevoke, pathIntrospect:
		if p.readParams(w, r) {
			p.op.ServeHTTP(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// EnsureKeys makes the signing keys when the store has none yet (the
// first start), and loads them.
func (p *Provider) EnsureKeys(ctx context.Context) error {
	_, err := p.keys.get(ctx)
	return err
}

// Close stops the back-channel logout deliveries, after trying for a few
// seconds those still queued.
func (p *Provider) Close() { p.logouts.close() }

// withIssuer is ctx as the library's handlers see it.
func (p *Provider) withIssuer(ctx context.Context) context.Context {
	return op.ContextWithIssuer(ctx, p.opts.Issuer)
}
