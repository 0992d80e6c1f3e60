package oidc

import (
	"context"
	"mime"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// tokenForm is what the token endpoint's checks read of a request, for the
// storage's audit entries (the library does not pass it on).
type tokenForm struct {
	clientID string
	verifier string
}

type tokenFormKey struct{}

// tokenFormFrom returns the token request's form of ctx; zero outside
// one.
func tokenFormFrom(ctx context.Context) tokenForm {
	f, _ := ctx.Value(tokenFormKey{}).(tokenForm)
	return f
}

// token checks a token request before the library sees it (checkToken).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		p.op.ServeHTTP(w, r) // a browser's CORS preflight
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("the token endpoint takes POST"), nil)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("the body must be application/x-www-form-urlencoded"), nil)
		return
	}
	if err := parseForm(w, r); err != nil {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", err.Error()), nil)
		return
	}
	if e := checkToken(r.URL.RawQuery, r.PostForm); e != nil {
		op.RequestError(w, r, e, nil)
		return
	}
	f := tokenForm{clientID: r.PostForm.Get("client_id"), verifier: r.PostForm.Get("code_verifier")}
	if id, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(id); err == nil {
			f.clientID = id
		}
	}
	p.op.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenFormKey{}, f)))
}

// checkToken is every check of a token request made before the library's:
// parameters in the body only (RFC 6749 §3.2), their shape (checkParams),
// the grants served (authorization_code, refresh_token), no client
// assertions, and a code_verifier of 43 to 128 unreserved characters
// (RFC 7636 §4.1).
func checkToken(rawQuery string, form url.Values) *oidc.Error {
	if rawQuery != "" {
		return oidc.ErrInvalidRequest().WithDescription("parameters must be in the body, not the URL")
	}
	if e := checkParams(form); e != nil {
		return e
	}
	switch form.Get("grant_type") {
	case string(oidc.GrantTypeCode), string(oidc.GrantTypeRefreshToken):
	case "":
		return oidc.ErrInvalidRequest().WithDescription("grant_type missing")
	default:
		return oidc.ErrUnsupportedGrantType().WithDescription("only authorization_code and refresh_token are supported")
	}
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		return oidc.ErrInvalidClient().WithDescription("client assertions are not supported: use client_secret_basic or client_secret_post")
	}
	if v, ok := form["code_verifier"]; ok && !validVerifier(v[0]) {
		return oidc.ErrInvalidRequest().WithDescription("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	return nil
}

// validVerifier reports whether v is a code_verifier: 43 to 128 unreserved
// characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
