package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// trustCookieName holds a trusted browser's token (see
// mfa.Service.TrustBrowser). It is host-only and read only by the sign-in
// pages: the JSON API, forward-auth and PAM never look at it.
const trustCookieName = "otpgate_trust"

// trustDays is how many days the sign-in pages offer not to ask for a code
// on this browser; 0 when the site does not offer it.
func (s *server) trustDays() int {
	if !s.svc.TrustEnabled() {
		return 0
	}
	return max(1, int(s.svc.Options().TrustFor/(24*time.Hour)))
}

// trustedBrowser reports whether the request comes from a browser that u
// trusts.
func (s *server) trustedBrowser(r *http.Request, u mfa.User) (bool, error) {
	c, err := r.Cookie(trustCookieName)
	if err != nil || c.Value == "" {
		return false, nil
	}
	return s.svc.TrustedBrowserOf(r.Context(), u, c.Value, s.clientAddr(r))
}

// trustIfAsked remembers the browser when its user ticked "Don't ask for
// a code on this browser" and passed a second factor.
func (s *server) trustIfAsked(w http.ResponseWriter, r *http.Request, res mfa.Result) error {
	if r.PostForm.Get("trust") != "on" || !s.svc.TrustEnabled() || res.Outcome != mfa.OK || !res.SecondFactor {
		return nil
	}
	token, err := s.svc.TrustBrowser(r.Context(), res.User, r.UserAgent(), s.clientAddr(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: trustCookieName, Value: token, Path: "/login", MaxAge: int(s.svc.Options().TrustFor / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// trustedView is one trusted browser as the Security page lists it.
type trustedView struct {
	ID, Browser, Addr, LastUsed, Until string
}

func (s *server) trustedViews(r *http.Request, userID int64) ([]trustedView, error) {
	bs, err := s.svc.TrustedBrowsers(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	var out []trustedView
	for _, b := range bs {
		out = append(out, trustedView{ID: mfa.TrustedBrowserID(b), Browser: browserName(b.UserAgent), Addr: b.Addr,
			LastUsed: b.LastUsed.UTC().Format("2006-01-02 15:04 UTC"), Until: b.Expires.UTC().Format("2006-01-02")})
	}
	return out, nil
}

// browserName says which browser on which system a User-Agent names, in a
// few words.
func browserName(ua string) string {
	browser := "A browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chromium (headless)"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

func (s *server) handleTrustForget() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		err := s.svc.ForgetTrustedBrowser(r.Context(), c.user.ID, r.PostForm.Get("id"))
		switch {
		case errors.Is(err, mfa.ErrNotFound):
			s.securityError(w, r, http.StatusNotFound, "There is no such trusted browser.")
		case err != nil:
			s.serverError(w, r, err)
		default:
			http.Redirect(w, r, "/settings/security?done=forgotten", http.StatusSeeOther)
		}
	})
}

func (s *server) handleTrustForgetAll() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		if err := s.svc.ForgetTrustedBrowsers(r.Context(), c.user.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, "/settings/security?done=forgotten-all", http.StatusSeeOther)
	})
}

// trustText is the checkbox's label.
func trustText(days int) string {
	return fmt.Sprintf("Don't ask for a code on this browser for %d days", days)
}
