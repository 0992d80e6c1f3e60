// Package oidcstate defines what otpgate's OpenID Connect provider keeps in
// the store: the clients the operator registered, authorization requests
// and their codes, access and refresh tokens, signing keys, and which
// clients each browser session signed in to (for logout). Every record
// lives in the store, never in one process, so any number of server
// instances on one PostgreSQL database serve one provider: a code redeemed
// on one instance cannot be redeemed on another.
//
// Secrets never reach the store in the clear: client secrets, codes and
// refresh tokens are kept as SHA-256 hashes (they are random, 256 bits), and
// private signing keys sealed with the server's secret key.
//
// Stores report the error kinds of package mfa (mfa.ErrNotFound,
// mfa.ErrConflict, mfa.ErrInvalid, mfa.ErrUnavailable) and ErrReused.
package oidcstate

import (
	"context"
	"errors"
	"time"
)

// ErrReused is returned by RotateRefreshToken for a refresh token that was
// already exchanged: a copy is in someone else's hands, so the store has
// revoked the token's whole family.
var ErrReused = errors.New("refresh token already used")

// Client is a relying party registered by the operator
// (`otpgate client add`). Its ID is the name it was registered under.
type Client struct {
	// ID is the client_id.
	ID string
	// SecretHash is the SHA-256 of the client secret; nil for a public
	// client.
	SecretHash []byte
	// RedirectURIs are the redirect_uri values accepted, compared exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the post_logout_redirect_uri values
	// accepted, compared exactly.
	PostLogoutRedirectURIs []string
	// BackChannelLogoutURI, when set, is sent a logout token when a session
	// the client signed in with ends.
	BackChannelLogoutURI string
	// Public marks a client that cannot keep a secret (PKCE required).
	Public bool
	// RequireSecondFactor means no ID token is issued to the client for a
	// sign-in without a second factor.
	RequireSecondFactor bool
	// Created is when the client was registered.
	Created time.Time
}

// AuthRequest is an authorization request from its arrival at the
// authorize endpoint to the redemption of its code.
type AuthRequest struct {
	// ID is random and names the request in the sign-in page's URL.
	ID string
	// ClientID, RedirectURI, Scopes, State, Nonce, ResponseType,
	// ResponseMode, CodeChallenge and CodeChallengeMethod are the request's
	// parameters as validated.
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt holds the prompt values asked for (none, login, ...).
	Prompt []string
	// MaxAge is the max_age asked for in seconds; negative when absent.
	MaxAge int64
	// LoginHint is the login_hint, if any.
	LoginHint string
	// ACRValues are the acr_values asked for, in order (a value meaning a
	// second factor makes one required).
	ACRValues []string
	// Created is when the request arrived; requests expire a while after.
	Created time.Time

	// The fields below are set when the user has signed in
	// (CompleteAuthRequest).

	// UserID is the user who signed in; zero until then.
	UserID int64
	// AuthTime is when that user's session signed in.
	AuthTime time.Time
	// AMR lists the methods used: "pwd", and "otp" with a second factor.
	AMR []string
	// SessionID is the sid of the browser session that signed in.
	SessionID string

	// CodeHash is the SHA-256 of the authorization code once issued.
	CodeHash []byte
	// CodeExpires is when the code stops being redeemable.
	CodeExpires time.Time
}

// Done reports whether a user has signed in for the request.
func (r AuthRequest) Done() bool { return r.UserID != 0 }

// AccessToken is an opaque access token issued to a client; the token the
// client holds names its ID.
type AccessToken struct {
	// ID is random and unique.
	ID string
	// ClientID is the client the token was issued to.
	ClientID string
	// UserID is the user it speaks for.
	UserID int64
	// Scopes and Audience are those granted.
	Scopes   []string
	Audience []string
	// RefreshFamily, when set, is the family of the refresh token issued
	// with it: revoking the family revokes the access token too.
	RefreshFamily string
	// SessionID is the sid of the browser session it comes from.
	SessionID string
	// Expires is when the token stops working.
	Expires time.Time
}

// RefreshToken is a refresh token, kept by the hash of its value. Each use
// exchanges it for a new one of the same family (rotation).
type RefreshToken struct {
	// Hash is the SHA-256 of the token.
	Hash []byte
	// Family is shared by every token rotated from one grant.
	Family string
	// ClientID, UserID, Scopes, Audience, AMR, AuthTime and SessionID are
	// those of the grant, carried to each token of the family.
	ClientID  string
	UserID    int64
	Scopes    []string
	Audience  []string
	AMR       []string
	AuthTime  time.Time
	SessionID string
	// Created is when this token was issued.
	Created time.Time
	// Expires is when this token stops working.
	Expires time.Time
	// Used is set once the token has been exchanged.
	Used bool
}

// SigningKey is one of the provider's signing keys. It is published in the
// JWKS from Created and signs from SignFrom; once a newer key signs, it is
// retired (RetireAt) and removed when every token it signed has expired.
type SigningKey struct {
	// ID is the key's kid.
	ID string
	// Algorithm is the JWS algorithm: "RS256" or "ES256".
	Algorithm string
	// Sealed is the PKCS #8 private key, sealed with the server's key.
	Sealed []byte
	// Created is when it was made (and first published).
	Created time.Time
	// SignFrom is when it starts to sign.
	SignFrom time.Time
	// RetireAt, when not zero, is when it stops being published.
	RetireAt time.Time
}

