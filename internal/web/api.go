package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// maxAPIBody bounds an API request body.
const maxAPIBody = 4 << 10

// handleAPIVerify answers whether a login with username, password and
// optional code succeeds, with the pages' throttling and replay rules:
// 200 ok, 401 credentials_wrong, code_required or code_wrong, 429
// throttled (with Retry-After), 4xx with {"error"} for a bad request.
func (s *server) handleAPIVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeJSON[api.VerifyRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		if msg := checkLengths(req.Username, req.Password, req.OTP); msg != "" {
			encodeJSON(w, http.StatusBadRequest, api.Error{Error: msg})
			return
		}
		res, err := s.svc.Login(r.Context(), mfa.LoginAttempt{Name: req.Username, Password: req.Password, Code: req.OTP, Addr: s.clientAddr(r)})
		if err != nil {
			s.apiError(w, r, "verify", err)
			return
		}
		logAttempt(r, res)
		resp := api.VerifyResponse{Outcome: res.Outcome.String()}
		status := http.StatusUnauthorized
		switch res.Outcome {
		case mfa.OK:
			status, resp.User, resp.Message, resp.CodeFailures = http.StatusOK, res.User.Name, "Signed in.", res.CodeFailures
			if res.SetupDaysLeft > 0 {
				resp.Message += s.setupDueText(res)
			}
		case mfa.SetupRequired:
			resp.Message = "A second factor is required: set up TOTP in Personal settings → Security first, at " + s.baseURL + setupPath + "."
		case mfa.BadCredentials:
			resp.Message = msgBadCredentials
		case mfa.CodeRequired:
			resp.Message = "Enter the verification code from your authenticator app."
		case mfa.BadCode:
			resp.Message = codeMessage(res)
		case mfa.Throttled:
			status = http.StatusTooManyRequests
			resp.RetryAfter = retryAfter(w, res.RetryAfter)
			resp.Message = throttledMessage(res)
		}
		encodeJSON(w, status, resp)
	})
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
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		err := s.svc.Ping(ctx)
		cancel()
		if err != nil {
			s.log.ErrorContext(r.Context(), "health check", "err", err)
			reason := "database unavailable"
			if pd, ok := errors.AsType[*mfa.PartDown](err); ok {
				reason = pd.Part + " unavailable"
			}
			setReason(r, reason)
			encodeJSON(w, http.StatusServiceUnavailable, health{Status: "unavailable", Reason: reason})
			return
		}
		encodeJSON(w, http.StatusOK, health{Status: "ok"})
	})
}

func handleAPINotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encodeJSON(w, http.StatusNotFound, api.Error{Error: "no such endpoint"})
	})
}

// checkLengths checks a sign-in's fields against fieldLimits, and returns
// what to tell the client, or "" when they pass.
func checkLengths(username, password, otp string) string {
	name := mfa.NormalizeName(username)
	switch {
	case name == "" || password == "":
		return "username and password are required"
	case len(name) > fieldLimits["username"]:
		return "username too long"
	case len(password) > fieldLimits["password"]:
		return "password too long"
	case len(otp) > fieldLimits["otp"]:
		return "otp too long"
	}
	return ""
}
