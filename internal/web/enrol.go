package web

import (
	"errors"
	"net/http"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// badAPIRequest answers a body decodeJSON refused (form posts included:
// only application/json is taken, so a browser cannot post here across
// sites).
func badAPIRequest(w http.ResponseWriter, r *http.Request, err error) {
	var de errDecode
	errors.As(err, &de)
	setReason(r, "bad request")
	encodeJSON(w, de.status, api.Error{Error: de.msg})
}

// failedAttempt fills resp for the failures the enrol endpoints share with
// a sign-in and returns the status.
func failedAttempt(w http.ResponseWriter, res mfa.Result, resp *api.EnrolResponse) int {
	resp.Outcome = res.Outcome.String()
	switch res.Outcome {
	case mfa.Throttled:
		resp.RetryAfter = retryAfter(w, res.RetryAfter)
		resp.Message = throttledMessage(res)
		return http.StatusTooManyRequests
	case mfa.CodeRequired:
		resp.Message = "Your second factor is your google-authenticator file: enter a current code from it."
	case mfa.BadCode:
		resp.Message = codeMessage(res)
	case mfa.Expired:
		resp.Message = "This setup has expired or was confirmed already. Start again."
		return http.StatusNotFound
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
		req, err := decodeJSON[api.EnrolRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		if msg := checkLengths(req.Username, req.Password, req.OTP); msg != "" {
			encodeJSON(w, http.StatusBadRequest, api.Error{Error: msg})
			return
		}
		res, e, err := s.svc.EnrolWithPassword(r.Context(), mfa.LoginAttempt{Name: req.Username, Password: req.Password, Code: req.OTP, Addr: s.clientAddr(r)})
		logAttempt(r, res)
		var resp api.EnrolResponse
		switch {
		case errors.Is(err, mfa.ErrHasTOTP):
			setReason(r, "enrol: TOTP set up already")
			encodeJSON(w, http.StatusConflict, api.EnrolResponse{Outcome: "conflict",
				Message: "You have TOTP set up already. To add or replace an authenticator, sign in and use Personal settings → Security."})
			return
		case err != nil:
			s.apiError(w, r, "enrol", err)
			return
		case res.Outcome != mfa.OK:
			encodeJSON(w, failedAttempt(w, res, &resp), resp)
			return
		}
		encodeJSON(w, http.StatusOK, api.EnrolResponse{Outcome: "ok", ID: e.ID, URI: e.URI.Encode(), Key: groups(e.URI.Key.Secret.Base32()),
			ExpiresIn: int(s.svc.Options().EnrolmentTTL.Seconds()),
			Message:   "Scan the QR code or type the key into your authenticator app, then confirm with a code."})
	})
}

// handleAPIEnrolConfirm confirms a setup started by handleAPIEnrol with a
// code from the new authenticator: 200 with the recovery codes (shown
// once), 401 for a wrong code, 404 when the setup (or its user) is unknown
// or expired, 429 throttled.
func (s *server) handleAPIEnrolConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeJSON[api.EnrolConfirmRequest](w, r, maxAPIBody)
		if err != nil {
			badAPIRequest(w, r, err)
			return
		}
		if req.ID == "" || len(req.ID) > fieldLimits["id"] || len(req.Code) > fieldLimits["otp"] || len(req.Username) > fieldLimits["username"] {
			encodeJSON(w, http.StatusBadRequest, api.Error{Error: "username, id and code are required, within their lengths"})
			return
		}
		hadFile := s.svc.HasFile(r.Context(), mfa.NormalizeName(req.Username))
		res, conf, err := s.svc.ConfirmEnrolmentByName(r.Context(), mfa.EnrolConfirm{Name: req.Username, ID: req.ID, Code: req.Code, Addr: s.clientAddr(r)})
		logAttempt(r, res)
		var resp api.EnrolResponse
		switch {
		case err != nil:
			s.apiError(w, r, "enrol confirm", err)
			return
		case res.Outcome != mfa.OK:
			encodeJSON(w, failedAttempt(w, res, &resp), resp)
			return
		}
		// Sessions signed in with the password alone now need the factor.
		s.cache.forgetUser(res.User.ID)
		resp = api.EnrolResponse{Outcome: "ok", DriftSteps: conf.Drift, Clock: clockText(conf.Drift), RecoveryCodes: conf.RecoveryCodes,
			HadFile: hadFile, Message: "Your authenticator app is set up. From now on, signing in asks for its code."}
		if hadFile {
			resp.Message += " otpgate no longer reads your google-authenticator file; you may remove it unless other services (SSH with the PAM module, say) still use it."
		}
		encodeJSON(w, http.StatusOK, resp)
	})
}