// Store is what the OpenID Connect provider needs from a storage backend.
type Store interface {
	// CreateOIDCClient stores c; an ID taken gives mfa.ErrConflict.
	CreateOIDCClient(ctx context.Context, c Client) error
	// OIDCClient returns the client of that ID, or mfa.ErrNotFound.
	OIDCClient(ctx context.Context, id string) (Client, error)
	// OIDCClients returns every client, ordered by ID.
	OIDCClients(ctx context.Context) ([]Client, error)
	// DeleteOIDCClient removes the client with its requests, tokens and
	// session links (mfa.ErrNotFound if absent).
	DeleteOIDCClient(ctx context.Context, id string) error

	// CreateAuthRequest stores r (mfa.ErrNotFound for an unknown client).
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	// AuthRequest returns the request of that ID, or mfa.ErrNotFound.
	AuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// CompleteAuthRequest records who signed in for the request: UserID,
	// AuthTime, AMR and SessionID are taken from r (mfa.ErrNotFound if
	// the request or the user is absent, mfa.ErrConflict once its code is
	// issued: a code speaks for one user).
	CompleteAuthRequest(ctx context.Context, r AuthRequest) error
	// SetAuthCode records the hash of the code issued for request id and
	// when it expires (mfa.ErrNotFound if absent, mfa.ErrConflict while no
	// user has signed in for it). A second call replaces the code.
	SetAuthCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error
	// TakeAuthCode atomically removes the request whose code has that hash
	// and returns it: of concurrent calls, on any instance, one gets the
	// request and the others mfa.ErrNotFound, as does a code expired at
	// now.
	TakeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (AuthRequest, error)
	// DeleteAuthRequest removes one request; absent is not an error.
	DeleteAuthRequest(ctx context.Context, id string) error
	// DeleteExpiredAuthRequests removes requests created before before.
	DeleteExpiredAuthRequests(ctx context.Context, before time.Time) error

	// CreateAccessToken stores t (mfa.ErrNotFound for an unknown client or
	// user).
	CreateAccessToken(ctx context.Context, t AccessToken) error
	// AccessToken returns the token of that ID, or mfa.ErrNotFound (also
	// when expired at now).
	AccessToken(ctx context.Context, id string, now time.Time) (AccessToken, error)
	// DeleteAccessToken removes one access token; absent is not an error.
	DeleteAccessToken(ctx context.Context, id string) error

	// CreateRefreshToken stores t, the first of a new family (mfa.ErrConflict
	// if the family exists, mfa.ErrNotFound for an unknown client or user).
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshToken returns the token with that hash, used or not, or
	// mfa.ErrNotFound.
	RefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken atomically marks the token with hash old used and
	// stores next in its family. If old was used already, it deletes the
	// whole family (refresh and access tokens) and returns ErrReused; if it
	// is absent or expired at now, mfa.ErrNotFound. next's Family,
	// ClientID, UserID and SessionID are old's: left zero they are filled
	// in, set to others they give mfa.ErrInvalid and nothing changes.
	RotateRefreshToken(ctx context.Context, old []byte, next RefreshToken, now time.Time) error
	// DeleteRefreshFamily removes every refresh and access token of the
	// family; absent is not an error.
	DeleteRefreshFamily(ctx context.Context, family string) error
	// DeleteClientGrants removes the refresh and access tokens of the user
	// for the client.
	DeleteClientGrants(ctx context.Context, userID int64, clientID string) error
	// DeleteSessionGrants removes the refresh and access tokens issued
	// from the browser session sid.
	DeleteSessionGrants(ctx context.Context, sid string) error
	// DeleteExpiredTokens removes access and refresh tokens expired at now.
	DeleteExpiredTokens(ctx context.Context, now time.Time) error

	// CreateSigningKey stores k; an ID taken gives mfa.ErrConflict.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys returns every key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RetireSigningKey sets the key's RetireAt (mfa.ErrNotFound if absent).
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	// DeleteSigningKey removes the key; absent is not an error.
	DeleteSigningKey(ctx context.Context, id string) error

	// AddSessionClient records that browser session sid of the user signed
	// in to the client (again is not an error, and records now; a sid is of
	// one user: another user's gives mfa.ErrConflict).
	AddSessionClient(ctx context.Context, sid string, userID int64, clientID string, now time.Time) error
	// SessionClients returns the IDs of the clients session sid signed in
	// to, ordered.
	SessionClients(ctx context.Context, sid string) ([]string, error)
	// UserSessionClients returns the sessions of the user and their
	// clients, for ending all of them: sid to client IDs.
	UserSessionClients(ctx context.Context, userID int64) (map[string][]string, error)
	// DeleteSessionClients forgets session sid's clients.
	DeleteSessionClients(ctx context.Context, sid string) error
	// DeleteStaleSessionClients forgets links recorded before before.
	DeleteStaleSessionClients(ctx context.Context, before time.Time) error
}
