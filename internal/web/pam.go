package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// The results of the PAM endpoints (see api.PAMResponse).
const (
	pamOK             = "ok"
	pamNoSecondFactor = "no_second_factor"
	pamCodeRequired   = "code_required"
	pamCodeWrong      = "code_wrong"
	pamDenied         = "denied"
	pamThrottled      = "throttled"
)

// Messages of the PAM endpoints that the sign-in pages do not have.
const (
	msgPAMDenied     = "This account may not log in."
	msgPAMSetupFirst = "A second factor is required: set up TOTP in otpgate's Personal settings → Security first."
	msgPAMCodeNeeded = "Enter the verification code from your authenticator app."
	msgUnknownHost   = "missing or unknown host token"
)

// parseBearer returns the token of an Authorization header of the Bearer
// scheme (RFC 6750 §2.1: the scheme in any case, one or more spaces, a
// token68 of at most mfa.MaxHostTokenLength bytes), or false.
func parseBearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > mfa.MaxHostTokenLength {
		return "", false
	}
	// token68: ALPHA, DIGIT, "-._~+/", then any "=".
	body := strings.TrimRight(token, "=")
	if body == "" {
		return "", false
	}
	for _, c := range []byte(body) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return "", false
		}
	}
	return token, true
}

// requireHost serves h only for a request with a registered host's token
// (see mfa.Service.HostByToken); any other gets 401 {"error"}, and nothing
// else is done: the body is not read. The token is never logged.
func (s *server) requireHost(h func(w http.ResponseWriter, r *http.Request, host mfa.Host)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		if vs := r.Header.Values("Authorization"); len(vs) == 1 {
			token, _ = parseBearer(vs[0])
		}
		host, err := s.svc.HostByToken(r.Context(), token, s.clientAddr(r))
		if errors.Is(err, mfa.ErrNotFound) {
			setReason(r, "unknown host token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="otpgate"`)
			encodeJSON(w, http.StatusUnauthorized, api.Error{Error: msgUnknownHost})
			return
		}
		if err != nil {
			s.apiError(w, r, "pam host", err)
			return
		}
		setHost(r, host.Name)
		h(w, r, host)
	})
}

// pamField is one field of a PAM request, checked by checkPAMFields.
type pamField struct {
	name, value string
	// secret fields may hold control characters (not NUL): they are never
	// logged or shown.
	secret bool
}

// checkPAMFields checks the fields of a PAM request against fieldLimits:
// within their lengths, no NUL byte (a C string from the module cannot
// hold one), no control character in what is logged. The user is
// required. It returns what to tell the client, or "" when they pass.
func checkPAMFields(fields ...pamField) string {
	for _, f := range fields {
		switch {
		case f.name == "user" && strings.TrimSpace(f.value) == "":
			return "user is required"
		case len(f.value) > fieldLimits[f.name]:
			return f.name + " too long"
		case strings.IndexByte(f.value, 0) >= 0:
			return f.name + " holds a NUL byte"
		case !f.secret && strings.ContainsFunc(f.value, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return f.name + " holds a control character"
		}
	}
	return ""
}

// handlePAMAuthenticate checks a user's second factor for a registered
// host's PAM module (see mfa.Service.PAMCheck): 200 ok or
// no_second_factor, 401 code_required, code_wrong or denied, 429
// throttled (with Retry-After), 503 {"error"} when the store or a first
// factor cannot be asked, 4xx {"error"} for a bad request.
func (s *server) handlePAMAuthenticate() http.Handler {
	return s.requireHost(func(w http.ResponseWriter, r *http.Request, host mfa.Host) {
		req, err := decodeJSON[api.PAMRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		var password string
		if req.Password != nil {
			password = *req.Password
		}
		if msg := checkPAMFields(pamField{"user", req.User, false}, pamField{"code", req.Code, false},
			pamField{"service", req.Service, false}, pamField{"rhost", req.RHost, false}, pamField{"tty", req.TTY, false},
			pamField{"password", password, true}); msg != "" {
			setReason(r, "bad request")
			encodeJSON(w, http.StatusBadRequest, api.Error{Error: msg})
			return
		}
		setPAM(r, req.Service, req.RHost)
		res, err := s.svc.PAMCheck(r.Context(), host, mfa.PAMAttempt{Name: req.User, Code: req.Code, Service: req.Service,
			RHost: req.RHost, TTY: req.TTY, CheckPassword: req.Password != nil, Password: password})
		if err != nil {
			s.apiError(w, r, "pam authenticate", err)
			return
		}
		logAttempt(r, res)
		resp := api.PAMResponse{}
		status := http.StatusUnauthorized
		switch res.Outcome {
		case mfa.OK:
			status, resp.Result = http.StatusOK, pamOK
		case mfa.NoSecondFactor:
			status, resp.Result = http.StatusOK, pamNoSecondFactor
		case mfa.CodeRequired:
			resp.Result, resp.Message = pamCodeRequired, msgPAMCodeNeeded
		case mfa.BadCode:
			resp.Result, resp.Message = pamCodeWrong, codeMessage(res)
		case mfa.Throttled:
			status, resp.Result = http.StatusTooManyRequests, pamThrottled
			resp.RetryAfter = retryAfter(w, res.RetryAfter)
			resp.Message = throttledMessage(res)
		case mfa.SetupRequired:
			resp.Result, resp.Message = pamDenied, msgPAMSetupFirst
		case mfa.BadCredentials:
			// With the password checked here, a refusal never tells an
			// unknown user from a wrong password or a disabled account.
			resp.Result, resp.Message = pamDenied, msgPAMDenied
			if req.Password != nil {
				resp.Message = msgBadCredentials
			}
		default:
			s.apiError(w, r, "pam authenticate", fmt.Errorf("unexpected outcome %v", res.Outcome))
			return
		}
		encodeJSON(w, status, resp)
	})
}

// handlePAMAccount answers a registered host's PAM account check (see
// mfa.Service.PAMAccount): 200 ok, or 200 denied with a message; 503
// {"error"} when the store or the user's source cannot be asked.
func (s *server) handlePAMAccount() http.Handler {
	return s.requireHost(func(w http.ResponseWriter, r *http.Request, host mfa.Host) {
		req, err := decodeJSON[api.PAMAccountRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		if msg := checkPAMFields(pamField{"user", req.User, false}, pamField{"service", req.Service, false},
			pamField{"rhost", req.RHost, false}, pamField{"tty", req.TTY, false}); msg != "" {
			setReason(r, "bad request")
			encodeJSON(w, http.StatusBadRequest, api.Error{Error: msg})
			return
		}
		setPAM(r, req.Service, req.RHost)
		res, err := s.svc.PAMAccount(r.Context(), req.User)
		if err != nil {
			s.apiError(w, r, "pam account", err)
			return
		}
		logAttempt(r, res)
		if res.Outcome != mfa.OK {
			encodeJSON(w, http.StatusOK, api.PAMResponse{Result: pamDenied, Message: msgPAMDenied})
			return
		}
		encodeJSON(w, http.StatusOK, api.PAMResponse{Result: pamOK})
	})
}
