package oidc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/oidcstate"
	"github.com/otpgate/otpgate/internal/sqlite"
)

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// redirectCases are redirect URIs and whether a confidential and a public
// client may be registered with them; the fuzz target starts from them.
var redirectCases = []struct {
	uri                  string
	confidential, public bool
}{
	{"https://cloud.example.org/apps/user_oidc/code", true, true},
	{"https://hub.example.org:8443/hub/oauth_callback?x=1&y=%2F", true, true},
	{"https://App.Example.ORG/cb", true, true},
	{"https://[2001:db8::1]/cb", true, true},
	{"http://127.0.0.1/callback", true, true},
	{"http://127.0.0.1:49152/callback", true, true},
	{"http://[::1]:8080/cb", true, true},
	{"http://localhost:3000/auth/callback", true, true},
	{"com.example.app:/oauth2redirect/otpgate", false, true},
	{"org.example.notes://callback", false, true},

	{"", false, false},
	{"/callback", false, false},                                 // relative
	{"//cloud.example.org/cb", false, false},                    // scheme-relative
	{"cloud.example.org/cb", false, false},                      // no scheme
	{"https://cloud.example.org/cb#frag", false, false},         // fragment
	{"https://cloud.example.org/cb#", false, false},             // empty fragment
	{"https://user@cloud.example.org/cb", false, false},         // userinfo
	{"https://user:pw@cloud.example.org/cb", false, false},      // userinfo
	{"https://cloud.example.org@evil.example/cb", false, false}, // userinfo, a host in disguise
	{"http://cloud.example.org/cb", false, false},               // plain http off loopback
	{"http://127.0.0.2/cb", false, false},
	{"http://localhost.evil.example/cb", false, false},
	{"http://127.0.0.1.evil.example/cb", false, false},
	{"http://%6cocalhost/cb", false, false}, // an encoded host
	{"http://LOCALHOST/cb", false, false},
	{"HTTPS://cloud.example.org/cb", false, false}, // scheme not in lower case
	{"https:///cb", false, false},                  // no host
	{"https:/cb", false, false},
	{"https://:443/cb", false, false},
	{"https://cloud.example.org/c b", false, false},             // space
	{" https://cloud.example.org/cb", false, false},             // leading space
	{"https://cloud.example.org/cb\n", false, false},            // newline
	{"https://cloud.example.org\\@evil.example/", false, false}, // backslash
	{"https://clöud.example.org/cb", false, false},              // not ASCII: IDNs in punycode
	{"https://cloud.example.org/%zz", false, false},             // a bad escape
	{"javascript:/alert(1)", false, false},
	{"javascript://%0aalert(1)", false, false},
	{"data:/text/html,hi", false, false},
	{"file:///etc/passwd", false, false},
	{"myapp:/callback", false, false}, // a private scheme not named by a domain
	{"com.example.app:callback", false, false},
	{"https://cloud.example.org/" + strings.Repeat("a", oidc.MaxURILength-26), true, true},
	{"https://cloud.example.org/" + strings.Repeat("a", oidc.MaxURILength-25), false, false},
}

func TestValidateRedirectURI(t *testing.T) {
	for _, tc := range redirectCases {
		for _, public := range []bool{false, true} {
			want := tc.confidential
			if public {
				want = tc.public
			}
			err := oidc.ValidateRedirectURI(tc.uri, public)
			if (err == nil) != want {
				t.Errorf("ValidateRedirectURI(%q, public %v) = %v, want accepted %v", tc.uri, public, err, want)
			}
			if err != nil && !errors.Is(err, mfa.ErrInvalid) {
				t.Errorf("ValidateRedirectURI(%q) = %v, want mfa.ErrInvalid", tc.uri, err)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("ValidateRedirectURI(%.40q...) message is %d bytes long, want it short", tc.uri, len(err.Error()))
			}
		}
	}
}

func TestValidateBackChannelLogoutURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"https://cloud.example.org/apps/user_oidc/backchannel-logout/otpgate", true},
		{"http://127.0.0.1:8080/logout", true},
		{"http://cloud.example.org/logout", false},
		{"https://cloud.example.org/logout#x", false},
		{"https://u@cloud.example.org/logout", false},
		{"com.example.app:/logout", false},
		{"/logout", false},
		{"", false},
	} {
		if err := oidc.ValidateBackChannelLogoutURI(tc.uri); (err == nil) != tc.want || (err != nil && !errors.Is(err, mfa.ErrInvalid)) {
			t.Errorf("ValidateBackChannelLogoutURI(%q) = %v, want accepted %v", tc.uri, err, tc.want)
		}
	}
}

