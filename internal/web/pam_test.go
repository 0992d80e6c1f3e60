package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/mfa"
)

// addHost registers a host and returns its token.
func (e *env) addHost(name string, allowPassword bool) string {
	e.t.Helper()
	token, err := e.svc.AddHost(context.Background(), name, allowPassword)
	if err != nil {
		e.t.Fatalf("AddHost(%s) = %v", name, err)
	}
	return token
}

// pam posts body to a PAM endpoint with the token (none when empty).
func (e *env) pam(path, token, body string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(http.DefaultClient, req)
}

// pamBody is the module's request for user with code, from sshd for a
// client at 203.0.113.5.
func pamBody(user, code string) string {
	b, _ := json.Marshal(api.PAMRequest{User: user, Code: code, Service: "sshd", RHost: "203.0.113.5", TTY: "ssh"})
	return string(b)
}

// pamPasswordBody is pamBody with a password to check.
func pamPasswordBody(user, password, code string) string {
	b, _ := json.Marshal(api.PAMRequest{User: user, Code: code, Service: "jupyterhub", RHost: "203.0.113.5", Password: &password})
	return string(b)
}

// pamAnswer decodes a PAM endpoint's answer: its result or its error.
func pamAnswer(t *testing.T, r resp) (result, errText string) {
	t.Helper()
	var v struct {
		api.PAMResponse
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", r.status, r.body, err)
	}
	return v.Result, v.Error
}

// pamEnv is a server with alice (TOTP), plain (no second factor), off
// (disabled, TOTP) and a host login1, whose token it returns.
func pamEnv(t *testing.T, st setup) (*env, string, func() string) {
	t.Helper()
	e := newEnv(t, st)
	e.addUser("alice")
	c := e.client()
	e.login(c, "alice", "", "/settings")
	key, _ := e.enroll(c)
	e.addUser("plain")
	off := e.addUser("off")
	if err := e.svc.SetDisabled(context.Background(), off.ID, true); err != nil {
		t.Fatal(err)
	}
	e.nextStep()
	return e, e.addHost("login1", false), func() string { return key.TOTP(e.clock.Now()) }
}

const (
	pamAuth    = "/api/v1/pam/authenticate"
	pamAccount = "/api/v1/pam/account"
)

