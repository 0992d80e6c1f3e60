package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/otpgate/otpgate/internal/api"
)

// The words of the answer line, as pam_otpgate.c knows them.
const (
	resultOK             = "ok"
	resultNoSecondFactor = "no_second_factor"
	resultCodeRequired   = "code_required"
	resultCodeWrong      = "code_wrong"
	resultDenied         = "denied"
	resultThrottled      = "throttled"
	resultInvalid        = "invalid"     // the request broke the helper's limits
	resultUnavailable    = "unavailable" // no verdict: the module fails closed
)

// maxMessage bounds the message part of the answer line, in bytes.
const maxMessage = 300

// maxBody bounds the server's answer body, in bytes.
const maxBody = 64 << 10

// answer is the one line the helper writes.
type answer struct {
	Result  string
	Message string // for the user (denied, throttled) or the log (unavailable)
}

// Line renders the answer: "RESULT[ MESSAGE]\n", the message cut to
// maxMessage bytes at a rune boundary, with no control characters.
func (a answer) Line() string {
	m := cleanMessage(a.Message)
	if m == "" {
		return a.Result + "\n"
	}
	return a.Result + " " + m + "\n"
}

func cleanMessage(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxMessage {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// serverAnswer is every field the PAM endpoints answer with: a
// PAMResponse, or the error of a refused request (api.Error).
type serverAnswer struct {
	api.PAMResponse
	Error string `json:"error"`
}

// parseAnswer maps the server's status and body for op to the helper's
// answer. Only the exact answers of the protocol give a verdict; anything
// else is unavailable, which the module turns into a refusal.
func parseAnswer(op string, status int, body []byte) answer {
	var a serverAnswer
	if len(body) > maxBody {
		return unavailable("server answer longer than %d bytes", maxBody)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return unavailable("server answer (status %d) is not the protocol's JSON", status)
	}
	switch {
	case status == 401 && a.Result == "" && a.Error != "", status == 403:
		return unavailable("server refused this host's token (status %d): %s", status, a.Error)
	case status == 503:
		return unavailable("server unavailable (503): %s", a.Error)
	}
	if op == "account" {
		switch {
		case status == 200 && a.Result == resultOK:
			return answer{Result: resultOK}
		case status == 200 && a.Result == resultDenied:
			return answer{Result: resultDenied, Message: a.Message}
		}
		return unavailable("unexpected account answer: status %d, result %q", status, a.Result)
	}
	switch {
	case status == 200 && (a.Result == resultOK || a.Result == resultNoSecondFactor):
		return answer{Result: a.Result}
	case status == 401 && (a.Result == resultCodeRequired || a.Result == resultCodeWrong || a.Result == resultDenied):
		return answer{Result: a.Result, Message: a.Message}
	case status == 429 && a.Result == resultThrottled:
		m := a.Message
		if m == "" && a.RetryAfter > 0 {
			m = fmt.Sprintf("too many attempts; try again in %d s", a.RetryAfter)
		}
		return answer{Result: resultThrottled, Message: m}
	}
	return unavailable("unexpected answer: status %d, result %q", status, a.Result)
}

func unavailable(format string, args ...any) answer {
	return answer{Result: resultUnavailable, Message: fmt.Sprintf(format, args...)}
}
