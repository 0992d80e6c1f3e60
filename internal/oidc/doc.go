// Package oidc is otpgate's OpenID Connect provider: relying parties
// (Nextcloud's user_oidc, JupyterHub, Apache's mod_auth_openidc, any
// OpenID Connect application) send their users to otpgate's own sign-in
// and get back who they are and their groups.
//
// The protocol is github.com/zitadel/oidc/v3's op package, an OpenID
// Certified implementation; this package writes only what it leaves to
// its user: the storage behind it (oidcstate.Store and mfa.Service), the
// bridge to the sign-in pages, the checks run before the library sees a
// request, signing keys, and logout.
//
// Endpoints, under the issuer (the server's base URL):
//
//	/.well-known/openid-configuration  discovery
//	/oidc/authorize                    authorization code flow, PKCE S256
//	/oidc/token                        client_secret_basic, client_secret_post, none (public clients)
//	/oidc/userinfo                     claims of an access token
//	/oidc/keys                         the JWKS
//	/oidc/end_session                  RP-initiated logout
//	/oidc/revoke                       RFC 7009 revocation
//	/oidc/introspect                   RFC 7662 introspection (client_secret_basic)
//
// The sign-in pages of package web serve /oidc/login (the bridge: an
// authorization request is completed with the browser's session, see
// Provider.Resume) and /oidc/logout (the confirmation of an end_session
// request without proof, see Provider.Logout).
//
// Codes, tokens, keys and the applications each session signed in to live
// in the store, so that every instance on one database serves one
// provider: a code redeemed on one instance cannot be redeemed on another,
// a refresh token used twice revokes its family everywhere.
package oidc
