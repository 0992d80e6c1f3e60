package web_test

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/web"
	"github.com/otpgate/otpgate/otp"
)

// TestSiteNameAndColorScheme: the header and title carry the site's name
// (the issuer, or -site-name), and pages declare both color schemes.
func TestSiteNameAndColorScheme(t *testing.T) {
	tests := []struct {
		name  string
		s     setup
		brand string
	}{
		{"issuer", setup{mopts: mfa.Options{Issuer: "CISM Nextcloud"}}, "CISM Nextcloud"},
		{"site name", setup{mopts: mfa.Options{Issuer: "CISM"}, opts: web.Options{SiteName: "CISM Nextcloud & Jupyter"}}, "CISM Nextcloud &amp; Jupyter"},
		{"default", setup{}, "otpgate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.s)
			r := e.get(e.client(), "/login")
			if !strings.Contains(r.body, "<title>Sign in · "+tc.brand+"</title>") || !strings.Contains(r.body, `<a class="brand" href="/">`+tc.brand+"</a>") {
				t.Errorf("login page lacks %q in title and header:\n%s", tc.brand, r.body)
			}
			if !strings.Contains(r.body, `<meta name="color-scheme" content="light dark">`) {
				t.Errorf("login page lacks the color-scheme meta")
			}
		})
	}
	css, err := os.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(css), "@media (prefers-color-scheme: dark)") || !strings.Contains(string(css), "color-scheme: light dark") {
		t.Errorf("style.css lacks the dark scheme")
	}
}

// TestSamePhoneSetup: the setup page links the key URI for an app on the
// same phone, and offers the key to copy; without JavaScript the copy
// buttons stay hidden and the key is there to select.
func TestSamePhoneSetup(t *testing.T) {
	e := newEnv(t, setup{mopts: mfa.Options{Issuer: "CISM Nextcloud"}})
	e.addUser("bob")
	c := e.client()
	e.login(c, "bob", "", "/settings")
	r := e.post(c, "/settings/security/totp", nil)
	key, _ := e.keyOf(r.body)
	m := regexp.MustCompile(`<a href="(otpauth://[^"]+)" id="open-app">Open in authenticator app</a>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no otpauth link:\n%s", r.body)
	}
	u, err := otp.ParseURI(html.UnescapeString(m[1]))
	if err != nil || string(u.Key.Secret) != string(key.Secret) || u.Issuer != "CISM Nextcloud" || u.Account != "bob" {
		t.Errorf("link %q = %+v, %v, want the page's key for CISM Nextcloud:bob", m[1], u, err)
	}
	if !strings.Contains(r.body, `data-copy-text="`+key.Secret.Base32()+`"`) || !strings.Contains(r.body, `data-copy="key" data-copied="Key copied" hidden>Copy key</button>`) {
		t.Errorf("no hidden copy button for the key:\n%s", r.body)
	}
	if !strings.Contains(r.body, "SHA-1, 6 digits, every 30 seconds") {
		t.Errorf("manual entry does not name the parameters")
	}
}

// TestNoInlineScript: the CSP allows scripts from our origin only, so no
// template holds an inline script or an event handler attribute.
func TestNoInlineScript(t *testing.T) {
	files, _ := filepath.Glob("templates/*.html")
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+=|javascript:`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := inline.FindIndex(b); loc != nil {
			t.Errorf("%s: inline script at %q", f, b[loc[0]:min(loc[1]+20, len(b))])
		}
	}
}
