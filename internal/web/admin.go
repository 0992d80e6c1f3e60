package web

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// adminPageSize is how many users a page of the admin list shows.
const adminPageSize = 50

// requireAdmin lets through administrators signed in with a second factor
// (LevelFull), checking both on every request; the handler gets the
// administrator as the audit log's actor. Another signed-in user gets 403
// and nothing is done.
func (s *server) requireAdmin(h http.Handler) http.Handler {
	return s.requireFull(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		switch {
		case !c.user.Admin:
			setReason(r, "not an administrator")
			s.showMessage(w, r, http.StatusForbidden, "Forbidden", "These pages are for administrators.", "/settings")
			return
		case c.session.Level != mfa.LevelFull:
			setReason(r, "administrator without a second factor")
			s.showMessage(w, r, http.StatusForbidden, "Second factor needed",
				"The admin pages need a sign-in with a second factor: set one up in Personal settings → Security, then sign in again.", setupPath)
			return
		}
		cl := mfa.ClientFrom(r.Context())
		cl.Actor = c.user.Name
		h.ServeHTTP(w, r.WithContext(mfa.WithClient(r.Context(), cl)))
	}))
}

// adminUsersPage is the data of admin_users.html.
type adminUsersPage struct {
	page
	Query    string
	Users    []mfa.UserSummary
	NextPage string
	Coverage []mfa.GroupCoverage
}

func (s *server) handleAdminUsers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		q := r.URL.Query()
		prefix, after := q.Get("q"), q.Get("after")
		if len(prefix) > mfa.MaxNameLength || len(after) > mfa.MaxNameLength {
			s.showMessage(w, r, http.StatusBadRequest, "Bad request", "The search is too long.", "/admin")
			return
		}
		users, err := s.svc.SearchUsers(r.Context(), prefix, after, adminPageSize+1)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		data := adminUsersPage{page: page{Title: "Users", User: &c.user}, Query: mfa.NormalizeName(prefix)}
		if len(users) > adminPageSize {
			users = users[:adminPageSize]
			data.NextPage = "/admin?" + url.Values{"q": {data.Query}, "after": {users[len(users)-1].Name}}.Encode()
		}
		data.Users = users
		if data.Coverage, err = s.svc.EnforcedCoverage(r.Context()); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "admin_users", data)
	})
}

// adminUserPage is the data of admin_user.html.
type adminUserPage struct {
	page
	Target   mfa.UserSummary
	Sessions []adminSession
	Audit    []mfa.AuditEntry
	Notice   string
	Error    string
	Due      string
}

// adminSession is a session as the admin page lists it: the hex of its
// token's hash (which signs nothing in), its times and level.
type adminSession struct {
	ID                string
	Created, LastSeen time.Time
	Level             string
}

// target is the user an admin URL names.
func (s *server) target(w http.ResponseWriter, r *http.Request) (mfa.User, bool) {
	u, err := s.svc.UserByName(r.Context(), r.PathValue("name"))
	if errors.Is(err, mfa.ErrNotFound) {
		s.showMessage(w, r, http.StatusNotFound, "Not found", "There is no such user.", "/admin")
		return mfa.User{}, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return mfa.User{}, false
	}
	return u, true
}

func (s *server) handleAdminUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.target(w, r)
		if !ok {
			return
		}
		s.renderAdminUser(w, r, u, http.StatusOK, r.URL.Query().Get("done"), "")
	})
}

var doneText = map[string]string{
	"disable": "The user is disabled; every session ended.", "enable": "The user is enabled.",
	"reset-totp": "The second factor is reset: the user sets up a new one at the next sign-in where it is required.",
	"password":   "The password is set; every session ended.", "add": "The user is added.", "profile": "The profile is saved.", "session": "The session ended.", "sessions": "Every session ended.",
}

