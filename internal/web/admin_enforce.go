package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// adminEnforcePage is the data of admin_enforcement.html.
type adminEnforcePage struct {
	page
	Rules         []ruleView
	Exempt        []string
	Add           ruleForm
	Notice, Error string
	Zone, Reload  string
	Today         string
	RequireAll    bool
}

// ruleView is one rule as the page shows it: from the file (File set,
// read-only) or from the store (ID set, with its forms).
type ruleView struct {
	ID       int64
	Text     string
	File     string
	Line     int
	By, When string
	Deadline string
	InForce  bool
	DaysLeft int
	Coverage []mfa.GroupCoverage
	// Form holds the change form's values: the rule's, or those of a
	// change just refused (Open).
	Form ruleForm
	Open bool
	// groups are the rule's groups.
	groups []string
}

// ruleForm is what the rule forms hold.
type ruleForm struct {
	Groups, Deadline, Except string
	AllowEmpty               bool
}

func ruleFormOf(f url.Values) ruleForm {
	return ruleForm{Groups: f.Get("rule_groups"), Deadline: f.Get("rule_deadline"), Except: f.Get("rule_except"), AllowEmpty: f.Get("allow_empty") == "1"}
}

func (f ruleForm) input() mfa.RuleInput {
	return mfa.RuleInput{Groups: f.Groups, Deadline: f.Deadline, Except: f.Except, AllowEmpty: f.AllowEmpty}
}

// refusedRule is a form the page shows again, with why it was refused.
type refusedRule struct {
	id   int64 // the rule changed; zero for the add form
	form ruleForm
	err  string
}

var ruleDoneText = map[string]string{
	"add":    "The rule is added.",
	"change": "The rule is changed.",
	"remove": "The rule is removed.",
}

func (s *server) handleAdminEnforcement() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := ruleDoneText[r.URL.Query().Get("done")]
		if notice != "" {
			notice += " It applies on this server now, and on the others on the same store within " + retryText(s.svc.Options().EnforceReload) + "."
		}
		s.renderEnforcement(w, r, http.StatusOK, notice, refusedRule{})
	})
}

// renderEnforcement shows the rules of the file and of the store, each
// with the coverage of its groups, and the forms.
func (s *server) renderEnforcement(w http.ResponseWriter, r *http.Request, status int, notice string, refused refusedRule) {
	c := currentFrom(r)
	ctx := r.Context()
	opts := s.svc.Options()
	stored, err := s.svc.StoredRules(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	now := s.svc.Now().In(opts.Location)
	zone, _ := now.Zone()
	data := adminEnforcePage{page: page{Title: "Second factor by group", User: &c.user}, Exempt: opts.Enforce.Exempt(),
		Notice: notice, Error: refused.err, Zone: zone + " (UTC" + now.Format("-07:00") + ")", Reload: retryText(opts.EnforceReload),
		Today: now.Format(time.DateOnly), RequireAll: opts.RequireSecondFactor}
	if refused.id == 0 {
		data.Add = refused.form
	}
	var groups []string
	for _, rule := range opts.Enforce.Rules() {
		v := ruleView{Text: rule.String(), File: rule.File, Line: rule.Line, groups: rule.Groups}
		v.setDeadline(rule.From, now)
		groups = append(groups, rule.Groups...)
		data.Rules = append(data.Rules, v)
	}
	for _, rec := range stored {
		v := ruleView{ID: rec.ID, Text: rec.String(), By: rec.UpdatedBy, When: rec.Updated.In(opts.Location).Format("2006-01-02 15:04"),
			Form: ruleForm{Groups: strings.Join(rec.Groups, ", "), Deadline: rec.Deadline, Except: strings.Join(rec.Except, ", ")}, groups: rec.Groups}
		if from, err := time.ParseInLocation(time.DateOnly, rec.Deadline, opts.Location); err == nil {
			v.setDeadline(from, now)
		}
		if refused.id == rec.ID {
			v.Form, v.Open = refused.form, true
		}
		groups = append(groups, rec.Groups...)
		data.Rules = append(data.Rules, v)
	}
	slices.Sort(groups)
	cov, err := s.svc.Coverage(ctx, slices.Compact(groups))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for i := range data.Rules {
		v := &data.Rules[i]
		for _, g := range cov {
			if slices.Contains(v.groups, g.Group) {
				v.Coverage = append(v.Coverage, g)
			}
		}
	}
	s.render(w, r, status, "admin_enforcement", data)
}

// setDeadline fills in the rule's deadline and whether it has come at now.
func (v *ruleView) setDeadline(from, now time.Time) {
	d := mfa.Due{Applies: true, Deadline: from}
	v.Deadline, v.InForce, v.DaysLeft = from.Format(time.DateOnly), d.Required(now), d.DaysLeft(now)
}

// ruleFieldLimits bound the rule forms' fields: more than the core takes
// (mfa.MaxRuleField), so that it is the core that says what is too long.
var ruleFieldLimits = map[string]int{"rule_groups": 2 * mfa.MaxRuleField, "rule_except": 2 * mfa.MaxRuleField, "rule_deadline": 64,
	"allow_empty": 1, "seen": 4*mfa.MaxRuleField + 128}

// handleAdminRule adds a rule (action "add"), or changes or removes the
// stored rule the URL names, which the administrator saw as the form's
// "seen" line; then back to the rules, or the page again with why the
// change was refused and the form as typed.
func (s *server) handleAdminRule(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, ruleFieldLimits); err != nil {
			s.badForm(w, r, err)
			return
		}
		ctx := r.Context()
		form := ruleFormOf(r.PostForm)
		var id int64
		if action != "add" {
			var err error
			if id, err = strconv.ParseInt(r.PathValue("id"), 10, 64); err != nil || id <= 0 {
				s.renderEnforcement(w, r, http.StatusNotFound, "", refusedRule{err: "There is no such rule."})
				return
			}
		}
		var err error
		switch action {
		case "add":
			_, err = s.svc.AddRule(ctx, form.input())
		case "change":
			_, err = s.svc.ChangeRule(ctx, id, r.PostForm.Get("seen"), form.input())
		case "remove":
			err = s.svc.RemoveRule(ctx, id, r.PostForm.Get("seen"))
		}
		switch {
		case err == nil:
			http.Redirect(w, r, "/admin/enforcement?done="+action, http.StatusSeeOther)
		case errors.Is(err, mfa.ErrInvalid):
			s.renderEnforcement(w, r, http.StatusBadRequest, "", refusedRule{id: id, form: form, err: "The rule is not saved: " + invalidText(err)})
		case errors.Is(err, mfa.ErrNotFound):
			s.renderEnforcement(w, r, http.StatusNotFound, "", refusedRule{err: "There is no such rule: another administrator may have removed it."})
		case errors.Is(err, mfa.ErrConflict):
			s.renderEnforcement(w, r, http.StatusConflict, "", refusedRule{
				err: "The rule was changed by someone else meanwhile, and nothing was done: here it is as it is now."})
		default:
			s.serverError(w, r, err)
		}
	})
}
