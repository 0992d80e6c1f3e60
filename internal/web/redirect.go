package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/otpgate/otpgate/internal/access"
)

// maxRedirect bounds a redirect target.
const maxRedirect = 2048

// safeRedirect returns target when the browser may be sent there after
// sign-in or sign-out, and fallback otherwise: a path on this site (see
// safeNext), or an absolute http or https URL whose host is the base URL's
// or, with a cookie domain, that domain or a host under it; only https
// under an https base URL. Refused: other hosts, user info ("https://good@evil"), other schemes, backslashes,
// control characters, spaces, non-ASCII and percent-escapes in the host
// (IDN and homograph tricks), and anything over maxRedirect bytes.
func (s *server) safeRedirect(target, fallback string) string {
	if target == "" || len(target) > maxRedirect {
		return fallback
	}
	if target[0] == '/' {
		return safeNext(target, fallback)
	}
	if !printableASCII(target) || strings.ContainsRune(target, '\\') {
		return fallback
	}
	lower := strings.ToLower(target)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return fallback
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fallback
	}
	// Under an https base URL, never down to http: the page would travel
	// in the clear, open to whoever can rewrite it.
	if u.Scheme == "http" && strings.HasPrefix(s.baseURL, "https://") {
		return fallback
	}
	// The authority as written, before any unescaping: only a plain
	// lower-case-able host and port.
	auth := target[len(u.Scheme)+3:]
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		auth = auth[:i]
	}
	if auth == "" || strings.ContainsAny(auth, "%@") || !validHostPort(auth) {
		return fallback
	}
	if u.Path != "" && u.Path[0] != '/' {
		return fallback
	}
	if !s.allowedHost(u.Hostname()) {
		return fallback
	}
	return target
}

// checkRedirect is safeRedirect with a log line for a refused target,
// which names the target without its query (it may hold an app's token).
func (s *server) checkRedirect(r *http.Request, target, fallback string) string {
	got := s.safeRedirect(target, fallback)
	if target != "" && got != target {
		shown, _, _ := strings.Cut(target, "?")
		s.log.WarnContext(r.Context(), "redirect target refused", "path", r.URL.Path, "target", trunc(shown))
	}
	return got
}

// allowedHost reports whether a redirect may go to host (no port, any case).
func (s *server) allowedHost(host string) bool {
	host = strings.ToLower(host)
	if host != "" && host == s.baseHost {
		return true
	}
	d := s.opts.CookieDomain
	if d == "" || !access.ValidHostName(host) {
		return false
	}
	return host == d || strings.HasSuffix(host, "."+d)
}
