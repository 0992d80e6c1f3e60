package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Bounds of what a request may send.
const (
	// maxParam is the longest value of one parameter, in bytes.
	maxParam = 2048
	// maxParams is the most parameters in one request.
	maxParams = 32
	// maxBody is the largest form body.
	maxBody = 16 << 10
)

// checkParams refuses parameters that a well-formed request never has:
// one given twice (RFC 6749 §3.1: "Request and response parameters MUST
// NOT be included more than once"), a value over maxParam bytes or not
// UTF-8, too many of them. The error names the parameter only when its
// name is a plain one (error_description allows few characters).
func checkParams(v url.Values) *oidc.Error {
	if len(v) > maxParams {
		return oidc.ErrInvalidRequest().WithDescription("too many parameters")
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := v[k]
		if len(vs) > 1 {
			return oidc.ErrInvalidRequest().WithDescription("parameter %s given more than once", paramName(k))
		}
		for _, s := range vs {
			if len(s) > maxParam {
				return oidc.ErrInvalidRequest().WithDescription("parameter %s too long", paramName(k))
			}
			if !utf8.ValidString(s) {
				return oidc.ErrInvalidRequest().WithDescription("parameter %s is not UTF-8", paramName(k))
			}
		}
	}
	return nil
}

// paramName is a parameter's name as an error may quote it.
func paramName(k string) string {
	if k == "" || len(k) > 32 || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "(unnamed)"
	}
	return k
}

// parseForm reads the query and a form body of at most maxBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errors.New("the request body is too large")
		}
		return fmt.Errorf("the request cannot be read")
	}
	return nil
}

// readParams parses and checks the parameters of a machine endpoint
// (userinfo, keys, revoke, introspect, end_session), answering a bad
// request itself with a JSON error; it reports whether the request may go
// on.
func (p *Provider) readParams(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodOptions {
		return true // a browser's CORS preflight, which the library answers
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("method not allowed"), nil)
		return false
	}
	if err := parseForm(w, r); err != nil {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", err.Error()), nil)
		return false
	}
	if e := checkParams(r.Form); e != nil {
		op.RequestError(w, r, e, nil)
		return false
	}
	return true
}
