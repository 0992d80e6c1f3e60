// Package web is otpgate's HTTP side: the pages people use (sign-in with a
// second step or one form, Personal settings → Security → TOTP setup,
// recovery codes, first administrator setup) and the machine endpoints
// (/healthz and the JSON API: POST /api/v1/verify, POST /api/v1/enrol
// and /api/v1/enrol/confirm for the terminal command "otpgate enrol", and
// POST /api/v1/pam/authenticate and /api/v1/pam/account for registered
// hosts' PAM module, with a host token). With Options.OIDC it also serves
// the OpenID provider's endpoints (discovery and /oidc/...) and the pages
// of its sign-in and sign-out (oidc.go). Every route is in routes.go.
//
// Pages are server-rendered from embedded html/template sets and work
// without JavaScript; they are served with a strict Content-Security-Policy,
// no framing, Cache-Control: no-store, and behind http.CrossOriginProtection.
// The machine endpoints answer JSON and take no form posts.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"golang.org/x/sync/singleflight"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the web server.
type Options struct {
	// BaseURL is the public URL of the server, e.g. https://mfa.example.org;
	// an https URL makes session cookies Secure. Empty means plain HTTP.
	BaseURL string
	// CookieDomain, e.g. example.org, sets the session cookie for that
	// domain and every host under it, so that one sign-in serves every app
	// behind forward-auth; redirects after sign-in may go to those hosts.
	// Empty means a host-only cookie. The base URL's host must be the
	// domain or under it.
	CookieDomain string
	// TrustedProxies are the peers whose X-Forwarded-*, X-Real-IP and
	// X-Original-URL headers are read; from any other peer they are
	// ignored. None by default.
	TrustedProxies []netip.Prefix
	// Rules decide forward-auth; nil means DefaultRules.
	Rules *access.Rules
	// SessionCacheTTL is how long forward-auth trusts a positive session
	// check without asking the store (see sessionCache); zero disables
	// the cache.
	SessionCacheTTL time.Duration
	// Now tells the time for the session cache; nil means time.Now.
	Now func() time.Time
	// SiteName is the site's name in every page's header and title
	// ("CISM Nextcloud"); empty means the service's issuer.
	SiteName string
	// OIDC, if not nil, is the OpenID provider: its endpoints are served
	// (discovery and /oidc/...), and the pages of its sign-in and sign-out
	// (see oidc.go).
	OIDC *oidc.Provider
}

// DefaultRules is the rule forward-auth applies without a rules file:
// every fully signed-in user with a second factor passes.
const DefaultRules = "host * users * second-factor required"

// server holds what the handlers share.
type server struct {
	log    *slog.Logger
	svc    *mfa.Service
	opts   Options
	secure bool
	pages  map[string]*template.Template
	// baseURL is the public URL without a final '/', baseHost its host
	// name in lower case, without port; both empty when unknown.
	baseURL, baseHost string
	rules             *access.Rules
	cache             *sessionCache
	lookups           singleflight.Group
	now               func() time.Time
	// csp is the pages' Content-Security-Policy.
	csp string
}

// pageNames are the page templates; each is parsed with the layout into a
// set of its own.
var pageNames = []string{"login", "login_totp", "login_recovery", "settings", "security", "totp_setup", "totp_done", "setup", "message", "logout", "setup_due",
	"admin_users", "admin_user", "admin_audit", "admin_enforcement", "continue", "oidc_logout"}

// NewServer returns the handler of every route. It fails when a template
// does not parse or the base URL is not an absolute http(s) URL.
func NewServer(log *slog.Logger, svc *mfa.Service, opts Options) (http.Handler, error) {
	s := &server{log: log, svc: svc, opts: opts, pages: map[string]*template.Template{}, rules: opts.Rules,
		cache: newSessionCache(opts.SessionCacheTTL), now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rules == nil {
		rs, err := access.Parse("default rules", strings.NewReader(DefaultRules))
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.rules = rs
	}
	d := opts.CookieDomain
	if d != "" && !access.ValidHostName(d) {
		return nil, fmt.Errorf("web: cookie domain %q is not a lower-case DNS name", d)
	}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: base URL %q is not an absolute http or https URL", opts.BaseURL)
		}
		s.secure = u.Scheme == "https"
		s.baseURL, s.baseHost = strings.TrimSuffix(opts.BaseURL, "/"), strings.ToLower(u.Hostname())
		if d != "" && s.baseHost != d && !strings.HasSuffix(s.baseHost, "."+d) {
			return nil, fmt.Errorf("web: base URL host %q is not under the cookie domain %q: browsers would refuse the cookie", s.baseHost, d)
		}
	}
	s.csp = pageCSP(d)
	site := opts.SiteName
	if site == "" {
		site = svc.Options().Issuer
	}
	for _, name := range pageNames {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		if strings.HasPrefix(name, "admin_") {
			files = append(files, "templates/admin_common.html")
		}
		t, err := template.New(name).Funcs(template.FuncMap{"site": func() string { return site }}).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s.routes(), nil
}

// static serves the embedded stylesheet.
func static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}

// page is what every page template receives besides its own fields.
type page struct {
	Title string
	// User is the signed-in user, nil on public pages.
	User *mfa.User
}

// render executes the page's template into a buffer, so that a failing
// template gives a clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messagePage is the data of message.html.
type messagePage struct {
	page
	Message string
	Next    string
}

// showMessage renders a page with one message and a link onwards.
func (s *server) showMessage(w http.ResponseWriter, r *http.Request, status int, title, msg, next string) {
	s.render(w, r, status, "message", messagePage{page: page{Title: title}, Message: msg, Next: next})
}

// safeNext returns target when it is a path on this site, and fallback
// otherwise: no scheme, no host, no "//" or "/\" that browsers read as
// another host, no control characters.
func safeNext(target, fallback string) string {
	if target == "" || len(target) > 2048 || target[0] != '/' {
		return fallback
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return fallback
	}
	for _, c := range []byte(target) {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return fallback
	}
	return target
}
