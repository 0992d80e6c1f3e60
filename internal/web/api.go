package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// verifyRequest is the body of POST /api/v1/verify.
type verifyRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// OTP is optional: a TOTP code or a recovery code.
	OTP string `json:"otp"`
}

// verifyResponse is its answer. Outcome is one of "ok",
// "credentials_wrong", "code_required", "code_wrong" (wrong or already
// used) and "throttled", with RetryAfter in seconds.
type verifyResponse struct {
	Outcome    string `json:"outcome"`
	Message    string `json:"message"`
	User       string `json:"user,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// apiError is the body of a refused API request.
type apiError struct {
	Error string `json:"error"`
}

// maxAPIBody bounds an API request body.
const maxAPIBody = 4 << 10

// handleAPIVerify answers whether a login with username, password and
// optional code succeeds, with the pages' throttling and replay rules:
// 200 ok, 401 credentials_wrong, code_required or code_wrong, 429
// throttled (with Retry-After), 4xx with {"error"} for a bad request.
func (s *server) handleAPIVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeJSON[verifyRequest](w, r, maxAPIBody)
		if err != nil {
			var de errDecode
			errors.As(err, &de)
			setReason(w, "bad request")
			encodeJSON(w, de.status, apiError{de.msg})
			return
		}
		name := mfa.NormalizeName(req.Username)
		switch {
		case name == "" || req.Password == "":
			encodeJSON(w, http.StatusBadRequest, apiError{"username and password are required"})
			return
		case len(name) > mfa.MaxNameLength:
			encodeJSON(w, http.StatusBadRequest, apiError{"username too long"})
			return
		case len(req.Password) > mfa.MaxPasswordLength:
			encodeJSON(w, http.StatusBadRequest, apiError{"password too long"})
			return
		case len(req.OTP) > 32:
			encodeJSON(w, http.StatusBadRequest, apiError{"otp too long"})
			return
		}
		res, err := s.svc.Login(r.Context(), mfa.LoginAttempt{Name: name, Password: req.Password, Code: req.OTP, Addr: s.clientAddr(r)})
		if errors.Is(err, mfa.ErrUnavailable) {
			s.log.ErrorContext(r.Context(), "verify: store unavailable", "err", err)
			setReason(w, "store unavailable")
			w.Header().Set("Retry-After", retryUnavailable)
			encodeJSON(w, http.StatusServiceUnavailable, apiError{msgUnavailable})
			return
		}
		if err != nil {
			s.log.ErrorContext(r.Context(), "verify", "err", err)
			encodeJSON(w, http.StatusInternalServerError, apiError{"internal error"})
			return
		}
		logAttempt(w, name, res)
		resp := verifyResponse{Outcome: res.Outcome.String()}
		status := http.StatusUnauthorized
		switch res.Outcome {
		case mfa.OK:
			status, resp.User, resp.Message = http.StatusOK, res.User.Name, "Signed in."
			if s.opts.RequireTOTP && !res.HasTOTP {
				// The operator requires a second factor the user lacks:
				// they must set it up in the pages first.
				status, resp.User, resp.Outcome = http.StatusUnauthorized, "", mfa.CodeRequired.String()
				resp.Message = "A second factor is required: set up TOTP in Personal settings → Security first."
			}
		case mfa.BadCredentials:
			resp.Message = msgBadCredentials
		case mfa.CodeRequired:
			resp.Message = "Enter the verification code from your authenticator app."
		case mfa.BadCode:
			resp.Message = msgBadCode
		case mfa.Throttled:
			status = http.StatusTooManyRequests
			resp.RetryAfter = retryAfter(w, res.RetryAfter)
			resp.Message = msgThrottled + retryText(res.RetryAfter) + "."
		}
		encodeJSON(w, status, resp)
	})
}

// pinger is a store that can tell whether its database answers.
type pinger interface {
	Ping(ctx context.Context) error
}

// healthTimeout bounds the store check of /healthz, so that a load
// balancer's probe gets an answer before its own timeout.
const healthTimeout = 2 * time.Second

// health is the body of /healthz.
type health struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// handleHealth answers 200 {"status":"ok"} when the store answers within
// healthTimeout, and 503 {"status":"unavailable","reason":...} when not, so
// that a load balancer sends no sign-ins to an instance that would refuse
// them. The reason names the failure, never the store's address or
// credentials.
func (s *server) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.svc.Store().(pinger); ok {
			ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
			err := p.Ping(ctx)
			cancel()
			if err != nil {
				s.log.ErrorContext(r.Context(), "health check", "err", err)
				setReason(w, "database unavailable")
				encodeJSON(w, http.StatusServiceUnavailable, health{Status: "unavailable", Reason: "database unavailable"})
				return
			}
		}
		encodeJSON(w, http.StatusOK, health{Status: "ok"})
	})
}

func handleAPINotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encodeJSON(w, http.StatusNotFound, apiError{"no such endpoint"})
	})
}