func TestValidateClientName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"nextcloud", true},
		{"jupyter-hub_2.prod", true},
		{"0day", true},
		{strings.Repeat("a", oidc.MaxClientNameLength), true},
		{strings.Repeat("a", oidc.MaxClientNameLength+1), false},
		{"", false},
		{"Nextcloud", false},
		{"-x", false},
		{".x", false},
		{"a b", false},
		{"a@b", false},
		{"a/b", false},
		{"ünd", false},
	} {
		if err := oidc.ValidateClientName(tc.name); (err == nil) != tc.want || (err != nil && !errors.Is(err, mfa.ErrInvalid)) {
			t.Errorf("ValidateClientName(%q) = %v, want accepted %v", tc.name, err, tc.want)
		}
	}
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAddClient registers a confidential and a public client, and checks
// what is stored: the secret's hash, never the secret.
func TestAddClient(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	spec := oidc.ClientSpec{Name: "nextcloud", RedirectURIs: []string{"https://cloud.example.org/code", "https://cloud.example.org/code"},
		PostLogoutRedirectURIs: []string{"https://cloud.example.org/"}, BackChannelLogoutURI: "https://cloud.example.org/bcl", RequireSecondFactor: true}
	secret, err := oidc.AddClient(ctx, s, spec, rand.Reader, t0)
	if err != nil {
		t.Fatalf("AddClient = %v", err)
	}
	if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != oidc.SecretSize {
		t.Errorf("secret %q decodes to %d bytes, %v; want %d bytes of base64url", secret, len(b), err, oidc.SecretSize)
	}
	c, err := s.OIDCClient(ctx, "nextcloud")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(secret))
	if !bytes.Equal(c.SecretHash, h[:]) || c.Public || !c.RequireSecondFactor || !c.Created.Equal(t0) ||
		!slices.Equal(c.RedirectURIs, []string{"https://cloud.example.org/code"}) || c.BackChannelLogoutURI != spec.BackChannelLogoutURI ||
		!slices.Equal(c.PostLogoutRedirectURIs, spec.PostLogoutRedirectURIs) {
		t.Errorf("stored client = %+v, want the spec, one redirect URI and the secret's SHA-256", c)
	}
	if !oidc.CheckClientSecret(c, secret) {
		t.Errorf("CheckClientSecret(the secret) = false")
	}
	for _, wrong := range []string{"", secret[:42], secret + "A", strings.ToUpper(secret), base64.RawURLEncoding.EncodeToString(h[:])} {
		if oidc.CheckClientSecret(c, wrong) {
			t.Errorf("CheckClientSecret(%q) = true", wrong)
		}
	}

	// Two clients never share a secret.
	other, err := oidc.AddClient(ctx, s, oidc.ClientSpec{Name: "grafana", RedirectURIs: []string{"https://grafana.example.org/login/generic_oauth"}}, rand.Reader, t0)
	if err != nil || other == secret {
		t.Errorf("AddClient(grafana) = %q, %v; want another secret", other, err)
	}

	pub, err := oidc.AddClient(ctx, s, oidc.ClientSpec{Name: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "com.example.cli:/cb"}}, rand.Reader, t0)
	if err != nil || pub != "" {
		t.Fatalf("AddClient(public) = %q, %v; want no secret", pub, err)
	}
	c, _ = s.OIDCClient(ctx, "cli")
	if !c.Public || c.SecretHash != nil || oidc.CheckClientSecret(c, "") {
		t.Errorf("public client = %+v, want no secret hash, no secret accepted", c)
	}

	list, err := oidc.ListClients(ctx, s)
	if err != nil || len(list) != 3 || list[0].ID != "cli" || list[2].ID != "nextcloud" {
		t.Errorf("ListClients = %+v, %v, want cli, grafana, nextcloud", list, err)
	}
	if err := oidc.RemoveClient(ctx, s, "grafana"); err != nil {
		t.Errorf("RemoveClient = %v", err)
	}
	if err := oidc.RemoveClient(ctx, s, "grafana"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("RemoveClient(again) = %v, want mfa.ErrNotFound", err)
	}
}

