package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/access"
)

func redirectServer() *server {
	return &server{baseHost: "mfa.example.org", opts: Options{CookieDomain: "example.org"}}
}

func TestSafeRedirect(t *testing.T) {
	s := redirectServer()
	tests := []struct {
		target string
		ok     bool
	}{
		{"/settings", true},
		{"https://notebook.example.org/lab?x=1#y", true},
		{"http://notebook.example.org:8888/", true},
		{"https://example.org/", true},
		{"https://NoteBook.Example.ORG/", true},
		{"https://mfa.example.org/settings", true},
		{"https://a.b.example.org", true},
		{"https://evil.org/", false},
		{"https://example.org.evil.org/", false},
		{"https://evilexample.org/", false},
		{"https://notebook.example.org@evil.org/", false},
		{"https://user:pw@notebook.example.org/", false},
		{"javascript:alert(1)", false},
		{"ftp://notebook.example.org/", false},
		{"data:text/html,x", false},
		{"https:notebook.example.org", false},
		{"https:/notebook.example.org", false},
		{"https:\\\\evil.org", false},
		{"https://evil.org\\.example.org/", false},
		{"//evil.org/", false},
		{"/\\evil.org", false},
		{"https://notebook.example.org\t.evil.org/", false},
		{"https://note\nbook.example.org/", false},
		{"https://evil.org%2fx.example.org/", false},
		{"https://%65vil.org/", false},
		{"https://xn--80ak6aa92e.com/", false},
		{"https://bücher.example.org/", false},
		{"https://еxample.org/", false}, // Cyrillic е
		{"https://notebook.example.org./", false},
		{"https://[::1]/", false},
		{"https://notebook.example.org/" + strings.Repeat("a", maxRedirect), false},
		{" https://notebook.example.org/", false},
		{"", false},
	}
	for _, tc := range tests {
		got := s.safeRedirect(tc.target, "FALLBACK")
		if (got == tc.target) != tc.ok || (!tc.ok && got != "FALLBACK") {
			t.Errorf("safeRedirect(%q) = %q, want allowed %v", tc.target, got, tc.ok)
		}
	}
	// Under an https base URL, http is a downgrade, in any spelling.
	secure := &server{baseURL: "https://mfa.example.org", baseHost: "mfa.example.org", opts: Options{CookieDomain: "example.org"}}
	for target, ok := range map[string]bool{
		"https://notebook.example.org/": true, "https://mfa.example.org/settings": true, "/settings": true,
		"http://notebook.example.org/": false, "http://mfa.example.org/settings": false, "HTTP://notebook.example.org/": false,
		"Http://notebook.example.org:443/": false, "http://notebook.example.org:80/": false,
	} {
		if got := secure.safeRedirect(target, "FALLBACK"); (got == target) != ok || !ok && got != "FALLBACK" {
			t.Errorf("under an https base URL: safeRedirect(%q) = %q, want allowed %v", target, got, ok)
		}
	}
	hostOnly := &server{baseHost: "mfa.example.org"}
	for target, ok := range map[string]bool{"https://mfa.example.org/x": true, "https://notebook.example.org/": false} {
		if got := hostOnly.safeRedirect(target, ""); (got == target) != ok {
			t.Errorf("without a cookie domain: safeRedirect(%q) = %q, want allowed %v", target, got, ok)
		}
	}
}

// FuzzSafeRedirect checks that an accepted absolute target is an http(s)
// URL on an allowed host, as a browser would read it.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"https://notebook.example.org/lab", "https://evil.org", "https://a@b.example.org", "/x", "https:\\\\e", "http://[::1]:80/", "https://x.example.org:0/"} {
		f.Add(s)
	}
	s := redirectServer()
	f.Fuzz(func(t *testing.T, target string) {
		got := s.safeRedirect(target, "/fallback")
		if got == "/fallback" || strings.HasPrefix(got, "/") {
			return
		}
		u, err := url.Parse(got)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			t.Fatalf("safeRedirect(%q) = %q: not a plain http(s) URL", target, got)
		}
		h := strings.ToLower(u.Hostname()) // browsers read a host in any case
		if h != "example.org" && !strings.HasSuffix(h, ".example.org") {
			t.Fatalf("safeRedirect(%q) = %q: host %q not allowed", target, got, h)
		}
		for _, c := range []byte(got) {
			if c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("safeRedirect(%q) = %q: byte %#x", target, got, c)
			}
		}
	})
}

