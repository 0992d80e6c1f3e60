package web

import (
	"net/http"

	"github.com/otpgate/otpgate/internal/mfa"
)

// withClient gives the requests h serves the mfa.Client of the audit log:
// the client's whole address (through trusted proxies) and the path.
func (s *server) withClient(path mfa.Path, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(mfa.WithClient(r.Context(), mfa.Client{Addr: s.clientHost(r), Path: path})))
	})
}

// clientHost is the client's address as the audit log keeps it: the
// whole IP address, without port.
func (s *server) clientHost(r *http.Request) string {
	if ip, ok := s.clientIP(r); ok {
		return ip.String()
	}
	return r.RemoteAddr
}

// denied refuses a forward-auth check of a signed-in user with 403, and
// records it in the audit log; the checks that pass are not recorded
// (the proxy logs every request).
func (s *server) denied(w http.ResponseWriter, r *http.Request, user, reason string) {
	s.svc.Audit(r.Context(), mfa.AuditEntry{User: user, Addr: s.clientHost(r), Path: mfa.PathForwardAuth,
		Action: mfa.ActionAccess, Result: "denied", Reason: reason})
	s.refuse(w, r, http.StatusForbidden, reason)
}
