package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/qr"
	"github.com/otpgate/otpgate/otp"
)

func (s *server) handleSettings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		s.render(w, r, http.StatusOK, "settings", page{Title: "Personal settings", User: &c.user})
	})
}

// securityPage is the data of security.html.
type securityPage struct {
	page
	Notice       string
	Error        string
	HasTOTP      bool
	RecoveryLeft int
	Required     bool
	Full         bool
	MinPassword  int
	// Next is where to go once TOTP is set up (sign-in's rd), if anywhere.
	Next string
	// Fresh tells that the session signed in recently enough to make
	// lasting changes without typing its factors again (mfa.Proof);
	// HasFactor that the user has a second factor to type then.
	Fresh     bool
	HasFactor bool
	// Pending tells that a setup was started and neither confirmed nor
	// cancelled: the button continues it, with the same key.
	Pending bool
	// Authenticators are the user's confirmed authenticators; CanAdd
	// tells that another may be added (the site allows Max).
	Authenticators []authenticatorView
	CanAdd         bool
	Max            int
	// Trusted are the browsers that skip the code, when the site allows
	// it (TrustOn).
	Trusted []trustedView
	TrustOn bool
	// Activity is what the store keeps of recent sign-ins, newest first.
	Activity []activityView
}

// activityView is one line of recent activity.
type activityView struct {
	When, What string
	at         time.Time
}

// authenticatorView is one authenticator as the Security page lists it.
type authenticatorView struct {
	ID, Name, Added, LastUsed, Params string
}

// proofFields are the fields of one form that asks for mfa.Proof.
type proofFields struct {
	// Prefix keeps the fields' IDs apart on the page.
	Prefix string
	Ask    bool
	Code   bool
}

// Proof returns the proof fields of the form whose IDs start with prefix.
func (p securityPage) Proof(prefix string) proofFields {
	return proofFields{Prefix: prefix, Ask: !p.Fresh, Code: p.HasFactor}
}

// proofOf reads the proof fields of the request's form.
func (s *server) proofOf(r *http.Request, c current) mfa.Proof {
	return mfa.Proof{Session: c.session, Password: r.PostForm.Get("password"), Code: r.PostForm.Get("code"), Addr: s.clientAddr(r)}
}

// proofFailed answers a lasting change whose proof did not pass, and
// reports whether it did so.
func (s *server) proofFailed(w http.ResponseWriter, r *http.Request, res mfa.Result) bool {
	logAttempt(r, res)
	switch res.Outcome {
	case mfa.OK:
		return false
	case mfa.Throttled:
		retryAfter(w, res.RetryAfter)
		s.securityError(w, r, http.StatusTooManyRequests, msgThrottled+retryText(res.RetryAfter)+".")
	case mfa.CodeRequired:
		s.securityError(w, r, http.StatusUnauthorized, "Enter a current code from your authenticator app too.")
	case mfa.BadCode:
		s.securityError(w, r, http.StatusUnauthorized, codeMessage(res))
	default:
		s.securityError(w, r, http.StatusUnauthorized, "To make this change, enter your password (and a current code) again.")
	}
	return true
}

// notices are the messages a redirect to the security page may ask for.
var notices = map[string]string{
	"admin":         "Welcome! Your administrator account is ready. Next, set up TOTP: choose “Set up TOTP” below.",
	"recovery":      "Your recovery codes were renewed.",
	"password":      "Your password was changed. Your other sessions have ended.",
	"disabled":      "TOTP is disabled. Sign-in now asks for your password only.",
	"renamed":       "The authenticator was renamed.",
	"forgotten":     "That browser will be asked for a code again.",
	"forgotten-all": "Every browser will be asked for a code again.",
	"removed":       "The authenticator was removed: its codes no longer work. Your other authenticators still do. Delete its entry in the app too.",
	"cancelled":     "The TOTP setup was cancelled. If you added its entry to your app, delete it there: it will not work. The next setup shows a new key.",
}