// TestPAMEndpoints runs the answers of both PAM endpoints and their
// refusals of bad requests.
func TestPAMEndpoints(t *testing.T) {
	e, token, _ := pamEnv(t, setup{})
	tests := []struct {
		name, path, token, body string
		header                  map[string]string
		status                  int
		result                  string // or, with a 4xx, that the answer is an {"error"}
	}{
		{name: "no token", path: pamAuth, body: pamBody("plain", ""), status: 401},
		{name: "wrong token", path: pamAuth, token: "x" + token[1:], body: pamBody("plain", ""), status: 401},
		{name: "token of another scheme", path: pamAuth, header: map[string]string{"Authorization": "Basic " + token}, body: pamBody("plain", ""), status: 401},
		{name: "scheme in lower case", path: pamAuth, header: map[string]string{"Authorization": "bearer " + token}, body: pamBody("plain", ""), status: 200, result: "no_second_factor"},
		{name: "unknown user", path: pamAuth, token: token, body: pamBody("nobody", "123456"), status: 200, result: "no_second_factor"},
		{name: "no second factor", path: pamAuth, token: token, body: pamBody("plain", ""), status: 200, result: "no_second_factor"},
		{name: "disabled", path: pamAuth, token: token, body: pamBody("off", "123456"), status: 401, result: "denied"},
		{name: "no code", path: pamAuth, token: token, body: pamBody("alice", ""), status: 401, result: "code_required"},
		{name: "wrong code", path: pamAuth, token: token, body: pamBody("alice", "000000"), status: 401, result: "code_wrong"},
		{name: "password from a host that may not", path: pamAuth, token: token, body: pamPasswordBody("plain", testPassword, ""), status: 400},
		{name: "user too long", path: pamAuth, token: token, body: pamBody(strings.Repeat("a", mfa.MaxNameLength+1), ""), status: 400},
		{name: "code too long", path: pamAuth, token: token, body: pamBody("alice", strings.Repeat("1", 33)), status: 400},
		{name: "rhost too long", path: pamAuth, token: token, body: `{"user":"alice","rhost":"` + strings.Repeat("h", 256) + `"}`, status: 400},
		{name: "NUL in the user", path: pamAuth, token: token, body: `{"user":"alice\u0000x"}`, status: 400},
		{name: "NUL in the code", path: pamAuth, token: token, body: `{"user":"alice","code":"123456\u0000"}`, status: 400},
		{name: "NUL in the password", path: pamAuth, token: token, body: `{"user":"alice","password":"a\u0000"}`, status: 400},
		{name: "control character in the service", path: pamAuth, token: token, body: `{"user":"alice","service":"ssh\nd"}`, status: 400},
		{name: "not UTF-8", path: pamAuth, token: token, body: "{\"user\":\"al\xffce\"}", status: 400},
		{name: "no user", path: pamAuth, token: token, body: `{"code":"123456"}`, status: 400},
		{name: "unknown field", path: pamAuth, token: token, body: `{"user":"alice","otp":"1"}`, status: 400},
		{name: "a megabyte", path: pamAuth, token: token, body: `{"user":"alice","code":"` + strings.Repeat("1", 1<<20) + `"}`, status: 413},
		{name: "form post", path: pamAuth, token: token, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "user=alice", status: 415},

		{name: "account: no token", path: pamAccount, body: `{"user":"alice"}`, status: 401},
		{name: "account: enabled", path: pamAccount, token: token, body: `{"user":"alice","service":"sshd","rhost":"203.0.113.5"}`, status: 200, result: "ok"},
		{name: "account: no second factor", path: pamAccount, token: token, body: `{"user":"plain"}`, status: 200, result: "ok"},
		{name: "account: disabled", path: pamAccount, token: token, body: `{"user":"off"}`, status: 200, result: "denied"},
		{name: "account: unknown", path: pamAccount, token: token, body: `{"user":"nobody"}`, status: 200, result: "denied"},
		{name: "account: NUL", path: pamAccount, token: token, body: `{"user":"off\u0000"}`, status: 400},
		{name: "account: a code", path: pamAccount, token: token, body: `{"user":"alice","code":"123456"}`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			r := e.do(http.DefaultClient, req)
			result, errText := pamAnswer(t, r)
			if r.status != tc.status || result != tc.result || (tc.result == "") != (errText != "") {
				t.Errorf("POST %s = %d %s, want %d with result %q or else an error", tc.path, r.status, r.body, tc.status, tc.result)
			}
			if r.status == 401 && tc.result == "" && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("POST %s = 401 without WWW-Authenticate", tc.path)
			}
		})
	}
	r := e.pam(pamAuth, "x"+token[1:], pamBody("alice", ""))
	if strings.Contains(r.body, "alice") || strings.Contains(r.body, "code") {
		t.Errorf("answer to an unknown token = %s, want nothing of the request", r.body)
	}
	if got := e.get(http.DefaultClient, pamAuth); got.status/100 != 4 {
		t.Errorf("GET %s = %d, want 4xx", pamAuth, got.status)
	}
}

// TestPAMRequireSecondFactor: with -require-totp, a user without a second
// factor, known or not, is denied and told to set one up.
func TestPAMRequireSecondFactor(t *testing.T) {
	e, token, code := pamEnv(t, setup{mopts: mfa.Options{RequireSecondFactor: true}})
	for _, tc := range []struct {
		user, code string
		status     int
		result     string
	}{{"plain", "", 401, "denied"}, {"nobody", "123456", 401, "denied"}, {"alice", code(), 200, "ok"}} {
		r := e.pam(pamAuth, token, pamBody(tc.user, tc.code))
		var v api.PAMResponse
		json.Unmarshal([]byte(r.body), &v)
		if r.status != tc.status || v.Result != tc.result || (tc.result == "denied" && !strings.Contains(v.Message, "set up TOTP")) {
			t.Errorf("%s with a second factor required = %d %s, want %d %s", tc.user, r.status, r.body, tc.status, tc.result)
		}
	}
}

