package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/api"
)

// FuzzSafeNext checks the redirect-target rule: the answer is the fallback
// or a path on this site that no browser reads as another host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/settings", "//evil.example", "/\\evil", "https://evil.example", "/a?b=c#d", "/%2F%2Fevil", "", "javascript:x", "/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got := safeNext(target, "/fallback")
		if got == "/fallback" {
			return
		}
		if got != target {
			t.Fatalf("safeNext(%q) = %q, want the target or the fallback", target, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("safeNext(%q) = %q, not a local path", target, got)
		}
		base, _ := url.Parse("https://mfa.example.org/login")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not parse: %v", target, got, err)
		}
		if u := base.ResolveReference(ref); u.Host != "mfa.example.org" {
			t.Fatalf("safeNext(%q) = %q resolves to host %q", target, got, u.Host)
		}
	})
}

// FuzzDecodeVerify feeds arbitrary bodies to the JSON decoder of the API:
// an error with a 4xx status, or a value that encodes the same fields.
func FuzzDecodeVerify(f *testing.F) {
	for _, s := range []string{`{"username":"bob","password":"x","otp":"123456"}`, `{}`, `[]`, `{"a":1}`, `{"username":"bob"} x`, "{\"username\":\"\xff\"}", `{"username":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/verify", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		_, err := decodeJSON[api.VerifyRequest](w, r, maxAPIBody)
		if err == nil {
			return
		}
		de, ok := err.(errDecode)
		if !ok || de.status < 400 || de.status > 499 {
			t.Fatalf("decodeJSON(%q) = %v, want a 4xx errDecode", body, err)
		}
		if len(body) > 8 && strings.Contains(de.msg, body) {
			t.Fatalf("decodeJSON(%q) error quotes the body: %q", body, de.msg)
		}
	})
}

// FuzzParseForm feeds arbitrary bodies to the form reader of the pages:
// an error with a 4xx status, or fields that are valid UTF-8 within limits.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"username=bob&password=x", "a=%zz", "username=" + strings.Repeat("a", 70), "otp=%ff", "x=1&x=2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		err := parseForm(httptest.NewRecorder(), r, fieldLimits)
		if err != nil {
			if bf, ok := err.(errBadForm); !ok || bf.status < 400 || bf.status > 499 {
				t.Fatalf("parseForm(%q) = %v, want a 4xx errBadForm", body, err)
			}
			return
		}
		for k, vs := range r.PostForm {
			if len(vs) != 1 {
				t.Fatalf("parseForm(%q): field %q has %d values", body, k, len(vs))
			}
			if n, ok := fieldLimits[k]; ok && len(vs[0]) > n {
				t.Fatalf("parseForm(%q): field %q longer than %d", body, k, n)
			}
		}
	})
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies("127.0.0.1, 10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{opts: Options{TrustedProxies: proxies}}
	tests := []struct {
		name, remote, xff, xrealip, want string
	}{
		{"v4", "192.0.2.7:1234", "", "", "192.0.2.7"},
		{"v6 /64", "[2001:db8:1:2:3:4:5:6]:443", "", "", "2001:db8:1:2::/64"},
		{"mapped", "[::ffff:192.0.2.7]:80", "", "", "192.0.2.7"},
		{"garbage", "garbage", "", "", "garbage"},
		{"untrusted peer: XFF ignored", "192.0.2.7:1", "198.51.100.1", "198.51.100.2", "192.0.2.7"},
		{"trusted peer: XFF", "127.0.0.1:1", "198.51.100.1", "", "198.51.100.1"},
		{"trusted peer: rightmost untrusted", "127.0.0.1:1", "203.0.113.9, 198.51.100.1, 10.1.2.3", "", "198.51.100.1"},
		{"trusted peer: XFF v6", "[::1]:1", "2001:db8::1", "", "2001:db8::/64"},
		{"trusted peer: malformed XFF", "127.0.0.1:1", "198.51.100.1, bogus", "", "127.0.0.1"},
		{"trusted peer: all trusted", "127.0.0.1:1", "10.0.0.1", "", "127.0.0.1"},
		{"trusted peer: X-Real-IP", "127.0.0.1:1", "", "198.51.100.3", "198.51.100.3"},
		{"trusted peer: bad X-Real-IP", "127.0.0.1:1", "", "not-an-ip", "127.0.0.1"},
	}
	for _, tc := range tests {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.xrealip != "" {
			r.Header.Set("X-Real-IP", tc.xrealip)
		}
		if got := s.clientAddr(r); got != tc.want {
			t.Errorf("%s: clientAddr(%q, XFF %q, X-Real-IP %q) = %q, want %q", tc.name, tc.remote, tc.xff, tc.xrealip, got, tc.want)
		}
	}
	if _, err := ParseTrustedProxies("127.0.0.1,example.org"); err == nil {
		t.Errorf("ParseTrustedProxies(host name) = nil error, want refused")
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Errorf("ParseTrustedProxies(/33) = nil error, want refused")
	}
}

func TestGroups(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ABCD", "ABCD"},
		{"ABCDEFGHIJ", "ABCD EFGH IJ"},
	}
	for _, tc := range tests {
		if got := groups(tc.in); got != tc.want {
			t.Errorf("groups(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSessionToken feeds arbitrary Cookie header lines to the forward-auth
// cookie reader: a token comes out only as 1 to maxToken base64url
// characters that the header gives as the session cookie's value.
func FuzzSessionToken(f *testing.F) {
	for _, s := range []string{"otpgate_session=abc_-123", "a=1; otpgate_session=xyz", "otpgate_session=", "otpgate_session=\"abc\"",
		"otpgate_session=a b", "otpgate_session=" + strings.Repeat("a", 101), "x=1;otpgate_session=ok ;y", "otpgate_session=%41"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := &http.Request{Header: http.Header{"Cookie": {line1, line2}}}
		token, ok := sessionToken(httptest.NewRecorder(), r)
		if !ok {
			return
		}
		if token == "" || len(token) > maxToken || strings.Trim(token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Fatalf("sessionToken(%q, %q) = %q", line1, line2, token)
		}
		if !strings.Contains(line1+";"+line2, cookieName+"="+token) {
			t.Fatalf("sessionToken(%q, %q) = %q, which the header does not give", line1, line2, token)
		}
	})
}

// FuzzClientIP feeds arbitrary X-Forwarded-For and X-Real-IP values from a
// trusted proxy: the client is the peer or an untrusted address that one of
// the headers names.
func FuzzClientIP(f *testing.F) {
	f.Add("198.51.100.7", "")
	f.Add("203.0.113.1, 10.0.0.2, 127.0.0.1", "")
	f.Add("garbage, 127.0.0.1", "198.51.100.9")
	f.Add("::ffff:198.51.100.7", "2001:db8::1")
	proxies, _ := ParseTrustedProxies("127.0.0.1/32,10.0.0.0/8")
	s := &server{opts: Options{TrustedProxies: proxies}}
	peer := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, xff, realIP string) {
		r := &http.Request{RemoteAddr: "127.0.0.1:4000", Header: http.Header{}}
		if xff != "" {
			r.Header["X-Forwarded-For"] = []string{xff}
		}
		if realIP != "" {
			r.Header["X-Real-Ip"] = []string{realIP}
		}
		ip, ok := s.clientIP(r)
		if !ok || !ip.IsValid() {
			t.Fatalf("clientIP(%q, %q) = %v, %v; want an address", xff, realIP, ip, ok)
		}
		if ip == peer {
			return
		}
		if s.isTrusted(ip) || ip.Is4In6() {
			t.Fatalf("clientIP(%q, %q) = %v, a trusted or mapped address", xff, realIP, ip)
		}
		named := false
		for _, field := range append(strings.Split(xff, ","), realIP) {
			if a, err := netip.ParseAddr(strings.TrimSpace(field)); err == nil && a.Unmap() == ip {
				named = true
			}
		}
		if !named {
			t.Fatalf("clientIP(%q, %q) = %v, which neither header names", xff, realIP, ip)
		}
	})
}

// FuzzParseTrustedProxies: a setting is refused or read as masked, valid
// prefixes, one for each item.
func FuzzParseTrustedProxies(f *testing.F) {
	for _, s := range []string{"127.0.0.1/32,::1", "10.0.0.0/8, 192.168.1.7", "", ",,", "10.0.0.1/33", "example.org", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		ps, err := ParseTrustedProxies(list)
		if err != nil {
			return
		}
		items := 0
		for item := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(item) != "" {
				items++
			}
		}
		if len(ps) != items {
			t.Fatalf("ParseTrustedProxies(%q) = %v, want %d prefixes", list, ps, items)
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("ParseTrustedProxies(%q) holds %v, not a valid masked prefix", list, p)
			}
		}
	})
}
