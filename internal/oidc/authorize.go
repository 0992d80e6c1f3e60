package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// maxAgeLimit bounds max_age, in seconds (68 years).
const maxAgeLimit = 1<<31 - 1

// authorize checks an authorization request before the library sees it
// (checkAuthorize). An error is redirected to the client only when the
// request names a registered client and one of its redirect URIs exactly,
// once each; otherwise the browser gets an error page, and is sent
// nowhere.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		errorPage(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("method not allowed"))
		return
	}
	if err := parseForm(w, r); err != nil {
		errorPage(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("%s", err.Error()))
		return
	}
	target, client, err := p.errorTarget(r.Context(), r.Form)
	if err != nil {
		p.log.ErrorContext(r.Context(), "oidc: authorize", "err", err)
		errorPage(w, http.StatusInternalServerError, oidc.ErrServerError().WithDescription("the server cannot serve this request now"))
		return
	}
	if e := checkAuthorize(r.Form, client, target != nil); e != nil {
		if target == nil || e.IsRedirectDisabled() {
			errorPage(w, http.StatusBadRequest, e)
			return
		}
		op.AuthRequestError(w, r, target, e, p.op)
		return
	}
	p.op.ServeHTTP(w, r)
}

// errorTarget returns where an error of the request may be redirected:
// its redirect_uri when that is registered exactly for its client_id, each
// given once; nil otherwise. It also returns the client, when known.
func (p *Provider) errorTarget(ctx context.Context, q url.Values) (*oidc.AuthRequest, *oidcstate.Client, error) {
	id, uri := single(q, "client_id"), single(q, "redirect_uri")
	if id == "" {
		return nil, nil, nil
	}
	c, err := p.store.OIDCClient(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if uri == "" || !registered(c, uri) {
		return nil, &c, nil
	}
	return &oidc.AuthRequest{RedirectURI: uri, ResponseType: oidc.ResponseTypeCode, State: single(q, "state")}, &c, nil
}

// single returns the one value of parameter k, or "" when it is absent,
// repeated or too long.
func single(q url.Values, k string) string {
	if vs := q[k]; len(vs) == 1 && len(vs[0]) <= maxParam {
		return vs[0]
	}
	return ""
}

// registered reports whether uri is one of c's redirect URIs, exactly,
// and one a browser may be sent to: no fragment (RFC 6749 §3.1.2), no
// scheme that runs or reads something in place (javascript:, data:).
func registered(c oidcstate.Client, uri string) bool {
	if !slices.Contains(c.RedirectURIs, uri) {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" || strings.Contains(uri, "#") || u.Scheme == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file", "blob", "about":
		return false
	}
	return true
}

// checkAuthorize is every check of an authorization request made before
// the library's: the parameters' shape (checkParams), the client and its
// redirect URI (known says whether the request names one registered for
// it), no request objects (request, request_uri: not supported, so no
// unsigned or symmetric one either), the code flow with the query response
// mode, the openid scope, PKCE with S256 only (required of public
// clients), max_age and prompt. Errors about the client or the redirect
// URI are never redirected.
func checkAuthorize(q url.Values, c *oidcstate.Client, known bool) *oidc.Error {
	if e := checkParams(q); e != nil {
		return e
	}
	switch {
	case q.Get("client_id") == "":
		return oidc.ErrInvalidRequestRedirectURI().WithDescription("client_id missing")
	case c == nil:
		return oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client")
	case q.Get("redirect_uri") == "":
		return oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri missing")
	case !known:
		return oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered for this client")
	case q.Has("request"):
		return oidc.ErrRequestNotSupported().WithDescription("request objects are not supported")
	case q.Has("request_uri"):
		e := oidc.ErrRequestNotSupported().WithDescription("request_uri is not supported")
		e.ErrorType = "request_uri_not_supported"
		return e
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return oidc.ErrInvalidRequest().WithDescription("response_type missing")
	default:
		e := oidc.ErrInvalidRequest().WithDescription("only response_type code is supported")
		e.ErrorType = "unsupported_response_type"
		return e
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return oidc.ErrInvalidRequest().WithDescription("only response_mode query is supported")
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), oidc.ScopeOpenID) {
		return oidc.ErrInvalidScope().WithDescription("scope must include openid")
	}
	if e := checkPKCE(q.Get("code_challenge"), q.Get("code_challenge_method"), c.Public); e != nil {
		return e
	}
	if ma := q.Get("max_age"); ma != "" {
		if n, err := strconv.ParseUint(ma, 10, 64); err != nil || n > maxAgeLimit {
			return oidc.ErrInvalidRequest().WithDescription("max_age must be a number of seconds")
		}
	}
	prompts := strings.Fields(q.Get("prompt"))
	for _, v := range prompts {
		switch v {
		case oidc.PromptNone, oidc.PromptLogin, oidc.PromptConsent, oidc.PromptSelectAccount:
		default:
			return oidc.ErrInvalidRequest().WithDescription("unknown prompt value")
		}
	}
	if slices.Contains(prompts, oidc.PromptNone) && len(prompts) > 1 {
		return oidc.ErrInvalidRequest().WithDescription("prompt none must be alone")
	}
	return nil
}

// checkPKCE checks code_challenge and code_challenge_method (RFC 7636):
// S256 only, a challenge of the shape of a SHA-256 (43 characters of
// base64url), required of a public client.
func checkPKCE(challenge, method string, public bool) *oidc.Error {
	switch {
	case challenge == "" && method != "":
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case challenge == "" && public:
		return oidc.ErrInvalidRequest().WithDescription("PKCE is required: code_challenge with code_challenge_method S256")
	case challenge == "":
		return nil
	case method != string(oidc.CodeChallengeMethodS256):
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case !validID(challenge):
		return oidc.ErrInvalidRequest().WithDescription("code_challenge must be the base64url SHA-256 of the code_verifier")
	}
	return nil
}

// errorPage answers an error that is not redirected: the error and its
// description as plain text.
func errorPage(w http.ResponseWriter, status int, e *oidc.Error) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s: %s\n\nThe application sent an authorization request this server cannot serve; no one was signed in. Go back to the application, or tell its administrator.\n",
		e.ErrorType, e.Description)
}
