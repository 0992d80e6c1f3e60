package oidc

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/oidcstate"
)

// relyingParty is a registered client as the op package sees it
// (op.Client): the authorization code flow only, redirect URIs exactly as
// registered, PKCE and no secret for a public client, a secret (basic or
// post) for a confidential one, no consent page.
type relyingParty struct {
	c        oidcstate.Client
	loginURL string
	ttl      time.Duration
}

// GetID returns the client_id.
func (c *relyingParty) GetID() string { return c.c.ID }

// RedirectURIs returns the registered redirect URIs.
func (c *relyingParty) RedirectURIs() []string { return c.c.RedirectURIs }

// PostLogoutRedirectURIs returns the registered post-logout redirect URIs.
func (c *relyingParty) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is web for every client: the library then matches
// redirect URIs exactly, without the loopback port leeway of native
// clients.
func (c *relyingParty) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is none for a public client; basic for a confidential one,
// which the library also accepts as a post (client_secret_post).
func (c *relyingParty) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes is the code flow alone.
func (c *relyingParty) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes are the code and its refresh tokens.
func (c *relyingParty) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// LoginURL is the sign-in pages' bridge for request id.
func (c *relyingParty) LoginURL(id string) string { return c.loginURL + "?id=" + url.QueryEscape(id) }

// AccessTokenType is opaque (bearer): access tokens are checked in the
// store, so that revoking one takes effect at once.
func (c *relyingParty) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

// IDTokenLifetime is the provider's token lifetime.
func (c *relyingParty) IDTokenLifetime() time.Duration { return c.ttl }

// DevMode, for the library, allows any scheme the operator registered
// (http for an application on a private network, a native app's own): the
// URI must still be registered exactly, which the checks before the
// library have made sure of.
func (c *relyingParty) DevMode() bool { return true }

// RestrictAdditionalIdTokenScopes keeps every scope.
func (c *relyingParty) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// RestrictAdditionalAccessTokenScopes keeps every scope.
func (c *relyingParty) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed allows the groups scope besides the standard ones.
func (c *relyingParty) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion puts the claims of the scopes in the ID
// token as well as in userinfo: some relying parties read only one.
func (c *relyingParty) IDTokenUserinfoClaimsAssertion() bool { return true }

// ClockSkew is none.
func (c *relyingParty) ClockSkew() time.Duration { return 0 }
