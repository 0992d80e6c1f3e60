package oidc

import (
	"log/slog"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpgate/otpgate/internal/oidcstate"
)

// authRequest is a stored authorization request as the op package sees
// it (op.AuthRequest); sub is the subject of its user once signed in.
type authRequest struct {
	oidcstate.AuthRequest
	sub string
}

// GetID returns the request's ID.
func (r *authRequest) GetID() string { return r.ID }

// GetACR returns the acr of the sign-in: whether it passed a second factor.
func (r *authRequest) GetACR() string {
	if !r.Done() {
		return ""
	}
	return acrOf(r.AMR)
}

// GetAMR returns the methods of the sign-in.
func (r *authRequest) GetAMR() []string { return r.AMR }

// GetAudience returns the client alone.
func (r *authRequest) GetAudience() []string { return []string{r.ClientID} }

// GetAuthTime returns when the session signed in.
func (r *authRequest) GetAuthTime() time.Time { return r.AuthTime }

// GetClientID returns the client.
func (r *authRequest) GetClientID() string { return r.ClientID }

// GetCodeChallenge returns the PKCE challenge, nil without one.
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: oidc.CodeChallengeMethod(r.CodeChallengeMethod)}
}

// GetNonce returns the nonce.
func (r *authRequest) GetNonce() string { return r.Nonce }

// GetRedirectURI returns the redirect_uri, registered exactly.
func (r *authRequest) GetRedirectURI() string { return r.RedirectURI }

// GetResponseType returns "code", the one response type served.
func (r *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(r.ResponseType) }

// GetResponseMode returns the response mode (empty or query).
func (r *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(r.ResponseMode) }

// GetScopes returns the scopes granted.
func (r *authRequest) GetScopes() []string { return r.Scopes }

// GetState returns the client's state.
func (r *authRequest) GetState() string { return r.State }

// GetSubject returns the user's sub, empty before the sign-in.
func (r *authRequest) GetSubject() string { return r.sub }

// LogValue names the request in the library's log lines without its ID,
// which names the sign-in page.
func (r *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", r.ClientID), slog.String("redirect_uri", r.RedirectURI))
}

// refreshRequest is a stored refresh token as the op package sees it
// (op.RefreshTokenRequest); scopes are those asked for this time, a subset
// of the grant's.
type refreshRequest struct {
	oidcstate.RefreshToken
	sub    string
	scopes []string
}

// GetAMR returns the methods of the original sign-in.
func (r *refreshRequest) GetAMR() []string { return r.AMR }

// GetAudience returns the client alone.
func (r *refreshRequest) GetAudience() []string { return r.Audience }

// GetAuthTime returns when the original session signed in.
func (r *refreshRequest) GetAuthTime() time.Time { return r.AuthTime }

// GetClientID returns the client.
func (r *refreshRequest) GetClientID() string { return r.ClientID }

// GetScopes returns the scopes of this refresh.
func (r *refreshRequest) GetScopes() []string { return r.scopes }

// GetSubject returns the user's sub.
func (r *refreshRequest) GetSubject() string { return r.sub }

// SetCurrentScopes narrows the scopes of this refresh.
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = slices.Clone(scopes) }