// TestPAMCodeAcrossAPIs: a code accepted over PAM is refused over PAM and
// by the JSON API afterwards, and one the JSON API accepted is refused over
// PAM.
func TestPAMCodeAcrossAPIs(t *testing.T) {
	e, token, code := pamEnv(t, setup{})
	verify := func(otpCode string) resp {
		return e.postJSON(http.DefaultClient, "/api/v1/verify", `{"username":"alice","password":"`+testPassword+`","otp":"`+otpCode+`"}`)
	}
	c := code()
	steps := []struct {
		name   string
		do     func() resp
		status int
		result string
	}{
		{"PAM, right code", func() resp { return e.pam(pamAuth, token, pamBody("alice", c)) }, 200, "ok"},
		{"PAM, replayed", func() resp { return e.pam(pamAuth, token, pamBody("alice", c)) }, 401, "code_wrong"},
		{"JSON API, the code PAM used", func() resp { return verify(c) }, 401, "code_wrong"},
		{"JSON API, next step", func() resp { e.nextStep(); c = code(); return verify(c) }, 200, "ok"},
		{"PAM, the code the JSON API used", func() resp { return e.pam(pamAuth, token, pamBody("alice", c)) }, 401, "code_wrong"},
		{"PAM, next step", func() resp { e.nextStep(); return e.pam(pamAuth, token, pamBody("alice", code())) }, 200, "ok"},
	}
	for _, st := range steps {
		r := st.do()
		var v struct{ Result, Outcome string }
		json.Unmarshal([]byte(r.body), &v)
		if got := v.Result + v.Outcome; r.status != st.status || got != st.result {
			t.Errorf("%s = %d %s, want %d %s", st.name, r.status, r.body, st.status, st.result)
		}
	}
	// The access line names the user, the host, the service and the
	// client; never the code or the token.
	logs := e.logs.String()
	var line string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "path="+pamAuth) && strings.Contains(l, "status=200") {
			line = l
			break
		}
	}
	for _, want := range []string{"user=alice", "host=login1", "service=sshd", "client_addr=203.0.113.5"} {
		if !strings.Contains(line, want) {
			t.Errorf("access line %q lacks %s", line, want)
		}
	}
	if strings.Contains(logs, token) || regexp.MustCompile(`[= "]`+c+`[ "\n]`).MatchString(logs) {
		t.Errorf("the log holds the host token or a code:\n%s", logs)
	}
}

// TestPAMThrottled: wrong codes over PAM spend the user's code budget
// (three free, then 5 minutes) and are answered 429 with retry_after.
func TestPAMThrottled(t *testing.T) {
	e, token, code := pamEnv(t, setup{mopts: mfa.Options{Throttles: mfa.Throttles{Code: mfa.DefaultThrottles.Code}}})
	for i := range 3 {
		if r := e.pam(pamAuth, token, pamBody("alice", "000000")); r.status != 401 {
			t.Fatalf("wrong code %d = %d %s, want 401", i+1, r.status, r.body)
		}
	}
	r := e.pam(pamAuth, token, pamBody("alice", code()))
	var v api.PAMResponse
	json.Unmarshal([]byte(r.body), &v)
	if r.status != 429 || v.Result != "throttled" || v.RetryAfter != 300 || r.header.Get("Retry-After") != "300" || v.Message == "" {
		t.Errorf("right code after 3 wrong = %d %s (Retry-After %q), want 429 throttled for 300 s", r.status, r.body, r.header.Get("Retry-After"))
	}
	// The second login step shares the budget.
	if r := e.postJSON(http.DefaultClient, "/api/v1/verify", `{"username":"alice","password":"`+testPassword+`","otp":"`+code()+`"}`); r.status != 429 {
		t.Errorf("JSON API after 3 wrong codes over PAM = %d %s, want 429", r.status, r.body)
	}
}

// downDirectory is a first factor that cannot be asked.
type downDirectory struct{}

func (downDirectory) Name() string { return "ldap" }
func (downDirectory) Authenticate(context.Context, string, string) (mfa.Identity, error) {
	return mfa.Identity{}, errors.New("connection refused")
}
func (downDirectory) Lookup(context.Context, string) (mfa.Identity, error) {
	return mfa.Identity{}, errors.New("connection refused")
}

