package web

import (
	"net/http"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
)

// routes wires every route. Pages sit on their own mux behind
// CrossOriginProtection and the page headers; the machine endpoints answer
// JSON or bare statuses.
func (s *server) routes() http.Handler {
	pages := http.NewServeMux()
	pages.Handle("GET /{$}", s.handleHome())
	pages.Handle("GET /login", s.handleLoginForm())
	pages.Handle("POST /login", s.handleLoginSubmit())
	pages.Handle("GET /login/totp", s.handleSecondStepForm())
	pages.Handle("POST /login/totp", s.handleSecondStepSubmit())
	pages.Handle("GET /login/recovery", s.handleRecoveryForm())
	pages.Handle("POST /login/recovery", s.handleRecoverySubmit())
	pages.Handle("GET /logout", s.handleLogoutForm())
	pages.Handle("POST /logout", s.handleLogout())
	pages.Handle("POST /logout/all", s.requireFull(s.handleLogoutAll()))
	pages.Handle("GET /setup", s.handleSetupForm())
	pages.Handle("POST /setup", s.handleSetupSubmit())
	pages.Handle("GET /settings", s.requireFull(s.handleSettings()))
	pages.Handle("GET /settings/security", s.requireSetup(s.handleSecurity()))
	pages.Handle("POST /settings/security/totp", s.requireSetup(s.handleTOTPBegin()))
	pages.Handle("POST /settings/security/totp/confirm", s.requireSetup(s.handleTOTPConfirm()))
	pages.Handle("POST /settings/security/totp/cancel", s.requireSetup(s.handleTOTPCancel()))
	pages.Handle("POST /settings/security/totp/disable", s.requireFull(s.handleTOTPDisable()))
	pages.Handle("POST /settings/security/authenticator/rename", s.requireFull(s.handleAuthenticatorRename()))
	pages.Handle("POST /settings/security/authenticator/remove", s.requireFull(s.handleAuthenticatorRemove()))
	pages.Handle("POST /settings/security/recovery", s.requireFull(s.handleRecoveryRegenerate()))
	pages.Handle("POST /settings/security/recovery/download", s.requireFull(s.handleRecoveryDownload()))
	pages.Handle("POST /settings/security/browsers/forget", s.requireFull(s.handleTrustForget()))
	pages.Handle("POST /settings/security/browsers/forget-all", s.requireFull(s.handleTrustForgetAll()))
	pages.Handle("POST /settings/security/password", s.requireFull(s.handlePasswordChange()))
	pages.Handle("GET /admin", s.requireAdmin(s.handleAdminUsers()))
	pages.Handle("GET /admin/audit", s.requireAdmin(s.handleAdminAudit()))
	pages.Handle("GET /admin/users/{name}", s.requireAdmin(s.handleAdminUser()))
	pages.Handle("POST /admin/users", s.requireAdmin(s.handleAdminAdd()))
	for path, action := range map[string]string{"disable": "disable", "enable": "enable", "reset-totp": "reset-totp",
		"password": "password", "delete": "delete", "sessions/end": "session", "sessions/end-all": "sessions", "profile": "profile"} {
		pages.Handle("POST /admin/users/{name}/"+path, s.requireAdmin(s.handleAdminAction(action)))
	}
	if s.opts.OIDC != nil {
		pages.Handle("GET "+oidc.LoginPath, s.withClient(mfa.PathOIDC, s.handleOIDCLogin()))
		pages.Handle("GET "+oidc.LogoutPath, s.withClient(mfa.PathOIDC, s.handleOIDCLogoutForm()))
		pages.Handle("POST "+oidc.LogoutPath, s.withClient(mfa.PathOIDC, s.handleOIDCLogout()))
	}
	pages.Handle("GET /admin/enforcement", s.requireAdmin(s.handleAdminEnforcement()))
	pages.Handle("POST /admin/enforcement", s.requireAdmin(s.handleAdminRule("add")))
	pages.Handle("POST /admin/enforcement/{id}", s.requireAdmin(s.handleAdminRule("change")))
	pages.Handle("POST /admin/enforcement/{id}/remove", s.requireAdmin(s.handleAdminRule("remove")))
	pages.Handle("GET /static/", static())
	pages.Handle("/", s.handleNotFound())

	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.handleHealth())
	mux.Handle("POST /api/v1/verify", s.withClient(mfa.PathAPI, s.handleAPIVerify()))
	mux.Handle("POST /api/v1/enrol", s.withClient(mfa.PathAPI, s.handleAPIEnrol()))
	mux.Handle("POST /api/v1/enrol/confirm", s.withClient(mfa.PathAPI, s.handleAPIEnrolConfirm()))
	// Registered hosts' PAM module, with a host token (Bearer); no other
	// route reads that header.
	mux.Handle("POST /api/v1/pam/authenticate", s.withClient(mfa.PathPAM, s.handlePAMAuthenticate()))
	mux.Handle("POST /api/v1/pam/account", s.withClient(mfa.PathPAM, s.handlePAMAccount()))
	mux.Handle("/api/", handleAPINotFound())
	// Any method: nginx's auth_request asks with the original request's.
	authNginx, authRedirect := s.handleForwardAuth(false), s.handleForwardAuth(true)
	pageChain := pageHeaders(s.csp, http.NewCrossOriginProtection().Handler(s.withClient(mfa.PathPage, pages)))
	mux.Handle("/", pageChain)
	if s.opts.OIDC != nil {
		// The provider's endpoints are machine endpoints (JSON, redirects
		// to applications); its two pages are pages.
		provider := s.withClient(mfa.PathOIDC, s.opts.OIDC)
		mux.Handle("/.well-known/openid-configuration", provider)
		mux.Handle("/oidc/", provider)
		mux.Handle(oidc.LoginPath, pageChain)
		mux.Handle(oidc.LogoutPath, pageChain)
	}
	// The proxies ask on every request to every protected app: their exact
	// paths skip the mux's matching.
	return s.accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/auth/nginx":
			authNginx.ServeHTTP(w, r)
		case "/auth/redirect":
			authRedirect.ServeHTTP(w, r)
		default:
			mux.ServeHTTP(w, r)
		}
	}))
}
