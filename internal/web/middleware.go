package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otpgate/otpgate/internal/mfa"
)

// reqInfo is what handlers tell the access log about a request.
type reqInfo struct {
	user   string
	reason string
	// peer and trusted are found out once per request (see server.peer).
	peer    netip.Addr
	trusted bool
	// host is the registered PAM host that asked, service the PAM service
	// and rhost the address of the host's client (PAM_RHOST), logged as
	// client_addr.
	host, service, rhost string
	// granted: a forward-auth check let the request through. Its line
	// goes at debug level: the proxy logs the request itself, and a page
	// of a protected app asks once for each of its resources.
	granted bool
}

// infoKey is the context key of a request's *reqInfo.
type infoKey struct{}

// info returns what the access log keeps of r, or nil when r did not come
// through the access log.
func info(r *http.Request) *reqInfo {
	ri, _ := r.Context().Value(infoKey{}).(*reqInfo)
	return ri
}

// setUser and setReason record, for the access line, who the request was
// for and why a sign-in failed. They never take a secret.
func setUser(r *http.Request, name string) {
	if ri := info(r); ri != nil {
		ri.user = name
	}
}

func setReason(r *http.Request, reason string) {
	if ri := info(r); ri != nil {
		ri.reason = reason
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	size   int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

// logged is what the access log keeps of a request: its status, size and
// what handlers tell about it (through the request's context, see info),
// in one allocation.
type logged struct {
	statusWriter
	reqInfo
}

// setHost records the registered host a PAM request came from, and setPAM
// its service and client address (PAM_RHOST), for the access line.
func setHost(r *http.Request, name string) {
	if ri := info(r); ri != nil {
		ri.host = name
	}
}

func setPAM(r *http.Request, service, rhost string) {
	if ri := info(r); ri != nil {
		ri.service, ri.rhost = service, rhost
	}
}

// accessLog writes one line per request, at info level but for granted
// forward-auth checks (see reqInfo.granted). The path is logged without its
// query, which may hold a setup token. The record goes straight to the
// handler, without the caller's program counter, which slog would
// otherwise look up on every request; the client's address is added when
// it differs from the peer's (a trusted proxy's), or for a PAM request is
// the one its host names (PAM_RHOST), with the host and the PAM service.
func (s *server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &logged{statusWriter: statusWriter{ResponseWriter: w}}
		l.peer, l.trusted = s.peer(r)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, &l.reqInfo))
		h.ServeHTTP(l, r)
		ctx := r.Context()
		level := slog.LevelInfo
		if l.granted {
			level = slog.LevelDebug
		}
		if !s.log.Enabled(ctx, level) {
			return
		}
		rec := slog.NewRecord(start, level, "request", 0)
		rec.AddAttrs(slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", l.status),
			slog.Int("bytes", l.size), slog.Duration("duration", time.Since(start)), slog.String("remote_addr", r.RemoteAddr))
		if l.host != "" {
			rec.AddAttrs(slog.String("host", l.host))
		}
		if l.service != "" {
			rec.AddAttrs(slog.String("service", l.service))
		}
		if l.rhost != "" {
			rec.AddAttrs(slog.String("client_addr", l.rhost))
		} else if l.trusted {
			if ip, ok := s.clientIPFrom(r, l.peer, true); ok && ip != l.peer {
				rec.AddAttrs(slog.String("client_addr", ip.String()))
			}
		}
		if l.user != "" {
			rec.AddAttrs(slog.String("user", l.user))
		}
		if l.reason != "" {
			rec.AddAttrs(slog.String("reason", l.reason))
		}
		s.log.Handler().Handle(ctx, rec)
	})
}

