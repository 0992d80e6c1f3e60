package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	regexpCodesText = regexp.MustCompile(`name="codes" value="([^"]+)"`)
	recoveryLineRe  = regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`)
)

// TestRecoveryPath: "Use a recovery code" at the second step is a text
// field (the code field stays numeric); after use the user is told how
// many are left, and warned at three or fewer, there and on the Security
// page; the codes can be downloaded as a text file, one a line.
func TestRecoveryPath(t *testing.T) {
	e := newEnv(t, setup{})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	_, codes := e.enroll(c)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}

	b := e.client()
	e.login(b, "bob", "", "/login/totp")
	r := e.get(b, "/login/totp?next=/settings")
	if !strings.Contains(r.body, `inputmode="numeric"`) || !strings.Contains(r.body, "Use a recovery code</a>") {
		t.Errorf("second step lacks the numeric field or the recovery link:\n%s", r.body)
	}
	r = e.get(b, "/login/recovery?next=/settings")
	if r.status != 200 || strings.Contains(r.body, `inputmode="numeric"`) || !strings.Contains(r.body, `id="recovery" name="code" type="text"`) {
		t.Errorf("recovery page = %d, want a text field without a numeric keyboard:\n%s", r.status, r.body)
	}
	if r := e.post(b, "/login/recovery", url.Values{"code": {"aaaa-bbbb-cccc-dddd"}}); r.status != 401 || !strings.Contains(r.body, "That recovery code is wrong or was already used") {
		t.Errorf("wrong recovery code = %d\n%s", r.status, r.body)
	}
	r = e.post(b, "/login/recovery", url.Values{"code": {strings.ToUpper(codes[0])}, "next": {"/settings"}, "tried": {"1"}})
	if body := html.UnescapeString(r.body); r.status != 200 || !strings.Contains(body, "You used a recovery code: 9 recovery codes are left.") || strings.Contains(body, "That is few") {
		t.Errorf("after a recovery code = %d, want 9 left\n%s", r.status, r.body)
	}
	if r := e.get(b, "/settings"); r.status != 200 {
		t.Errorf("signed in with a recovery code: GET /settings = %d", r.status)
	}
	// Six more, by the one form: the seventh leaves three, with a warning.
	for i := 1; i <= 6; i++ {
		r = e.post(e.client(), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "otp": {codes[i]}})
	}
	if body := html.UnescapeString(r.body); !strings.Contains(body, "3 recovery codes are left. That is few") {
		t.Errorf("after the seventh recovery code:\n%s", r.body)
	}
	if r := e.get(c, "/settings/security"); !strings.Contains(r.body, `id="recovery-few"`) || !strings.Contains(r.body, "Only 3 left") {
		t.Errorf("security page with 3 codes left lacks the warning:\n%s", r.body)
	}

	// Download: what the page showed, one code a line.
	r = e.post(c, "/settings/security/recovery", nil)
	m := regexpCodesText.FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(r.body, "Copy codes") || !strings.Contains(r.body, "Print codes") {
		t.Fatalf("new codes page lacks copy, print or download:\n%s", r.body)
	}
	d := e.post(c, "/settings/security/recovery/download", url.Values{"codes": {html.UnescapeString(m[1])}})
	lines := strings.Split(strings.TrimSpace(d.body), "\n")
	if d.status != 200 || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") || len(lines) != 13 {
		t.Fatalf("download = %d %q with %d lines\n%s", d.status, d.header.Get("Content-Disposition"), len(lines), d.body)
	}
	for _, l := range lines[3:] {
		if !recoveryLineRe.MatchString(l) {
			t.Errorf("download line %q is not one code", l)
		}
	}
	// Anything but codes is refused.
	if d := e.post(c, "/settings/security/recovery/download", url.Values{"codes": {"<script>alert(1)</script>"}}); d.status != 400 {
		t.Errorf("download of text that is no code = %d, want 400", d.status)
	}
	if d := e.post(e.client(), "/settings/security/recovery/download", url.Values{"codes": {codes[9]}}); d.status != 303 {
		t.Errorf("download without a session = %d, want 303 to sign in", d.status)
	}
}
