package mfa

import "errors"

// Error kinds returned by stores and by Service. Callers test them with
// errors.Is; the web package maps them to HTTP statuses in one place.
var (
	// ErrNotFound means the user, authenticator, session, code or token
	// does not exist (or has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change contradicts stored state: a user name
	// already taken, an enrolment already confirmed, a store not empty.
	ErrConflict = errors.New("conflict")
	// ErrReplay means a TOTP step at or before the last one accepted for
	// that authenticator: the code was already used.
	ErrReplay = errors.New("code already used")
	// ErrInvalid means input that fails validation (a user name too long,
	// a password too short); the wrapping message says why and never
	// contains a secret.
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable means the store cannot be reached or went away in the
	// middle of a call (a database server down, a network cut): nothing was
	// decided, the caller refuses what it was asked (fails closed) and may
	// try again later. Stores recover by themselves when it returns.
	ErrUnavailable = errors.New("database unavailable")
	// ErrBusy means that as many password checks wait as the Hasher's
	// queue holds: nothing was decided, and the caller answers at once
	// that the server is busy (HTTP 503) instead of queueing without bound.
	ErrBusy = errors.New("too many password checks waiting")
)
