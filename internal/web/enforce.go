package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// setupDuePage is the data of setup_due.html.
type setupDuePage struct {
	page
	Deadline string
	DaysLeft int
	SetupURL string
	Next     string
}

// setupPath is the page where a second factor is set up.
const setupPath = "/settings/security"

// setupURL is the setup page, coming back to next.
func setupURL(next string) string { return setupPath + "?next=" + url.QueryEscape(next) }

// showSetupDue tells a user signed in without a second factor, whose
// group's deadline is yet to come, how many days are left; the user may
// set one up at once or go on to next.
func (s *server) showSetupDue(w http.ResponseWriter, r *http.Request, res mfa.Result, next string) {
	s.render(w, r, http.StatusOK, "setup_due", setupDuePage{page: page{Title: "Set up a second factor"},
		Deadline: res.SetupDeadline.Format(time.DateOnly), DaysLeft: res.SetupDaysLeft, SetupURL: setupURL(next), Next: next})
}

// setupDueText says the same in the JSON API's message.
func (s *server) setupDueText(res mfa.Result) string {
	return " A second factor will be required for your account from " + res.SetupDeadline.Format(time.DateOnly) + " (" +
		plural(res.SetupDaysLeft, "day") + " left): set up TOTP at " + s.baseURL + setupPath + "."
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
