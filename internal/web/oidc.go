package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
)

// The OpenID provider's pages: the bridge from an authorization request to
// the sign-in pages (oidc.LoginPath), and the sign-out of an end_session
// request (oidc.LogoutPath). The protocol's endpoints are the provider's
// own handler (Options.OIDC).

// continuePage is the data of continue.html.
type continuePage struct {
	page
	Message string
	// URL is the application's, validated by the provider against what
	// the operator registered (it may have a scheme of a native app's).
	URL template.URL
}

// toApplication sends the browser to an application's URL. After one of
// our forms (Sec-Fetch-Site same-origin) it is a page that goes on by
// itself: browsers hold the redirects that follow a form's submission to
// the form's CSP form-action, which names only this site, and would stop
// a redirect to the application.
func (s *server) toApplication(w http.ResponseWriter, r *http.Request, title, msg, to string) {
	if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	s.render(w, r, http.StatusOK, "continue", continuePage{page: page{Title: title}, Message: msg, URL: template.URL(to)})
}

// handleOIDCLogin is the bridge (oidc.LoginPath?id=REQUEST): with a
// session that serves the request, it answers the application at once;
// otherwise the browser goes through the sign-in form (even over a
// session, for prompt=login and max_age) or the TOTP setup, and comes
// back here. The sign-in is the pages', with their throttling and replay
// rules.
func (s *server) handleOIDCLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id := q.Get("id")
		if len(q["id"]) != 1 || len(id) > fieldLimits["id"] {
			s.unknownOIDCRequest(w, r)
			return
		}
		c, ok, err := s.session(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		var b oidc.Browser
		if ok {
			b = oidc.Browser{UserID: c.user.ID, TokenHash: c.session.TokenHash, Level: c.session.Level, SignedIn: c.session.Created}
			if c.session.Level == mfa.LevelPassword {
				if b.MustSetUp, err = s.svc.MaySetUp(r.Context(), c.user); err != nil {
					s.serverError(w, r, err)
					return
				}
			}
		}
		step, err := s.opts.OIDC.Resume(r.Context(), id, b)
		if errors.Is(err, oidc.ErrUnknownRequest) {
			s.unknownOIDCRequest(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		here := oidc.LoginPath + "?id=" + url.QueryEscape(id)
		switch step.Need {
		case oidc.NeedSignIn:
			http.Redirect(w, r, "/login?fresh=1&next="+url.QueryEscape(here), http.StatusSeeOther)
		case oidc.NeedSetUp:
			http.Redirect(w, r, setupURL(here), http.StatusSeeOther)
		default:
			s.toApplication(w, r, "Signing in", "You are signed in. Going back to the application…", step.RedirectURI)
		}
	})
}

// unknownOIDCRequest tells of a bridge link that serves no request.
func (s *server) unknownOIDCRequest(w http.ResponseWriter, r *http.Request) {
	setReason(r, "unknown oidc request")
	s.showMessage(w, r, http.StatusBadRequest, "Sign-in request expired",
		"This sign-in request is unknown or has expired. Go back to the application and sign in again.", "/")
}

// oidcLogoutPage is the data of oidc_logout.html.
type oidcLogoutPage struct {
	page
	Ticket string
}

// handleOIDCLogoutForm is where an application's end_session request
// lands (oidc.LogoutPath?ticket=T). When its id_token_hint was issued to
// this browser's session, the session ends at once; otherwise the user is
// asked, so that a link cannot sign anyone out.
func (s *server) handleOIDCLogoutForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticket := r.URL.Query().Get("ticket")
		lo, err := s.opts.OIDC.Logout(ticket)
		if err != nil {
			s.badLogoutTicket(w, r)
			return
		}
		c, ok, err := s.session(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if ok && (lo.SessionID == "" || s.opts.OIDC.SessionID(c.session.TokenHash) != lo.SessionID) {
			s.render(w, r, http.StatusOK, "oidc_logout", oidcLogoutPage{page: page{Title: "Sign out"}, Ticket: ticket})
			return
		}
		if ok {
			if err := s.endSession(w, r); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
		s.afterOIDCLogout(w, r, lo)
	})
}

// handleOIDCLogout signs out after the user confirmed it.
func (s *server) handleOIDCLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		lo, err := s.opts.OIDC.Logout(r.PostForm.Get("ticket"))
		if err != nil {
			s.badLogoutTicket(w, r)
			return
		}
		if err := s.endSession(w, r); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.afterOIDCLogout(w, r, lo)
	})
}

// afterOIDCLogout goes back to the application, when it said where.
func (s *server) afterOIDCLogout(w http.ResponseWriter, r *http.Request, lo oidc.Logout) {
	const title, msg = "Signed out", "You are signed out of every application that signs in through this server."
	if lo.RedirectURI == "" {
		s.showMessage(w, r, http.StatusOK, title, msg, "/login")
		return
	}
	s.toApplication(w, r, title, msg, lo.RedirectURI)
}

// badLogoutTicket tells of a sign-out link that is not valid.
func (s *server) badLogoutTicket(w http.ResponseWriter, r *http.Request) {
	setReason(r, "bad oidc logout ticket")
	s.showMessage(w, r, http.StatusBadRequest, "Sign-out link expired",
		"This sign-out link is invalid or has expired. To sign out, use the sign-out button of this site.", "/logout")
}