// pageCSP allows our stylesheet and nothing else: no script, no frame,
// forms posting only to us. With a cookie domain, a form may also lead
// (through the redirect after sign-in or sign-out, which browsers check
// against form-action) to the domain and the hosts under it.
func pageCSP(cookieDomain string) string {
	formAction := "'self'"
	if cookieDomain != "" {
		for _, scheme := range []string{"https", "http"} {
			formAction += " " + scheme + "://" + cookieDomain + ":* " + scheme + "://*." + cookieDomain + ":*"
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action " + formAction +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// pageHeaders sets the security headers of every page.
func pageHeaders(csp string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// cookieName holds the session token.
const cookieName = "otpgate_session"

// setSessionCookie sets the token for this host or, with a cookie domain,
// for the domain and every host under it.
func (s *server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", Domain: s.opts.CookieDomain,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookie removes the cookie; with a cookie domain, also a
// host-only one left from before the domain was set.
func (s *server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", Domain: s.opts.CookieDomain, MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if s.opts.CookieDomain != "" {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
}

// current is the session of a request, when it has a live one.
type current struct {
	token   string
	session mfa.Session
	user    mfa.User
}

// session returns the request's live session, or ok false.
func (s *server) session(w http.ResponseWriter, r *http.Request) (current, bool, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return current{}, false, nil
	}
	sess, u, err := s.svc.Session(r.Context(), c.Value)
	if errors.Is(err, mfa.ErrNotFound) {
		return current{}, false, nil
	}
	if err != nil {
		return current{}, false, err
	}
	setUser(r, u.Name)
	return current{token: c.Value, session: sess, user: u}, true, nil
}

type currentKey struct{}

func currentFrom(r *http.Request) current {
	c, _ := r.Context().Value(currentKey{}).(current)
	return c
}

// requireFull lets only fully signed-in users through; others go to the
// login page and come back after.
func (s *server) requireFull(h http.Handler) http.Handler {
	return s.requireLevel(h, false)
}

// requireSetup also lets through a user who passed the password and must
// set up TOTP because the operator requires it.
func (s *server) requireSetup(h http.Handler) http.Handler {
	return s.requireLevel(h, true)
}

func (s *server) requireLevel(h http.Handler, setup bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok, err := s.session(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if ok && c.session.Level == mfa.LevelPassword && setup {
			if ok, err = s.svc.MaySetUp(r.Context(), c.user); err != nil {
				s.serverError(w, r, err)
				return
			}
		} else if ok {
			ok = c.session.Level.Full()
		}
		if !ok {
			next := "/"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), currentKey{}, c)))
	})
}

// maxFormBytes bounds a page's form body.
const maxFormBytes = 16 << 10

// errBadForm is a form that cannot be a real one: wrong content type, too
// large, malformed, not UTF-8 or a field too long.
type errBadForm struct {
	status int
	msg    string
}

func (e errBadForm) Error() string { return e.msg }

// parseForm reads a urlencoded POST body and checks that every field is
// valid UTF-8 within its limit (maxLen by name, 1024 bytes by default).
func parseForm(w http.ResponseWriter, r *http.Request, maxLen map[string]int) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
		return errBadForm{http.StatusUnsupportedMediaType, "The form was sent in a format this page does not take."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBadForm{http.StatusRequestEntityTooLarge, "The form is too large."}
		}
		return errBadForm{http.StatusBadRequest, "The form could not be read."}
	}
	for k, vs := range r.PostForm {
		limit := 1024
		if n, ok := maxLen[k]; ok {
			limit = n
		}
		if len(vs) > 1 {
			return errBadForm{http.StatusBadRequest, fmt.Sprintf("The field %q was sent more than once.", k)}
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errBadForm{http.StatusBadRequest, "The form holds text that is not valid UTF-8."}
			}
			if len(v) > limit {
				return errBadForm{http.StatusBadRequest, fmt.Sprintf("The field %q is too long.", k)}
			}
		}
	}
	return nil
}

// badForm answers a form parseForm refused, never echoing what was typed.
func (s *server) badForm(w http.ResponseWriter, r *http.Request, err error) {
	var bf errBadForm
	if !errors.As(err, &bf) {
		s.serverError(w, r, err)
		return
	}
	setReason(r, "bad form")
	s.showMessage(w, r, bf.status, "Bad request", bf.msg, "/")
}

// fieldLimits are the longest values of the fields pages take.
// fieldLimits bounds, in bytes, every field of a form or a JSON API body by
// its name: the one table of request limits.
var fieldLimits = map[string]int{
	"username": mfa.MaxNameLength, "password": mfa.MaxPasswordLength, "current": mfa.MaxPasswordLength,
	"new": mfa.MaxPasswordLength, "confirm": mfa.MaxPasswordLength, "otp": 32, "code": 32,
	"next": maxRedirect, "rd": maxRedirect, "token": 128, "id": 64, "tried": 3,
	// The PAM endpoints': the user as a name (a longer one has no account
	// here), PAM_SERVICE, PAM_RHOST (a host name at most 255 bytes), PAM_TTY.
	"user": mfa.MaxNameLength, "service": 64, "rhost": 255, "tty": 64,
	"display_name": mfa.MaxDisplayNameLength, "mail": mfa.MaxMailLength, "groups": 4096, "admin": 1,
	"name": 4 * mfa.MaxAuthenticatorNameLength, "trust": 2,
	// An OpenID sign-out's sealed ticket (oidc.Provider.Logout).
	"ticket": 1024,
}

// retryText says how long to wait in words.
func retryText(d time.Duration) string {
	secs := int(d.Round(time.Second) / time.Second)
	secs = max(secs, 1)
	if secs < 120 {
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// retryAfter sets the Retry-After header in whole seconds, rounded up.
func retryAfter(w http.ResponseWriter, d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	return secs
}
