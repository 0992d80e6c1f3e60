package web

import (
	"errors"
	"net/http"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// failure is how a core error is answered, on pages and in the JSON API
// alike: the one mapping from mfa's error kinds to statuses.
type failure struct {
	status int
	// msg is what the client is told; internal text never is.
	msg string
	// retry is the Retry-After in seconds, if any.
	retry string
	// reason is what the access line says.
	reason string
}

// Answers while the store cannot be reached, and while the hash queue is
// full; each with its Retry-After in seconds.
const (
	msgUnavailable   = "Login service unavailable, try again in a moment."
	retryUnavailable = "5"
	msgBusy          = "Too many sign-ins at once, try again in a moment."
	retryBusy        = "1"
)

// failureOf maps err to its answer: 503 for a store that is unavailable
// or a full hash queue (nothing was decided, try again), 400 for invalid
// input (whose text never holds a secret), 404 and 409 for the kinds of
// those names, 500 for the rest.
func failureOf(err error) failure {
	switch {
	case errors.Is(err, mfa.ErrUnavailable):
		return failure{http.StatusServiceUnavailable, msgUnavailable, retryUnavailable, "store unavailable"}
	case errors.Is(err, mfa.ErrBusy):
		return failure{http.StatusServiceUnavailable, msgBusy, retryBusy, "hash queue full"}
	case errors.Is(err, mfa.ErrInvalid):
		return failure{http.StatusBadRequest, invalidText(err), "", "invalid input"}
	case errors.Is(err, mfa.ErrNotFound):
		return failure{http.StatusNotFound, "Not found.", "", "not found"}
	case errors.Is(err, mfa.ErrConflict):
		return failure{http.StatusConflict, "That conflicts with what is stored already.", "", "conflict"}
	}
	return failure{http.StatusInternalServerError, "Internal server error. Try again later.", "", "internal error"}
}

// logFailure logs err under what and returns its answer, with the access
// line's reason and the Retry-After set.
func (s *server) logFailure(w http.ResponseWriter, r *http.Request, what string, err error) failure {
	f := failureOf(err)
	if f.status >= 500 {
		s.log.ErrorContext(r.Context(), what, "path", r.URL.Path, "err", err)
	}
	setReason(r, f.reason)
	if f.retry != "" {
		w.Header().Set("Retry-After", f.retry)
	}
	return f
}

// serverError answers a page's request that failed with err (see
// failureOf), with a page that never shows the error's text.
func (s *server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	f := s.logFailure(w, r, "page", err)
	if f.status == http.StatusInternalServerError {
		http.Error(w, f.msg, f.status)
		return
	}
	s.showMessage(w, r, f.status, http.StatusText(f.status), f.msg, r.URL.Path)
}

// apiError answers a JSON API request that failed with err (see
// failureOf) with {"error": message}.
func (s *server) apiError(w http.ResponseWriter, r *http.Request, what string, err error) {
	f := s.logFailure(w, r, what, err)
	encodeJSON(w, f.status, api.Error{Error: f.msg})
}