// TestAddClientRefused: each bad registration is refused with the kind
// that says why, and stores nothing.
func TestAddClientRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := oidc.AddClient(ctx, s, oidc.ClientSpec{Name: "taken", RedirectURIs: []string{"https://a.example.org/cb"}}, rand.Reader, t0); err != nil {
		t.Fatal(err)
	}
	good := []string{"https://app.example.org/cb"}
	for _, tc := range []struct {
		name string
		spec oidc.ClientSpec
		want error
	}{
		{"name taken", oidc.ClientSpec{Name: "taken", RedirectURIs: good}, mfa.ErrConflict},
		{"bad name", oidc.ClientSpec{Name: "App", RedirectURIs: good}, mfa.ErrInvalid},
		{"no redirect URI", oidc.ClientSpec{Name: "app"}, mfa.ErrInvalid},
		{"relative redirect URI", oidc.ClientSpec{Name: "app", RedirectURIs: []string{"https://app.example.org/cb", "/cb"}}, mfa.ErrInvalid},
		{"custom scheme, confidential", oidc.ClientSpec{Name: "app", RedirectURIs: []string{"com.example.app:/cb"}}, mfa.ErrInvalid},
		{"bad post-logout URI", oidc.ClientSpec{Name: "app", RedirectURIs: good, PostLogoutRedirectURIs: []string{"http://app.example.org/"}}, mfa.ErrInvalid},
		{"bad back-channel URI", oidc.ClientSpec{Name: "app", RedirectURIs: good, BackChannelLogoutURI: "https://app.example.org/bcl#x"}, mfa.ErrInvalid},
	} {
		secret, err := oidc.AddClient(ctx, s, tc.spec, rand.Reader, t0)
		if !errors.Is(err, tc.want) || secret != "" {
			t.Errorf("AddClient(%s) = %q, %v, want no secret and %v", tc.name, secret, err, tc.want)
		}
	}
	if list, _ := oidc.ListClients(ctx, s); len(list) != 1 {
		t.Errorf("clients after refused registrations = %d, want 1", len(list))
	}
	if _, err := s.OIDCClient(ctx, "app"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("OIDCClient(app) = %v, want nothing stored", err)
	}
	// A failing source of randomness stores nothing either.
	if _, err := oidc.AddClient(ctx, s, oidc.ClientSpec{Name: "app", RedirectURIs: good}, bytes.NewReader(make([]byte, 5)), t0); err == nil {
		t.Errorf("AddClient(5 random bytes) = nil error")
	}
	if _, err := s.OIDCClient(ctx, "app"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("OIDCClient(app) after a failed secret = %v, want nothing stored", err)
	}
}

// TestCheckClientSecretTampered: a stored hash of the wrong length accepts
// nothing, not even a secret whose hash it starts with.
func TestCheckClientSecretTampered(t *testing.T) {
	h := sha256.Sum256([]byte("s3cret"))
	for _, c := range []oidcstate.Client{
		{ID: "a", SecretHash: h[:16]},
		{ID: "b"},
		{ID: "c", SecretHash: h[:], Public: true},
	} {
		if oidc.CheckClientSecret(c, "s3cret") {
			t.Errorf("CheckClientSecret(%+v) = true", c)
		}
	}
}

// FuzzValidateRedirectURI: whatever the validator accepts is an absolute
// URI within the length, of printable ASCII, without fragment or user
// information, whose host is the one written, https, http on a loopback
// host, or (for a public client) a scheme named by a domain; what a
// confidential client may use, a public one may too.
func FuzzValidateRedirectURI(f *testing.F) {
	for _, tc := range redirectCases {
		f.Add(tc.uri, false)
		f.Add(tc.uri, true)
	}
	f.Fuzz(func(t *testing.T, raw string, public bool) {
		err := oidc.ValidateRedirectURI(raw, public)
		if err != nil {
			if !errors.Is(err, mfa.ErrInvalid) {
				t.Errorf("ValidateRedirectURI(%q) = %v, want mfa.ErrInvalid", raw, err)
			}
			return
		}
		if !public && oidc.ValidateRedirectURI(raw, true) != nil {
			t.Errorf("ValidateRedirectURI(%q): accepted for a confidential client, refused for a public one", raw)
		}
		u, perr := url.Parse(raw)
		if perr != nil || !u.IsAbs() || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") || len(raw) > oidc.MaxURILength {
			t.Fatalf("ValidateRedirectURI(%q) accepted: parsed %+v, %v", raw, u, perr)
		}
		for _, r := range raw {
			if r <= ' ' || r > '~' || r == '\\' {
				t.Fatalf("ValidateRedirectURI(%q) accepted the character %q", raw, r)
			}
		}
		switch u.Scheme {
		case "https":
			if u.Hostname() == "" {
				t.Errorf("ValidateRedirectURI(%q) accepted https without a host", raw)
			}
		case "http":
			if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
				t.Errorf("ValidateRedirectURI(%q) accepted http on host %q", raw, h)
			}
		default:
			if !public || !strings.Contains(u.Scheme, ".") {
				t.Errorf("ValidateRedirectURI(%q, public %v) accepted the scheme %q", raw, public, u.Scheme)
			}
		}
		if u.Host != "" && !strings.Contains(raw, "//"+u.Host) {
			t.Errorf("ValidateRedirectURI(%q) accepted a host written as something else than %q", raw, u.Host)
		}
	})
}
