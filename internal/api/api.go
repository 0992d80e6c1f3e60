// Package api holds the wire types of otpgate's JSON API (/api/v1/...),
// defined once for the server (internal/web) and its clients (the
// "otpgate enrol" command).
package api

// Error is the body of a refused request.
type Error struct {
	Error string `json:"error"`
}

// VerifyRequest is the body of POST /api/v1/verify.
type VerifyRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// OTP is optional: a TOTP code or a recovery code.
	OTP string `json:"otp"`
}

// VerifyResponse answers it. Outcome is one of "ok", "credentials_wrong",
// "code_required", "code_wrong" (wrong or already used), "setup_required"
// (the site requires a second factor the user has not set up) and
// "throttled", with RetryAfter in seconds. CodeFailures, on "ok", counts
// the wrong codes given after the user's password since the previous
// successful sign-in: the service tells its user.
type VerifyResponse struct {
	Outcome      string `json:"outcome"`
	Message      string `json:"message"`
	User         string `json:"user,omitempty"`
	RetryAfter   int    `json:"retry_after,omitempty"`
	CodeFailures int    `json:"code_failures,omitempty"`
}

// EnrolRequest is the body of POST /api/v1/enrol.
type EnrolRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// OTP is a current code from the user's file, required when the
	// user's second factor is a google-authenticator file.
	OTP string `json:"otp,omitempty"`
}

// EnrolConfirmRequest is the body of POST /api/v1/enrol/confirm.
type EnrolConfirmRequest struct {
	Username string `json:"username"`
	ID       string `json:"id"`
	Code     string `json:"code"`
}

// EnrolResponse answers both enrol endpoints. Outcome is "ok",
// "credentials_wrong", "code_required", "code_wrong", "throttled",
// "conflict" (TOTP set up already) or "expired" (the setup, or its user,
// is unknown or expired: the three are one answer).
type EnrolResponse struct {
	Outcome    string `json:"outcome"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
	// Error is set instead of the rest for a refused request (see Error).
	Error string `json:"error,omitempty"`

	// ID, URI, Key and ExpiresIn are set by a successful start: the
	// setup to confirm, its key URI and key, and its seconds to live.
	ID        string `json:"id,omitempty"`
	URI       string `json:"uri,omitempty"`
	Key       string `json:"key,omitempty"`
	ExpiresIn int    `json:"expires_in,omitempty"`

	// DriftSteps, Clock, RecoveryCodes and HadFile are set by a successful
	// confirmation: the phone's clock drift in steps and in words, the new
	// recovery codes, and whether the user's file was the factor before.
	DriftSteps    int      `json:"drift_steps,omitempty"`
	Clock         string   `json:"clock,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	HadFile       bool     `json:"had_file,omitempty"`
}