func (s *server) securityPage(r *http.Request, c current) (securityPage, error) {
	p := securityPage{page: page{Title: "Security", User: &c.user}, Full: c.session.Level.Full(),
		MinPassword: mfa.MinPasswordLength, Notice: notices[r.URL.Query().Get("done")],
		Next: s.checkRedirect(r, r.URL.Query().Get("next"), "")}
	var err error
	if p.HasTOTP, err = s.svc.HasTOTP(r.Context(), c.user.ID); err != nil {
		return p, err
	}
	if p.RecoveryLeft, err = s.svc.RecoveryCodesLeft(r.Context(), c.user.ID); err != nil {
		return p, err
	}
	if p.HasFactor, err = s.svc.HasSecondFactor(r.Context(), c.user); err != nil {
		return p, err
	}
	if _, p.Pending, err = s.svc.PendingSetup(r.Context(), c.user.ID); err != nil {
		return p, err
	}
	auths, err := s.svc.ConfirmedAuthenticators(r.Context(), c.user.ID)
	if err != nil {
		return p, err
	}
	for _, a := range auths {
		v := authenticatorView{ID: a.ID, Name: a.Name, Added: a.Confirmed.UTC().Format("2006-01-02 15:04 UTC"), LastUsed: "not yet",
			Params: fmt.Sprintf("%s, %d digits, %d s", algorithmName(a.Algorithm), digitsOr6(a.Digits), periodSeconds(a.Period))}
		if !a.LastUsed.IsZero() && a.LastUsed.After(a.Confirmed) {
			v.LastUsed = a.LastUsed.UTC().Format("2006-01-02 15:04 UTC")
		}
		p.Authenticators = append(p.Authenticators, v)
	}
	for _, a := range auths {
		if !a.LastUsed.IsZero() && a.LastUsed.After(a.Confirmed) {
			p.Activity = append(p.Activity, activityView{at: a.LastUsed, What: "Signed in with a code from " + a.Name})
		}
		p.Activity = append(p.Activity, activityView{at: a.Confirmed, What: a.Name + " added"})
	}
	p.Max = s.svc.Options().MaxAuthenticators
	if p.TrustOn = s.svc.TrustEnabled(); p.TrustOn {
		if p.Trusted, err = s.trustedViews(r, c.user.ID); err != nil {
			return p, err
		}
		bs, err := s.svc.TrustedBrowsers(r.Context(), c.user.ID)
		if err != nil {
			return p, err
		}
		for _, b := range bs {
			if b.LastUsed.After(b.Created) {
				p.Activity = append(p.Activity, activityView{at: b.LastUsed, What: "Signed in without a code on a trusted browser (" + browserName(b.UserAgent) + ", from " + b.Addr + ")"})
			}
			p.Activity = append(p.Activity, activityView{at: b.Created, What: browserName(b.UserAgent) + " trusted"})
		}
	}
	// The audit log's sign-ins and code checks of this account, with where
	// they came from and how they ended: failures the owner did not make
	// show here.
	entries, err := s.svc.AuditLog(r.Context(), mfa.AuditFilter{User: c.user.Name, Limit: 20})
	if err != nil {
		return p, err
	}
	for _, e := range entries {
		if e.Action != mfa.ActionSignIn && e.Action != mfa.ActionSecondFactor {
			continue
		}
		what := fmt.Sprintf("%s (%s) from %s: %s", capitalize(e.Action), e.Path, e.Addr, e.Result)
		if e.Result != "ok" && e.Reason != "" {
			what += ", " + e.Reason
		}
		p.Activity = append(p.Activity, activityView{at: e.Time, What: what})
	}
	slices.SortStableFunc(p.Activity, func(a, b activityView) int { return b.at.Compare(a.at) })
	p.Activity = p.Activity[:min(len(p.Activity), 10)]
	for i := range p.Activity {
		p.Activity[i].When = p.Activity[i].at.UTC().Format("2006-01-02 15:04 UTC")
	}
	p.CanAdd = len(auths) < p.Max
	p.Fresh = s.svc.Fresh(c.session)
	// A code from the user's file meets the requirement too.
	p.Required, err = s.svc.MaySetUp(r.Context(), c.user)
	return p, err
}

