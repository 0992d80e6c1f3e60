package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Messages shown on failed sign-ins. The first never tells an unknown user
// from a wrong password or a disabled account.
const (
	msgBadCredentials = "Wrong username or password."
	msgBadCode        = "That code is wrong. Check that you use the entry for this site in your app, and enter the code it shows now."
	msgCodeReused     = "This code was just used. Wait for the next one and enter it."
	msgRecoveryWrong  = "That recovery code is wrong or was already used: each one works once. Check it, or use another of your codes."
	msgFileUnusable   = "Your code could not be checked against your google-authenticator file. Try again; if this goes on, ask your administrator."
	msgFileRateLimit  = "Your google-authenticator file allows only a few codes in a short time (its RATE_LIMIT line), so this code was not checked. Try again in "
	msgThrottled      = "Too many failed attempts. Try again in "
	msgTooManyCodes   = "Too many wrong codes. Try again in "
	// msgThrottledLogin says what a user who has both factors can do while
	// the password counters wait (see mfa.Service.Login).
	msgThrottledLogin = "Too many failed sign-ins for this account or from your network. Enter your password and your verification code together, or try again in "
)

// throttledMessage is what a page says of a Throttled sign-in: the code
// budget's wait, or the user's file's rate limit, once the password was
// right, else what a user who has both factors can do while the password
// counters wait.
func throttledMessage(res mfa.Result) string {
	switch res.Reason {
	case mfa.ReasonTooManyCodes:
		return msgTooManyCodes + retryText(res.RetryAfter) + "."
	case mfa.ReasonFileRateLimited:
		return msgFileRateLimit + retryText(res.RetryAfter) + "."
	}
	return msgThrottledLogin + retryText(res.RetryAfter) + "."
}

// codeMessage is what a page says of a refused code, told only to a user
// who gave the right password: malformed, wrong, already used, a wrong or
// used recovery code, a phone whose clock is off.
func codeMessage(res mfa.Result) string {
	switch res.Reason {
	case mfa.ReasonCodeReused:
		return msgCodeReused
	case mfa.ReasonMalformedCode:
		if res.FromFile {
			return "Enter the 6 digits your app shows (or one of your 8-digit scratch codes)."
		}
		return fmt.Sprintf("Enter the %d digits your app shows, or use a recovery code.", digitsOr6(res.Digits))
	case mfa.ReasonWrongRecoveryCode:
		return msgRecoveryWrong
	case mfa.ReasonClockOff:
		return clockOffText(res.ClockOff)
	case mfa.ReasonFile:
		if res.File == mfa.FileSkewed {
			return "That code does not match the current time. Set your phone to take its time from the network, then enter the code it shows."
		}
		if res.File == mfa.FileUnusable {
			return msgFileUnusable
		}
	}
	return msgBadCode
}

// digitsOr6 is the digits of a code, 6 when unknown.
func digitsOr6(n int) int {
	if n == 0 {
		return 6
	}
	return n
}

// clockOffText tells a user whose code matched another time how far off
// the phone's clock seems to be.
func clockOffText(off time.Duration) string {
	dir := "ahead"
	if off < 0 {
		dir, off = "behind", -off
	}
	amount := fmt.Sprintf("%d seconds", int(off/time.Second))
	if off >= 2*time.Minute {
		amount = fmt.Sprintf("%d minutes", int(off.Round(time.Minute)/time.Minute))
	}
	return "That code is not the current one: your phone's clock seems to be about " + amount + " " + dir +
		". Set your phone to take its time from the network, then enter the code it shows."
}

