// Package api holds the wire types of otpgate's JSON API (/api/v1/...),
// defined once for the server (internal/web) and its clients (the
// "otpgate enrol" command, the PAM module's).
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

// PAMRequest is the body of POST /api/v1/pam/authenticate, which a
// registered host's PAM module (pam_otpgate) sends with the host's token in
// "Authorization: Bearer <token>". User is the PAM user; Code the user's
// answer to the code prompt (empty for none); Service, RHost and TTY are
// PAM_SERVICE, PAM_RHOST (the client's address, whose counter wrong
// passwords count on) and PAM_TTY, for the log.
type PAMRequest struct {
	User    string `json:"user"`
	Code    string `json:"code"`
	Service string `json:"service"`
	RHost   string `json:"rhost"`
	TTY     string `json:"tty"`
	// Password, when present (even empty, which is wrong), asks the server
	// to check the password too, with the site's first factors; only a
	// host registered with --allow-password may send it. Absent or null
	// means the host's PAM stack checked the password already.
	Password *string `json:"password,omitempty"`
}

// PAMAccountRequest is the body of POST /api/v1/pam/account: may the user
// log in (an account that exists and is not disabled)?
type PAMAccountRequest struct {
	User    string `json:"user"`
	Service string `json:"service"`
	RHost   string `json:"rhost"`
	TTY     string `json:"tty"`
}

// PAMResponse answers both PAM endpoints. Result is one of "ok" (200),
// "no_second_factor" (200: the user has no second factor here, or is
// unknown, and the site does not require one; with a password checked
// here, the password was right), "code_required", "code_wrong" and
// "denied" (401; for the account check, "denied" comes with 200), and
// "throttled" (429, with RetryAfter in seconds, also in Retry-After).
// Message says it in words, for the user or the log. A refused request
// (a missing or unknown host token: 401; a malformed body: 4xx; the store
// or a first factor down: 503 with Retry-After) gets an Error instead.
type PAMResponse struct {
	Result     string `json:"result"`
	Message    string `json:"message,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}