func (s *server) handleSecurity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.securityPage(r, currentFrom(r))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "security", p)
	})
}

// securityError shows the security page again with an error.
func (s *server) securityError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p, err := s.securityPage(r, currentFrom(r))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p.Notice, p.Error = "", msg
	s.render(w, r, status, "security", p)
}

// setupTOTPPage is the data of totp_setup.html.
type setupTOTPPage struct {
	page
	Error   string
	ID      string
	QR      template.HTML
	Key     string
	Account string
	Issuer  string
	Next    string
	// Resumed tells that this setup was started earlier: same key.
	Resumed bool
	// Name is the name the new authenticator will have.
	Name string
	// NotGoogle warns that Google Authenticator may ignore the key's
	// parameters.
	NotGoogle bool
	// URI is the key URI, for the "Open in authenticator app" link on the
	// phone itself; RawKey the key without spaces, for the copy button.
	URI    template.URL
	RawKey string
	// Algorithm, Digits and Seconds are the key's parameters as the
	// manual entry names them.
	Algorithm string
	Digits    int
	Seconds   int
}

func (s *server) renderSetup(w http.ResponseWriter, r *http.Request, status int, c current, e mfa.Enrolment, msg string) {
	next := ""
	if r.PostForm != nil {
		next = s.checkRedirect(r, r.PostForm.Get("next"), "")
	}
	svg, err := qr.SVG(e.URI.Encode())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("qr: %w", err))
		return
	}
	s.render(w, r, status, "totp_setup", setupTOTPPage{page: page{Title: "Set up TOTP", User: &c.user}, Error: msg,
		ID: e.ID, QR: template.HTML(svg), Key: groups(e.URI.Key.Secret.Base32()), Account: e.URI.Account, Issuer: e.URI.Issuer, Next: next,
		Resumed: e.Resumed, Name: e.Name, NotGoogle: !mfa.GoogleCompatible(e.URI.Key), URI: template.URL(e.URI.Encode()), RawKey: e.URI.Key.Secret.Base32(),
		Algorithm: algorithmName(e.URI.Key.Algorithm), Digits: digitsOr6(e.URI.Key.Digits), Seconds: periodSeconds(e.URI.Key.Period)})
}

// algorithmName is how apps name the algorithm.
func algorithmName(a otp.Algorithm) string {
	switch a {
	case otp.SHA256:
		return "SHA-256"
	case otp.SHA512:
		return "SHA-512"
	}
	return "SHA-1"
}

// periodSeconds is a key's period in seconds, 30 when unset.
func periodSeconds(p time.Duration) int {
	if p == 0 {
		return 30
	}
	return int(p / time.Second)
}

// groups splits a key into groups of 4 for typing by hand.
func groups(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

func (s *server) handleTOTPBegin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		res, e, err := s.svc.BeginEnrolment(r.Context(), c.user, s.proofOf(r, c))
		if errors.Is(err, mfa.ErrTooManyAuthenticators) {
			s.securityError(w, r, http.StatusConflict, fmt.Sprintf("You have %d authenticators, the most this site allows: remove one before adding another.", s.svc.Options().MaxAuthenticators))
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if s.proofFailed(w, r, res) {
			return
		}
		s.renderSetup(w, r, http.StatusOK, c, e, "")
	})
}

func (s *server) handleAuthenticatorRename() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		err := s.svc.RenameAuthenticator(r.Context(), c.user, r.PostForm.Get("id"), r.PostForm.Get("name"))
		switch {
		case errors.Is(err, mfa.ErrInvalid):
			s.securityError(w, r, http.StatusBadRequest, invalidText(err))
		case errors.Is(err, mfa.ErrNotFound):
			s.securityError(w, r, http.StatusNotFound, "There is no such authenticator.")
		case err != nil:
			s.serverError(w, r, err)
		default:
			http.Redirect(w, r, "/settings/security?done=renamed", http.StatusSeeOther)
		}
	})
}