func (s *server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok, err := s.session(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if ok && c.session.Level.Full() {
			http.Redirect(w, r, "/settings", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

func (s *server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showMessage(w, r, http.StatusNotFound, "Not found", "There is no such page.", "/")
	})
}

// loginPage is the data of login.html.
type loginPage struct {
	page
	Error    string
	Username string
	Next     string
	// Tried counts the wrong codes this form saw (see tried).
	Tried int
	// TrustDays offers not to ask for a code on this browser for that
	// many days; 0 means the site does not.
	TrustDays int
}

// TrustLabel is the trust checkbox's label.
func (p loginPage) TrustLabel() string { return trustText(p.TrustDays) }

func (s *server) handleLoginForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := s.redirectParam(r, r.URL.Query())
		c, ok, err := s.session(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		// fresh=1 asks for the password over a session: an OpenID
		// application's prompt=login or max_age (see oidc.go).
		if ok && c.session.Level.Full() && r.URL.Query().Get("fresh") != "1" {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		if ok && c.session.Level == mfa.LevelPassword {
			// A session that must set up a second factor first goes there.
			if may, err := s.svc.MaySetUp(r.Context(), c.user); err == nil && may {
				http.Redirect(w, r, setupURL(next), http.StatusSeeOther)
				return
			}
		}
		s.render(w, r, http.StatusOK, "login", loginPage{page: page{Title: "Sign in"}, Next: next, TrustDays: s.trustDays()})
	})
}

// logAttempt records a sign-in's outcome for the access line. The name is
// logged only when it is an account's (mfa.Result.Account): an unknown
// "name" is often a password typed in the wrong field.
func logAttempt(r *http.Request, res mfa.Result) {
	if res.Account != "" {
		setUser(r, res.Account)
	}
	setReason(r, res.LogReason())
}

// redirectParam is where to go after sign-in: rd (as forward-auth sends
// it) or next, when allowed (see safeRedirect), else the settings page.
func (s *server) redirectParam(r *http.Request, v url.Values) string {
	target := v.Get("rd")
	if target == "" {
		target = v.Get("next")
	}
	return s.checkRedirect(r, target, "/settings")
}

// startSession ends the request's old session, if any, and starts a new one
// at level: the token changes at every sign-in and change of privilege. The
// user's cached forward-auth answers are forgotten, since what they say
// (second factor, password) may have changed.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, userID int64, level mfa.Level) error {
	s.cache.forgetUser(userID)
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		s.cache.forget(c.Value)
		if err := s.svc.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	token, err := s.svc.NewSession(r.Context(), userID, level)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	return nil
}

// renewSession gives the request's session a new token at the same level
// and with the same sign-in time (see mfa.Service.RenewSession).
func (s *server) renewSession(w http.ResponseWriter, r *http.Request, c current) error {
	s.cache.forgetUser(c.user.ID)
	token, err := s.svc.RenewSession(r.Context(), c.user.ID, c.session.Level, c.session.Created)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	return nil
}

func (s *server) handleLoginSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		name := mfa.NormalizeName(r.PostForm.Get("username"))
		next := s.redirectParam(r, r.PostForm)
		res, err := s.svc.Login(r.Context(), mfa.LoginAttempt{Name: name, Password: r.PostForm.Get("password"),
			Code: r.PostForm.Get("otp"), Addr: s.clientAddr(r)})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		logAttempt(r, res)
		data := loginPage{page: page{Title: "Sign in"}, Username: name, Next: next, Tried: tried(r), TrustDays: s.trustDays()}
		switch res.Outcome {
		case mfa.Throttled:
			data.Error = throttledMessage(res)
			retryAfter(w, res.RetryAfter)
			s.render(w, r, http.StatusTooManyRequests, "login", data)
		case mfa.BadCredentials:
			data.Error = msgBadCredentials
			s.render(w, r, http.StatusUnauthorized, "login", data)
		case mfa.BadCode:
			// The password was right: go on to the code prompt with the
			// message, instead of asking for the password again.
			if err := s.startSession(w, r, res.User.ID, mfa.LevelPassword); err != nil {
				s.serverError(w, r, err)
				return
			}
			s.render(w, r, http.StatusUnauthorized, "login_totp", secondStepPage{page: page{Title: "Verification code"},
				Error: codeMessage(res), Next: next, Issuer: s.svc.Options().Issuer, Tried: data.Tried + 1, Digits: res.Digits, TrustDays: s.trustDays()})
		case mfa.SetupRequired:
			s.setupFirst(w, r, res, next)
		case mfa.CodeRequired:
			// A browser the user trusts skips the code; the password was
			// asked all the same.
			trusted, err := s.trustedBrowser(r, res.User)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			if trusted {
				setReason(r, "trusted browser")
				res.Outcome, res.SecondFactor = mfa.OK, true
				s.signedIn(w, r, res, next)
				return
			}
			if err := s.startSession(w, r, res.User.ID, mfa.LevelPassword); err != nil {
				s.serverError(w, r, err)
				return
			}
			to := "/login/totp?next=" + url.QueryEscape(next)
			if data.Tried > 0 {
				to += "&tried=" + strconv.Itoa(data.Tried)
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
		case mfa.OK:
			if err := s.trustIfAsked(w, r, res); err != nil {
				s.serverError(w, r, err)
				return
			}
			s.signedIn(w, r, res, next)
		}
	})
}

