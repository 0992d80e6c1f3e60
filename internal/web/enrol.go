package web

import (
	"errors"
	"net/http"

	"github.com/otpgate/otpgate/internal/mfa"
)

// enrolRequest is the body of POST /api/v1/enrol.
type enrolRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// OTP is a current code from the user's file, required when the
	// user's second factor is a google-authenticator file.
	OTP string `json:"otp"`
}

// enrolResponse answers POST /api/v1/enrol and /api/v1/enrol/confirm.
// Outcome is "ok", "credentials_wrong", "code_required", "code_wrong",
// "throttled", "conflict" (TOTP set up already) or "expired".
type enrolResponse struct {
	Outcome    string `json:"outcome"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`

	// Set by a successful start.
	ID        string `json:"id,omitempty"`
	URI       string `json:"uri,omitempty"`
	Key       string `json:"key,omitempty"`
	ExpiresIn int    `json:"expires_in,omitempty"`

	// Set by a successful confirmation.
	DriftSteps    int      `json:"drift_steps,omitempty"`
	Clock         string   `json:"clock,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	HadFile       bool     `json:"had_file,omitempty"`
}

// enrolConfirmRequest is the body of POST /api/v1/enrol/confirm.
type enrolConfirmRequest struct {
	Username string `json:"username"`
	ID       string `json:"id"`
	Code     string `json:"code"`
}

// badAPIRequest answers a body decodeJSON refused (form posts included:
// only application/json is taken, so a browser cannot post here across
// sites).
func badAPIRequest(w http.ResponseWriter, r *http.Request, err error) {
	var de errDecode
	errors.As(err, &de)
	setReason(w, "bad request")
	encodeJSON(w, de.status, apiError{de.msg})
}

// failedAttempt fills resp for the failures the enrol endpoints share with
// a sign-in and returns the status.
func failedAttempt(w http.ResponseWriter, res mfa.LoginResult, resp *enrolResponse) int {
	resp.Outcome = res.Outcome.String()
	switch res.Outcome {
	case mfa.Throttled:
		resp.RetryAfter = retryAfter(w, res.RetryAfter)
		resp.Message = msgThrottled + retryText(res.RetryAfter) + "."
		return http.StatusTooManyRequests
	case mfa.CodeRequired:
		resp.Message = "Your second factor is your google-authenticator file: enter a current code from it."
	case mfa.BadCode:
		resp.Message = msgBadCode
	default:
		resp.Message = msgBadCredentials
	}
	return http.StatusUnauthorized
}

// handleAPIEnrol starts a TOTP setup for a client with no session (the
// terminal command "otpgate enrol"): username and password, checked and
// throttled like a sign-in, plus a code from the user's file when that is
// the user's second factor. 200 with the key (the secret: shown once,
// never logged), 401 or 429 as /api/v1/verify, 409 when the user has TOTP
// already.
func (s *server) handleAPIEnrol() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeJSON[enrolRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		name := mfa.NormalizeName(req.Username)
		if name == "" || req.Password == "" || len(name) > mfa.MaxNameLength ||
			len(req.Password) > mfa.MaxPasswordLength || len(req.OTP) > 32 {
			encodeJSON(w, http.StatusBadRequest, apiError{"username and password are required, within their lengths"})
			return
		}
		res, e, err := s.svc.EnrolWithPassword(r.Context(), mfa.LoginAttempt{Name: name, Password: req.Password, Code: req.OTP, Addr: s.clientAddr(r)})
		logAttempt(w, name, res)
		var resp enrolResponse
		switch {
		case errors.Is(err, mfa.ErrHasTOTP):
			setReason(w, "enrol: TOTP set up already")
			encodeJSON(w, http.StatusConflict, enrolResponse{Outcome: "conflict",
				Message: "You have TOTP set up already. To add or replace an authenticator, sign in and use Personal settings → Security."})
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "enrol", "err", err)
			encodeJSON(w, http.StatusInternalServerError, apiError{"internal error"})
			return
		case res.Outcome != mfa.OK:
			encodeJSON(w, failedAttempt(w, res, &resp), resp)
			return
		}
		encodeJSON(w, http.StatusOK, enrolResponse{Outcome: "ok", ID: e.ID, URI: e.URI.Encode(), Key: groups(e.URI.Key.Secret.Base32()),
			ExpiresIn: int(s.svc.Options().EnrollmentTTL.Seconds()),
			Message:   "Scan the QR code or type the key into your authenticator app, then confirm with a code."})
	})
}

// handleAPIEnrolConfirm confirms a setup started by handleAPIEnrol with a
// code from the new authenticator: 200 with the recovery codes (shown
// once), 401 for a wrong code, 404 when the setup expired, 429 throttled.
func (s *server) handleAPIEnrolConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeJSON[enrolConfirmRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		name := mfa.NormalizeName(req.Username)
		if name == "" || len(name) > mfa.MaxNameLength || req.ID == "" || len(req.ID) > 64 || len(req.Code) > 32 {
			encodeJSON(w, http.StatusBadRequest, apiError{"username, id and code are required, within their lengths"})
			return
		}
		hadFile := s.svc.HasFile(r.Context(), name)
		res, conf, err := s.svc.ConfirmEnrolment(r.Context(), name, req.ID, req.Code, s.clientAddr(r))
		logAttempt(w, name, res)
		var resp enrolResponse
		switch {
		case errors.Is(err, mfa.ErrNotFound):
			setReason(w, "enrol: setup expired or unknown")
			encodeJSON(w, http.StatusNotFound, enrolResponse{Outcome: "expired",
				Message: "This setup has expired or was confirmed already. Start again."})
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "enrol confirm", "err", err)
			encodeJSON(w, http.StatusInternalServerError, apiError{"internal error"})
			return
		case res.Outcome != mfa.OK:
			encodeJSON(w, failedAttempt(w, res, &resp), resp)
			return
		}
		// Sessions signed in with the password alone now need the factor.
		s.cache.forgetUser(res.User.ID)
		resp = enrolResponse{Outcome: "ok", DriftSteps: conf.Drift, Clock: clockText(conf.Drift), RecoveryCodes: conf.RecoveryCodes,
			HadFile: hadFile, Message: "Your authenticator app is set up. From now on, signing in asks for its code."}
		if hadFile {
			resp.Message += " otpgate no longer reads your google-authenticator file; you may remove it unless other services (SSH with the PAM module, say) still use it."
		}
		encodeJSON(w, http.StatusOK, resp)
	})
}