func (s *server) handleAuthenticatorRemove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		res, err := s.svc.RemoveAuthenticator(r.Context(), c.user, r.PostForm.Get("id"), s.proofOf(r, c))
		if errors.Is(err, mfa.ErrNotFound) {
			s.securityError(w, r, http.StatusNotFound, "There is no such authenticator.")
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if s.proofFailed(w, r, res) {
			return
		}
		has, err := s.svc.HasTOTP(r.Context(), c.user.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if !has {
			if err := s.startSession(w, r, c.user.ID, mfa.LevelNoSecondFactor); err != nil {
				s.serverError(w, r, err)
				return
			}
			http.Redirect(w, r, "/settings/security?done=disabled", http.StatusSeeOther)
			return
		}
		s.cache.forgetUser(c.user.ID)
		http.Redirect(w, r, "/settings/security?done=removed", http.StatusSeeOther)
	})
}

func (s *server) handleTOTPCancel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		if err := s.svc.CancelEnrolment(r.Context(), c.user, r.PostForm.Get("id")); err != nil {
			s.serverError(w, r, err)
			return
		}
		to := "/settings/security?done=cancelled"
		if next := s.checkRedirect(r, r.PostForm.Get("next"), ""); next != "" {
			to += "&next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// recoveryCodeRe is the shape of a recovery code as shown: four groups of
// four base32 letters, or an 8-digit scratch code imported from a file.
var recoveryCodeRe = regexp.MustCompile(`^(?:[a-z2-7]{4}(?:-[a-z2-7]{4}){3}|[1-9][0-9]{7})$`)

// handleRecoveryDownload gives the recovery codes the page showed as a
// text file, one a line: the codes come from the page's form (the store
// keeps only their hashes), and only codes of their shape are written.
func (s *server) handleRecoveryDownload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		codes := strings.Fields(r.PostForm.Get("codes"))
		if len(codes) == 0 || len(codes) > mfa.RecoveryCodeCount {
			s.securityError(w, r, http.StatusBadRequest, "No recovery codes to save.")
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Recovery codes for %s at %s\n", currentFrom(r).user.Name, s.svc.Options().Issuer)
		b.WriteString("Each code signs you in once in place of a code from your app.\n\n")
		for _, c := range codes {
			if !recoveryCodeRe.MatchString(c) {
				s.securityError(w, r, http.StatusBadRequest, "No recovery codes to save.")
				return
			}
			b.WriteString(c + "\n")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="recovery-codes.txt"`)
		w.Write([]byte(b.String()))
	})
}

// doneTOTPPage is the data of totp_done.html.
type doneTOTPPage struct {
	page
	Notice string
	Clock  string
	Codes  []string
	Next   string
}

// CodesText is the codes one a line, for the download form.
func (p doneTOTPPage) CodesText() string { return strings.Join(p.Codes, "\n") }

func (s *server) handleTOTPConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		id, code := r.PostForm.Get("id"), r.PostForm.Get("code")
		name, named := r.PostForm.Get("name"), r.PostForm.Has("name")
		if named {
			if err := mfa.ValidateAuthenticatorName(name); err != nil {
				e, perr := s.svc.PendingEnrolment(r.Context(), c.user, id)
				if perr != nil {
					s.showMessage(w, r, http.StatusBadRequest, "Setup expired", "This TOTP setup has expired or was already confirmed. Start again from the Security page.", "/settings/security")
					return
				}
				s.renderSetup(w, r, http.StatusBadRequest, c, e, invalidText(err))
				return
			}
		}
		res, conf, err := s.svc.ConfirmEnrolment(r.Context(), c.user, id, code)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		logAttempt(r, res)
		switch res.Outcome {
		case mfa.BadCode:
			e, err := s.svc.PendingEnrolment(r.Context(), c.user, id)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			s.renderSetup(w, r, http.StatusBadRequest, c, e,
				"That code does not match. Enter the code your app shows now; if it still fails, check that your phone sets its clock automatically.")
			return
		case mfa.Expired:
			s.showMessage(w, r, http.StatusBadRequest, "Setup expired", "This TOTP setup has expired or was already confirmed. Start again from the Security page.", "/settings/security")
			return
		}
		if named {
			if err := s.svc.RenameAuthenticator(r.Context(), c.user, id, name); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
		notice := "Your authenticator app is set up. From now on, signing in asks for its code."
		if len(conf.RecoveryCodes) == 0 {
			notice = "Your new authenticator is added. Your other authenticators still work, and so do your recovery codes."
		}
		// The first second factor ends the user's other sessions, which never
		// passed it (forward-auth rules that require one would otherwise
		// let them through); and a change of privilege gets a new token.
		if len(conf.RecoveryCodes) > 0 {
			if err := s.svc.EndAllSessions(r.Context(), c.user.ID); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
		if err := s.startSession(w, r, c.user.ID, mfa.LevelFull); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "totp_done", doneTOTPPage{page: page{Title: "TOTP is enabled", User: &c.user},
			Notice: notice,
			Clock:  clockText(conf.Drift), Codes: conf.RecoveryCodes, Next: s.checkRedirect(r, r.PostForm.Get("next"), "/settings/security")})
	})
}

// clockText warns when the matched step was not the current one.
func clockText(drift int) string {
	if drift == 0 {
		return ""
	}
	dir := "ahead of"
	if drift < 0 {
		dir, drift = "behind", -drift
	}
	return fmt.Sprintf("Your phone's clock seems to be about %d seconds %s the server's. The code was accepted, but set your phone to take its time from the network, or codes may soon stop working.", drift*30, dir)
}

func (s *server) handleTOTPDisable() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		res, err := s.svc.RemoveSecondFactor(r.Context(), c.user, s.proofOf(r, c))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if s.proofFailed(w, r, res) {
			return
		}
		if err := s.startSession(w, r, c.user.ID, mfa.LevelNoSecondFactor); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, "/settings/security?done=disabled", http.StatusSeeOther)
	})
}

func (s *server) handleRecoveryRegenerate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		has, err := s.svc.HasTOTP(r.Context(), c.user.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if !has {
			s.securityError(w, r, http.StatusBadRequest, "Recovery codes need TOTP: set it up first.")
			return
		}
		res, codes, err := s.svc.RegenerateRecoveryCodes(r.Context(), c.user, s.proofOf(r, c))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if s.proofFailed(w, r, res) {
			return
		}
		s.render(w, r, http.StatusOK, "totp_done", doneTOTPPage{page: page{Title: "New recovery codes", User: &c.user},
			Notice: "Your old recovery codes no longer work.", Codes: codes, Next: "/settings/security"})
	})
}

func (s *server) handlePasswordChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		c := currentFrom(r)
		f := r.PostForm
		if f.Get("new") != f.Get("confirm") {
			s.securityError(w, r, http.StatusBadRequest, "The two new passwords differ.")
			return
		}
		res, err := s.svc.ChangePassword(r.Context(), c.user, f.Get("current"), f.Get("new"))
		if errors.Is(err, mfa.ErrInvalid) {
			s.securityError(w, r, http.StatusBadRequest, invalidText(err))
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		logAttempt(r, res)
		switch res.Outcome {
		case mfa.OK:
			// The new token keeps the session's level and its sign-in's
			// time: a password typed again does not make the session fresh
			// for changes that also ask for the code (mfa.Proof).
			if err := s.renewSession(w, r, c); err != nil {
				s.serverError(w, r, err)
				return
			}
			http.Redirect(w, r, "/settings/security?done=password", http.StatusSeeOther)
		case mfa.Throttled:
			retryAfter(w, res.RetryAfter)
			s.securityError(w, r, http.StatusTooManyRequests, msgThrottled+retryText(res.RetryAfter)+".")
		default:
			s.securityError(w, r, http.StatusUnauthorized, "Your current password is wrong.")
		}
	})
}

// capitalize gives s an upper-case first letter, for a line of its own.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