// signedIn starts the full session of a successful sign-in, with or
// without a second factor passed. When wrong codes were given after the
// user's password since the last sign-in, the user is told first, on the
// security page, which links on to next.
func (s *server) signedIn(w http.ResponseWriter, r *http.Request, res mfa.Result, next string) {
	level := mfa.LevelFull
	if !res.SecondFactor {
		level = mfa.LevelNoSecondFactor
	}
	if err := s.startSession(w, r, res.User.ID, level); err != nil {
		s.serverError(w, r, err)
		return
	}
	// The wrong codes this browser typed on its way here were the user's
	// own typos; the others were someone else's, who knows the password.
	var msgs []string
	title := ""
	if n := res.CodeFailures - tried(r); n > 0 {
		title = "Someone may know your password"
		msgs = append(msgs, fmt.Sprintf("Since your last sign-in, %d wrong verification code%s entered after your password, not from this sign-in. If that was not you, someone else knows your password: change it in Personal settings → Security.",
			n, map[bool]string{true: " was", false: "s were"}[n == 1]))
	}
	if res.Reason == mfa.ReasonRecoveryCode {
		if title == "" {
			title = "Recovery code used"
		}
		msgs = append(msgs, recoveryLeftText(res.RecoveryLeft))
	}
	if len(msgs) > 0 {
		s.showMessage(w, r, http.StatusOK, title, strings.Join(msgs, " "), next)
		return
	}
	if res.SetupDaysLeft > 0 {
		s.showSetupDue(w, r, res, next)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// recoveryLeftText says how many recovery codes are left after one was
// used, and warns when three or fewer remain.
func recoveryLeftText(n int) string {
	left := fmt.Sprintf("You used a recovery code: %d recovery code%s left.", n, map[bool]string{true: " is", false: "s are"}[n == 1])
	switch {
	case n == 0:
		return left + " You have none left: generate new ones now in Personal settings → Security, and set up your authenticator app again if you lost it."
	case n <= 3:
		return left + " That is few: generate new ones in Personal settings → Security."
	}
	return left
}

// tried is how many wrong codes the sign-in forms of this request's
// browser saw on its way (their hidden field "tried", which the server
// counts up on each wrong code; at most 100).
func tried(r *http.Request) int {
	n, err := strconv.Atoi(r.PostForm.Get("tried"))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, 100)
}

// setupFirst starts the session of a user whose password was right and who
// must set up a second factor before anything else (mfa.SetupRequired):
// only enough to set it up; the page carries next on to its end.
func (s *server) setupFirst(w http.ResponseWriter, r *http.Request, res mfa.Result, next string) {
	if err := s.startSession(w, r, res.User.ID, mfa.LevelPassword); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/security?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// secondStepPage is the data of login_totp.html and login_recovery.html.
type secondStepPage struct {
	page
	Error  string
	Next   string
	Issuer string
	// Tried counts the wrong codes this form saw (see tried).
	Tried int
	// Digits is how many digits the user's app shows.
	Digits int
	// TrustDays: see loginPage.
	TrustDays int
}

// TrustLabel is the trust checkbox's label.
func (p secondStepPage) TrustLabel() string { return trustText(p.TrustDays) }

// pendingSession returns the request's session when it waits for a code.
func (s *server) pendingSession(w http.ResponseWriter, r *http.Request) (current, bool) {
	c, ok, err := s.session(w, r)
	if err != nil {
		s.serverError(w, r, err)
		return current{}, false
	}
	if !ok || c.session.Level != mfa.LevelPassword {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return current{}, false
	}
	return c, true
}

func (s *server) handleSecondStepForm() http.Handler {
	return s.secondStepForm("login_totp", "Verification code")
}

func (s *server) handleRecoveryForm() http.Handler {
	return s.secondStepForm("login_recovery", "Use a recovery code")
}

func (s *server) secondStepForm(name, title string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.pendingSession(w, r)
		if !ok {
			return
		}
		digits, err := s.svc.CodeDigits(r.Context(), c.user.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("tried"))
		s.render(w, r, http.StatusOK, name, secondStepPage{page: page{Title: title},
			Next: s.redirectParam(r, r.URL.Query()), Issuer: s.svc.Options().Issuer, Tried: min(max(n, 0), 100), Digits: digits, TrustDays: s.trustDays()})
	})
}

func (s *server) handleSecondStepSubmit() http.Handler {
	return s.secondStepSubmit("login_totp", "Verification code")
}

// handleRecoverySubmit takes a recovery code at the second step: the same
// check as a code (mfa.Service.SecondFactor), from a text field that
// phones open with letters.
func (s *server) handleRecoverySubmit() http.Handler {
	return s.secondStepSubmit("login_recovery", "Use a recovery code")
}