func TestOriginalURL(t *testing.T) {
	s := &server{}
	tests := []struct {
		name    string
		headers map[string]string
		host    string
		path    string
		url     string
		err     string
	}{
		{"original URL", map[string]string{"X-Original-URL": "https://NoteBook.example.org/lab/tree?x=1"},
			"notebook.example.org", "/lab/tree", "https://notebook.example.org/lab/tree?x=1", ""},
		{"original URL, port, no path", map[string]string{"X-Original-URL": "http://a.org:8080"}, "a.org", "/", "http://a.org:8080/", ""},
		{"forwarded", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/x/admin;a=1?q"},
			"a.org", "/x/admin;a=1", "https://a.org/x/admin;a=1?q", ""},
		{"forwarded, trailing dot, odd port", map[string]string{"X-Forwarded-Host": "A.Org.:018443", "X-Forwarded-Port": "8443"},
			"a.org", "/", "https://a.org/", ""},
		{"rd keeps the browser's port", map[string]string{"X-Original-URL": "https://a.org:8443/", "X-Forwarded-Port": "443"},
			"a.org", "/", "https://a.org:8443/", ""},
		{"forwarded, IPv6", map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "[::1]:8080"}, "[::1]", "/", "http://[::1]:8080/", ""},
		{"dot segments", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/x/../admin"}, "", "", "", "ambiguous path"},
		{"escaped dots", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/public/%2e%2e/admin"}, "", "", "", "ambiguous path"},
		{"double escape", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/priv%2561te"}, "", "", "", "ambiguous path"},
		{"two ports", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Port": "443, 8443"}, "", "", "", "X-Forwarded-Port"},
		{"port with zero", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Port": "0443"}, "", "", "", "X-Forwarded-Port"},
		{"host port not digits", map[string]string{"X-Forwarded-Host": "a.org:https"}, "", "", "", "forwarded host"},
		{"none", map[string]string{}, "", "", "", "no original URL"},
		{"bad scheme", map[string]string{"X-Original-URL": "javascript://a.org/"}, "", "", "", "not an absolute http"},
		{"bad proto", map[string]string{"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a.org"}, "", "", "", "want http or https"},
		{"userinfo", map[string]string{"X-Original-URL": "https://u@a.org/"}, "", "", "", "forwarded host"},
		{"host list", map[string]string{"X-Forwarded-Host": "a.org, b.org"}, "", "", "", "not printable ASCII"},
		{"host with slash", map[string]string{"X-Forwarded-Host": "a.org/x"}, "", "", "", "forwarded host"},
		{"unicode host", map[string]string{"X-Forwarded-Host": "bücher.org"}, "", "", "", "not printable ASCII"},
		{"underscore host", map[string]string{"X-Forwarded-Host": "a_b.org"}, "", "", "", "forwarded host"},
		{"relative URI", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "admin"}, "", "", "", "forwarded URI"},
		{"scheme-relative URI", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "//evil.org/"}, "", "", "", "forwarded URI"},
		{"bad escape", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/%zz"}, "", "", "", "bad %-escape"},
		{"escaped NUL", map[string]string{"X-Forwarded-Host": "a.org", "X-Forwarded-Uri": "/a%00b"}, "", "", "", "control character"},
		{"control", map[string]string{"X-Original-URL": "https://a.org/\x01"}, "", "", "", "not printable ASCII"},
		{"too long", map[string]string{"X-Original-URL": "https://a.org/" + strings.Repeat("a", maxForwardedURL)}, "", "", "", "too long"},
	}
	for _, tc := range tests {
		r := &http.Request{Header: http.Header{}}
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		got, err := s.originalURL(r, true, false)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: originalURL = %+v, %v, want error containing %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.host != tc.host || got.path.Exact != tc.path || got.url() != tc.url {
			t.Errorf("%s: originalURL = %+v, %v, want %q %q %q", tc.name, got, err, tc.host, tc.path, tc.url)
		}
	}
	r := &http.Request{Header: http.Header{"X-Original-Url": {"https://a.org/"}}}
	if _, err := s.originalURL(r, false, false); err != errNoTarget {
		t.Errorf("originalURL from an untrusted peer = %v, want errNoTarget", err)
	}
	// Caddy and Traefik set X-Forwarded-Host and pass a client's
	// X-Original-URL on: for them the forwarded headers win.
	r.Header.Set("X-Forwarded-Host", "b.org")
	for _, tc := range []struct {
		preferForwarded bool
		want            string
	}{{false, "a.org"}, {true, "b.org"}} {
		if got, err := s.originalURL(r, true, tc.preferForwarded); err != nil || got.host != tc.want {
			t.Errorf("originalURL(preferForwarded %v) = %+v, %v, want host %s", tc.preferForwarded, got, err, tc.want)
		}
	}
	r.Header.Del("X-Forwarded-Host")
	r.Header.Add("X-Original-Url", "https://b.org/")
	if _, err := s.originalURL(r, true, false); err == nil {
		t.Errorf("originalURL with two X-Original-URL = nil error, want refused")
	}
}

// FuzzOriginalURL checks that any forwarded headers give an error or a
// target with a valid host and a clean path, never a panic.
func FuzzOriginalURL(f *testing.F) {
	f.Add("https://a.org/x", "", "", "")
	f.Add("", "https", "a.org:8080", "/x/../y?z")
	f.Add("", "http", "[::1]", "/%2e%2e/")
	s := &server{}
	f.Fuzz(func(t *testing.T, original, proto, host, uri string) {
		r := &http.Request{Header: http.Header{}}
		for k, v := range map[string]string{"X-Original-Url": original, "X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		got, err := s.originalURL(r, true, false)
		if err != nil {
			return
		}
		if !validHostPort(got.host) || strings.HasSuffix(got.host, ".") || strings.ToLower(got.host) != got.host ||
			got.port != "" && !validPort(got.port) || !printableASCII(got.url()) {
			t.Fatalf("originalURL(%q, %q, %q, %q) = %+v", original, proto, host, uri, got)
		}
		if p, err := access.ParsePath(got.path.Exact); err != nil || p != got.path {
			t.Fatalf("originalURL(%q, %q, %q, %q) = %+v", original, proto, host, uri, got)
		}
	})
}
