package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// FuzzParseBearer checks the Authorization parser of the PAM endpoints: a
// token it returns is a non-empty token68 within mfa.MaxHostTokenLength,
// found again in "Bearer " + token.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc-_.~+/==", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer ===",
		"Bearer " + strings.Repeat("A", mfa.MaxHostTokenLength+1), "BEARER x\x00", "Bearer\tabc", "Bearer a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		token, ok := parseBearer(h)
		if !ok {
			if token != "" {
				t.Fatalf("parseBearer(%q) = %q, false; want no token", h, token)
			}
			return
		}
		if token == "" || len(token) > mfa.MaxHostTokenLength || !strings.HasSuffix(h, token) {
			t.Fatalf("parseBearer(%q) = %q, want a token of at most %d bytes ending the header", h, token, mfa.MaxHostTokenLength)
		}
		body := strings.TrimRight(token, "=")
		if body == "" || strings.Trim(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") != "" {
			t.Fatalf("parseBearer(%q) = %q, not a token68", h, token)
		}
		if again, ok := parseBearer("Bearer " + token); !ok || again != token {
			t.Fatalf("parseBearer(Bearer %q) = %q, %v; want the token back", token, again, ok)
		}
	})
}

// FuzzDecodePAM feeds arbitrary bodies to the PAM endpoint's decoding and
// checks: an error with a 4xx status, or fields that checkPAMFields passes
// only when each is valid UTF-8 within its limit, without NUL, and the
// user given.
func FuzzDecodePAM(f *testing.F) {
	for _, s := range []string{`{"user":"alice","code":"123456","service":"sshd","rhost":"203.0.113.5","tty":"ssh"}`,
		`{"user":"alice","password":""}`, `{"user":"a\u0000"}`, `{"user":"\ud800"}`, "{\"user\":\"\xff\"}", `{"user":null,"password":null}`,
		`{"user":"alice","code":"` + strings.Repeat("1", 40) + `"}`, `{}`, `[]`, `{"user":"alice"} {}`, `{"user":"al\nice"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/pam/authenticate", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		req, err := decodeJSON[api.PAMRequest](httptest.NewRecorder(), r, maxAPIBody)
		if err != nil {
			if de, ok := err.(errDecode); !ok || de.status < 400 || de.status > 499 {
				t.Fatalf("decodeJSON(%q) = %v, want a 4xx errDecode", body, err)
			}
			return
		}
		var password string
		if req.Password != nil {
			password = *req.Password
		}
		fields := []pamField{{"user", req.User, false}, {"code", req.Code, false}, {"service", req.Service, false},
			{"rhost", req.RHost, false}, {"tty", req.TTY, false}, {"password", password, true}}
		if checkPAMFields(fields...) != "" {
			return
		}
		if strings.TrimSpace(req.User) == "" {
			t.Fatalf("checkPAMFields passed %q without a user", body)
		}
		for _, fd := range fields {
			if len(fd.value) > fieldLimits[fd.name] || !utf8.ValidString(fd.value) || strings.IndexByte(fd.value, 0) >= 0 {
				t.Fatalf("checkPAMFields passed %s = %q of %q", fd.name, fd.value, body)
			}
		}
	})
}
