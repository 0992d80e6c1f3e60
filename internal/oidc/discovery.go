package oidc

import (
	"encoding/json"
	"net/http"
)

// Discovery is the provider's metadata (OpenID Connect Discovery 1.0 §3),
// written out field by field so that it says what the provider does and
// no more: the code flow with PKCE S256, two client authentications, no
// request objects.
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ACRValuesSupported                []string `json:"acr_values_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	// RequestURIParameterSupported is said false: its default is true.
	RequestURIParameterSupported      bool `json:"request_uri_parameter_supported"`
	BackchannelLogoutSupported        bool `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool `json:"backchannel_logout_session_supported"`
}

// Discovery returns the provider's metadata.
func (p *Provider) Discovery() Discovery {
	iss := p.opts.Issuer
	algs := []string{p.opts.SigningAlgorithm}
	if p.opts.SigningAlgorithm == algRS256 {
		algs = append(algs, algES256)
	} else {
		algs = append(algs, algRS256)
	}
	return Discovery{
		Issuer:                iss,
		AuthorizationEndpoint: iss + pathAuthorize, TokenEndpoint: iss + pathToken, UserinfoEndpoint: iss + pathUserinfo,
		JWKSURI: iss + pathKeys, EndSessionEndpoint: iss + pathEndSession, RevocationEndpoint: iss + pathRevoke,
		IntrospectionEndpoint:             iss + pathIntrospect,
		ScopesSupported:                   []string{"openid", "profile", "email", scopeGroups, "offline_access"},
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  algs,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionAuthMethodsSupported: []string{"client_secret_basic"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ACRValuesSupported:                []string{ACRPassword, ACRSecondFactor},
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
			"c_hash", "name", "preferred_username", "email", "email_verified", "groups"},
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
	}
}

// serveDiscovery answers /.well-known/openid-configuration.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.Marshal(p.Discovery())
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}
