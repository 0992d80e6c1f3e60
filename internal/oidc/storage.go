package oidc

import (
	"context"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
)

// storage is the op package's Storage over the provider's store and
// service. Its methods are split by concern: requests and codes
// (storage_code.go), tokens (storage_token.go), claims (claims.go), keys
// (keys.go).
type storage struct{ p *Provider }

// errUnknownClient is a client_id that names no registered client: a plain
// error, which the library answers as the client's fault, not a server
// error.
var errUnknownClient = errors.New("unknown client")

// GetClientByClientID returns the registered client of that ID.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.store.OIDCClient(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return nil, errUnknownClient
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return &relyingParty{c: c, loginURL: s.p.opts.Issuer + LoginPath, ttl: s.p.opts.TokenTTL}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret
// (client_secret_basic or client_secret_post); a wrong one is recorded in
// the audit log.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.store.OIDCClient(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return errUnknownClient
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if !CheckClientSecret(c, secret) {
		s.p.auditClient(ctx, "", id, actionClient, resultRefused, "client secret wrong")
		return errors.New("client secret wrong")
	}
	return nil
}

// GetKeyByIDAndClientID is for the JWT profile grant and private_key_jwt,
// which the provider does not offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("client keys are not supported")
}

// ValidateJWTProfileScopes is for the JWT profile grant, which the
// provider does not offer.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// GetPrivateClaimsFromScopes is for JWT access tokens; the provider's are
// opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// TerminateSession is not called: end_session goes through
// TerminateSessionFromRequest (logout.go).
func (s *storage) TerminateSession(context.Context, string, string) error {
	return fmt.Errorf("oidc: TerminateSession is not used")
}

// Health reports whether the store answers.
func (s *storage) Health(ctx context.Context) error { return s.p.svc.Ping(ctx) }