func (s *server) renderAdminUser(w http.ResponseWriter, r *http.Request, u mfa.User, status int, done, errText string) {
	c := currentFrom(r)
	ctx := r.Context()
	sum, err := s.svc.Summary(ctx, u)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	sessions, err := s.svc.UserSessions(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	audit, err := s.svc.AuditLog(ctx, mfa.AuditFilter{User: u.Name, Limit: 20})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := adminUserPage{page: page{Title: "User " + u.Name, User: &c.user}, Target: sum, Audit: audit,
		Notice: doneText[done], Error: errText}
	due, err := s.svc.SetupDue(ctx, u)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if due.Applies && !due.Deadline.IsZero() {
		data.Due = due.Deadline.Format(time.DateOnly)
	}
	for _, x := range sessions {
		data.Sessions = append(data.Sessions, adminSession{ID: hex.EncodeToString(x.TokenHash), Created: x.Created, LastSeen: x.LastSeen,
			Level: map[mfa.Level]string{mfa.LevelPassword: "password only, second step pending", mfa.LevelFull: "second factor passed",
				mfa.LevelNoSecondFactor: "password, no second factor"}[x.Level]})
	}
	s.render(w, r, status, "admin_user", data)
}

// handleAdminAction does one action on the user the URL names, after
// checking the form and, for the administrator's own account, refusing
// what would lock the administrator out; then back to the user's page.
func (s *server) handleAdminAction(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		u, ok := s.target(w, r)
		if !ok {
			return
		}
		c := currentFrom(r)
		ctx := r.Context()
		self := u.ID == c.user.ID
		if self && (action == "disable" || action == "delete") {
			s.renderAdminUser(w, r, u, http.StatusBadRequest, "", "You cannot "+action+" your own account here.")
			return
		}
		s.cache.forgetUser(u.ID)
		var err error
		switch action {
		case "disable":
			err = s.svc.SetDisabled(ctx, u.ID, true)
		case "enable":
			err = s.svc.SetDisabled(ctx, u.ID, false)
		case "reset-totp":
			err = s.svc.ResetTOTP(ctx, u.ID)
		case "password":
			if r.PostForm.Get("new") != r.PostForm.Get("confirm") {
				s.renderAdminUser(w, r, u, http.StatusBadRequest, "", "The two passwords differ.")
				return
			}
			err = s.svc.SetPassword(ctx, u.ID, r.PostForm.Get("new"))
		case "session":
			var hash []byte
			if hash, err = hex.DecodeString(r.PostForm.Get("id")); err != nil || len(hash) == 0 {
				s.renderAdminUser(w, r, u, http.StatusBadRequest, "", "No such session.")
				return
			}
			err = s.svc.EndUserSession(ctx, u.ID, hash)
		case "sessions":
			err = s.svc.EndUserSessions(ctx, u.ID)
		case "profile":
			f := r.PostForm
			groups, gerr := mfa.ParseGroups(f.Get("groups"))
			if gerr != nil {
				err = gerr
				break
			}
			display, mail := f.Get("display_name"), f.Get("mail")
			_, err = s.svc.SetProfile(ctx, u.ID, mfa.Profile{DisplayName: &display, Groups: &groups, Mail: &mail})
			if err == nil {
				s.svc.Audit(ctx, mfa.AuditEntry{User: u.Name, Action: mfa.ActionProfile, Result: "ok",
					Reason: "groups " + strings.Join(groups, ",")})
			}
		case "delete":
			if r.PostForm.Get("confirm") != u.Name {
				s.renderAdminUser(w, r, u, http.StatusBadRequest, "", "Type the user's name to confirm the deletion.")
				return
			}
			if err = s.svc.DeleteUser(ctx, u.ID); err == nil {
				http.Redirect(w, r, "/admin?done=delete", http.StatusSeeOther)
				return
			}
		}
		switch {
		case errors.Is(err, mfa.ErrInvalid):
			s.renderAdminUser(w, r, u, http.StatusBadRequest, "", invalidText(err))
			return
		case errors.Is(err, mfa.ErrNotFound) && action == "session":
			s.renderAdminUser(w, r, u, http.StatusNotFound, "", "No such session.")
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		if self && (action == "password" || action == "sessions" || action == "reset-totp") {
			// The administrator's own sessions ended too.
			s.clearSessionCookie(w)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.Name)+"?done="+action, http.StatusSeeOther)
	})
}

// handleAdminAdd adds a local user from the users page's form.
func (s *server) handleAdminAdd() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, fieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		f := r.PostForm
		fail := func(status int, msg string) {
			s.showMessage(w, r, status, "User not added", msg, "/admin")
		}
		if f.Get("new") != f.Get("confirm") {
			fail(http.StatusBadRequest, "The two passwords differ.")
			return
		}
		groups, err := mfa.ParseGroups(f.Get("groups"))
		if err == nil {
			var u mfa.User
			u, err = s.svc.CreateUser(r.Context(), mfa.NewUser{Name: f.Get("username"), Password: f.Get("new"), Admin: f.Get("admin") == "1",
				DisplayName: f.Get("display_name"), Groups: groups, Mail: f.Get("mail")})
			if err == nil {
				s.svc.Audit(r.Context(), mfa.AuditEntry{User: u.Name, Action: mfa.ActionAdd, Result: "ok"})
				http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.Name)+"?done=add", http.StatusSeeOther)
				return
			}
		}
		switch {
		case errors.Is(err, mfa.ErrInvalid):
			fail(http.StatusBadRequest, invalidText(err))
		case errors.Is(err, mfa.ErrConflict):
			fail(http.StatusConflict, "A user of that name exists already.")
		default:
			s.serverError(w, r, err)
		}
	})
}

// adminAuditPage is the data of admin_audit.html.
type adminAuditPage struct {
	page
	Filter   adminAuditFilter
	Entries  []mfa.AuditEntry
	NextPage string
	// Paths are the choices of the path filter.
	Paths []string
}

type adminAuditFilter struct {
	User, Path, Action, Result string
	Failed                     bool
}

// handleAdminAudit shows the audit log, newest first, filtered by user,
// path, action, result or refusals, 100 entries a page.
func (s *server) handleAdminAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := currentFrom(r)
		q := r.URL.Query()
		for _, k := range []string{"user", "path", "action", "result", "before"} {
			if len(q.Get(k)) > 64 {
				s.showMessage(w, r, http.StatusBadRequest, "Bad request", "A filter is too long.", "/admin/audit")
				return
			}
		}
		f := adminAuditFilter{User: mfa.NormalizeName(q.Get("user")), Path: q.Get("path"), Action: q.Get("action"), Result: q.Get("result"),
			Failed: q.Get("failed") == "1"}
		before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
		entries, err := s.svc.AuditLog(r.Context(), mfa.AuditFilter{User: f.User, Path: mfa.Path(f.Path), Action: f.Action, Result: f.Result,
			Failed: f.Failed, Before: before, Limit: 101})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		data := adminAuditPage{page: page{Title: "Audit log", User: &c.user}, Filter: f,
			Paths: []string{"", string(mfa.PathPage), string(mfa.PathAPI), string(mfa.PathForwardAuth), string(mfa.PathCommand), string(mfa.PathPAM), string(mfa.PathOIDC)}}
		if len(entries) > 100 {
			entries = entries[:100]
			v := url.Values{"user": {f.User}, "path": {f.Path}, "action": {f.Action}, "result": {f.Result}, "before": {strconv.FormatInt(entries[99].ID, 10)}}
			if f.Failed {
				v.Set("failed", "1")
			}
			data.NextPage = "/admin/audit?" + v.Encode()
		}
		data.Entries = entries
		s.render(w, r, http.StatusOK, "admin_audit", data)
	})
}