func (s *server) secondStepSubmit(name, title string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c, ok := s.pendingSession(w, r)
		if !ok {
			return
		}
		next := s.redirectParam(r, r.PostForm)
		res, err := s.svc.SecondFactor(r.Context(), c.user.ID, r.PostForm.Get("code"))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		logAttempt(r, res)
		data := secondStepPage{page: page{Title: title}, Next: next, Issuer: s.svc.Options().Issuer, Tried: tried(r), Digits: res.Digits, TrustDays: s.trustDays()}
		switch res.Outcome {
		case mfa.OK:
			if err := s.trustIfAsked(w, r, res); err != nil {
				s.serverError(w, r, err)
				return
			}
			s.signedIn(w, r, res, next)
		case mfa.Throttled:
			data.Error = throttledMessage(res)
			retryAfter(w, res.RetryAfter)
			s.render(w, r, http.StatusTooManyRequests, name, data)
		case mfa.BadCode:
			data.Error = codeMessage(res)
			if name == "login_recovery" && res.Reason != mfa.ReasonCodeReused {
				data.Error = msgRecoveryWrong
			}
			data.Tried++
			s.render(w, r, http.StatusUnauthorized, name, data)
		default:
			s.endSession(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
	})
}

func (s *server) endSession(w http.ResponseWriter, r *http.Request) error {
	s.clearSessionCookie(w)
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		s.cache.forget(c.Value)
		return s.svc.EndSession(r.Context(), c.Value)
	}
	return nil
}

// logoutPage is the data of logout.html.
type logoutPage struct {
	page
	RD string
}

// handleLogoutForm shows the sign-out button (a protected app links to
// /logout?rd=URL); a GET never signs out, so a link cannot do it for an
// attacker.
func (s *server) handleLogoutForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := s.checkRedirect(r, r.URL.Query().Get("rd"), "")
		s.render(w, r, http.StatusOK, "logout", logoutPage{page: page{Title: "Sign out"}, RD: rd})
	})
}

// handleLogout ends the session, which every app behind forward-auth
// shares, then goes to rd when allowed, else to the login page.
func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := ""
		if r.Header.Get("Content-Type") != "" {
			if err := parseForm(w, r, fieldLimits); err != nil {
				s.badForm(w, r, err)
				return
			}
			rd = r.PostForm.Get("rd")
		}
		if err := s.endSession(w, r); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, s.checkRedirect(r, rd, "/login"), http.StatusSeeOther)
	})
}

func (s *server) handleLogoutAll() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		s.cache.forgetUser(c.user.ID)
		if err := s.svc.EndAllSessions(r.Context(), c.user.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.clearSessionCookie(w)
		s.showMessage(w, r, http.StatusOK, "Signed out everywhere", "Every session of your account has ended, on every device.", "/login")
	})
}

// setupPage is the data of setup.html.
type setupPage struct {
	page
	Error       string
	Token       string
	Username    string
	MinPassword int
}

func (s *server) handleSetupForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" || len(token) > fieldLimits["token"] {
			s.showMessage(w, r, http.StatusNotFound, "Setup link needed", "Open the one-time setup link that otpgate printed when it started.", "/login")
			return
		}
		s.render(w, r, http.StatusOK, "setup", setupPage{page: page{Title: "First administrator"}, Token: token, MinPassword: mfa.MinPasswordLength})
	})
}

func (s *server) handleSetupSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		f := r.PostForm
		data := setupPage{page: page{Title: "First administrator"}, Token: f.Get("token"),
			Username: mfa.NormalizeName(f.Get("username")), MinPassword: mfa.MinPasswordLength}
		if f.Get("password") != f.Get("confirm") {
			data.Error = "The two passwords differ."
			s.render(w, r, http.StatusBadRequest, "setup", data)
			return
		}
		u, res, err := s.svc.CreateFirstAdmin(r.Context(), f.Get("token"), mfa.NewUser{Name: f.Get("username"), Password: f.Get("password")}, s.clientAddr(r))
		switch {
		case res.Outcome == mfa.Throttled:
			logAttempt(r, res)
			retryAfter(w, res.RetryAfter)
			s.showMessage(w, r, http.StatusTooManyRequests, "Too many attempts", msgThrottled+retryText(res.RetryAfter)+".", "/login")
			return
		case errors.Is(err, mfa.ErrInvalid):
			data.Error = invalidText(err)
			s.render(w, r, http.StatusBadRequest, "setup", data)
			return
		case errors.Is(err, mfa.ErrSetupLink):
			logAttempt(r, res)
			s.showMessage(w, r, http.StatusForbidden, "Setup link not valid",
				"This setup link is invalid, expired or already used. Sign in instead, or ask the operator to restart otpgate on an empty store.", "/login")
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		setUser(r, u.Name)
		if err := s.startSession(w, r, u.ID, mfa.LevelNoSecondFactor); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, "/settings/security?done=admin", http.StatusSeeOther)
	})
}

// invalidText is the user-facing part of an mfa.ErrInvalid error, which
// never holds a secret.
func invalidText(err error) string {
	msg := strings.TrimPrefix(err.Error(), mfa.ErrInvalid.Error()+": ")
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