// TestPAMPassword: a host registered with --allow-password has passwords
// checked with the site's first factors; a source down is 503.
func TestPAMPassword(t *testing.T) {
	e, _, code := pamEnv(t, setup{firstFactors: []mfa.FirstFactor{mfa.LocalPasswords, downDirectory{}}})
	token := e.addHost("jupyter", true)
	tests := []struct {
		name, body string
		status     int
		result     string
	}{
		{"right password, no second factor", pamPasswordBody("plain", testPassword, ""), 200, "no_second_factor"},
		{"wrong password", pamPasswordBody("plain", "wrong password", ""), 401, "denied"},
		{"empty password", pamPasswordBody("plain", "", ""), 401, "denied"},
		{"right password, no code", pamPasswordBody("alice", testPassword, ""), 401, "code_required"},
		{"right password and code", pamPasswordBody("alice", testPassword, code()), 200, "ok"},
		{"wrong password, right code", pamPasswordBody("alice", "wrong password", code()), 401, "denied"},
		{"without a password: the stack checked it", pamBody("plain", ""), 200, "no_second_factor"},
		{"a name the directory down might know", pamPasswordBody("nobody", testPassword, ""), 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.pam(pamAuth, token, tc.body)
			result, errText := pamAnswer(t, r)
			if r.status != tc.status || result != tc.result || (tc.result == "") != (errText != "") {
				t.Errorf("POST %s = %d %s, want %d %q", pamAuth, r.status, r.body, tc.status, tc.result)
			}
			if r.status == 503 && r.header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}
	if strings.Contains(e.logs.String(), testPassword) {
		t.Errorf("the log holds the password")
	}
	// With a directory down, the account of a local user is still ok.
	if r := e.pam(pamAccount, token, `{"user":"alice"}`); r.status != 200 || !strings.Contains(r.body, `"ok"`) {
		t.Errorf("account of a local user with the directory down = %d %s, want ok", r.status, r.body)
	}
}

// TestPAMTokenNothingElse: a host token adds nothing anywhere else: every
// other endpoint answers a request with it as one without it.
func TestPAMTokenNothingElse(t *testing.T) {
	e, token, _ := pamEnv(t, setup{})
	tests := []struct{ method, path, body string }{
		{"POST", "/api/v1/verify", `{"username":"alice","password":"wrong password"}`},
		{"POST", "/api/v1/verify", `{"username":"alice"}`},
		{"POST", "/api/v1/enrol", `{"username":"alice","password":"wrong password"}`},
		{"GET", "/settings", ""},
		{"GET", "/settings/security", ""},
		{"GET", "/auth/nginx", ""},
		{"GET", "/auth/redirect", ""},
		{"GET", "/", ""},
		{"GET", "/api/v1/hosts", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var got [2]resp
			for i, tok := range []string{"", token} {
				req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				got[i] = e.do(e.client(), req)
			}
			if got[0].status != got[1].status || got[0].location != got[1].location || got[0].body != got[1].body {
				t.Errorf("%s %s with a host token = %d %q, without = %d %q: want the same", tc.method, tc.path,
					got[1].status, got[1].location, got[0].status, got[0].location)
			}
			if got[1].status == 200 && tc.path != "/" {
				t.Errorf("%s %s with a host token = 200, want a refusal", tc.method, tc.path)
			}
		})
	}
}

// TestPAMFileUser: a user whose second factor is a google-authenticator
// file the server reads (-user-file) is checked over PAM with the file's
// rules, and its codes are used once across PAM and the JSON API.
func TestPAMFileUser(t *testing.T) {
	e, dir, _ := fileEnv(t, setup{})
	e.addUser("filer")
	e.addUser("nofile")
	writeStateFile(t, dir, "filer", stateFile, 0o600)
	token := e.addHost("login1", false)
	now := e.clock.Now()
	steps := []struct {
		name, body string
		status     int
		result     string
	}{
		{"no code", pamBody("filer", ""), 401, "code_required"},
		{"file code", pamBody("filer", fileKey.TOTP(now)), 200, "ok"},
		{"file code replayed", pamBody("filer", fileKey.TOTP(now)), 401, "code_wrong"},
		{"scratch code", pamBody("filer", "11111111"), 200, "ok"},
		{"scratch code again", pamBody("filer", "11111111"), 401, "code_wrong"},
		{"no file", pamBody("nofile", "123456"), 200, "no_second_factor"},
	}
	for _, st := range steps {
		r := e.pam(pamAuth, token, st.body)
		if result, _ := pamAnswer(t, r); r.status != st.status || result != st.result {
			t.Errorf("%s = %d %s, want %d %s", st.name, r.status, r.body, st.status, st.result)
		}
	}
	// The JSON API sees the code PAM used as used.
	if r := e.postJSON(http.DefaultClient, "/api/v1/verify", `{"username":"filer","password":"`+testPassword+`","otp":"`+fileKey.TOTP(now)+`"}`); r.status != 401 {
		t.Errorf("JSON API with the file code PAM used = %d %s, want 401", r.status, r.body)
	}
	e.nextStep()
	// Signed in, with a word on the wrong code above (the scratch code
	// used twice).
	if r := e.post(e.client(), "/login", url.Values{"username": {"filer"}, "password": {testPassword}, "otp": {fileKey.TOTP(e.clock.Now())}}); r.status != 200 ||
		!strings.Contains(r.body, "1 wrong verification code was entered") {
		t.Fatalf("sign-in with the next file code = %d\n%s", r.status, r.body)
	}
	if r := e.pam(pamAuth, token, pamBody("filer", fileKey.TOTP(e.clock.Now()))); r.status != 401 {
		t.Errorf("PAM with the file code the sign-in used = %d %s, want 401", r.status, r.body)
	}
}

// TestPAMConcurrentReplay: of 20 concurrent PAM requests with one code,
// exactly one passes.
func TestPAMConcurrentReplay(t *testing.T) {
	e, token, code := pamEnv(t, setup{})
	body := pamBody("alice", code())
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() { statuses[i] = e.pam(pamAuth, token, body).status })
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		} else if s != 401 {
			t.Errorf("a concurrent request = %d, want 200 or 401", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent requests with one code passed, want 1 (%v)", ok, len(statuses), fmt.Sprint(statuses))
	}
}
