package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The relying parties the operator registers (otpgate client add, list,
// remove), and the checks of what they are registered with.

// ClientSpec is what the operator registers a client with.
type ClientSpec struct {
	// Name is the client_id: see ValidateClientName.
	Name string
	// RedirectURIs are the redirect_uri values accepted, at least one: see
	// ValidateRedirectURI.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the post_logout_redirect_uri values
	// accepted, under the rules of redirect URIs; none is allowed.
	PostLogoutRedirectURIs []string
	// BackChannelLogoutURI, if not empty, is sent logout tokens: see
	// ValidateBackChannelLogoutURI.
	BackChannelLogoutURI string
	// Public registers a client without a secret (a native or browser
	// app), which must use PKCE.
	Public bool
	// RequireSecondFactor refuses the client ID tokens of sign-ins without
	// a second factor.
	RequireSecondFactor bool
}

// SecretSize is the number of random bytes in a client secret; the
// secret is their unpadded base64url form (43 characters).
const SecretSize = 32

// MaxURILength is the longest URI a client is registered with, in bytes.
const MaxURILength = 2048

// MaxClientNameLength is the longest client name, in bytes.
const MaxClientNameLength = 64

// AddClient validates c and registers it at now. For a confidential client
// it returns the secret, made of SecretSize bytes from rand, which is shown
// this once: the store keeps its SHA-256 only. A public client gets no
// secret (""). Invalid input gives mfa.ErrInvalid and a name taken
// mfa.ErrConflict; either way nothing is stored.
func AddClient(ctx context.Context, store oidcstate.Store, c ClientSpec, rand io.Reader, now time.Time) (secret string, err error) {
	client, err := c.client(now)
	if err != nil {
		return "", err
	}
	if !c.Public {
		b := make([]byte, SecretSize)
		if _, err := io.ReadFull(rand, b); err != nil {
			return "", fmt.Errorf("oidc: client secret: %w", err)
		}
		secret = base64.RawURLEncoding.EncodeToString(b)
		client.SecretHash = hashSecret(secret)
	}
	if err := store.CreateOIDCClient(ctx, client); err != nil {
		return "", err
	}
	return secret, nil
}

// client checks c and returns the client it registers, without its
// secret.
func (c ClientSpec) client(now time.Time) (oidcstate.Client, error) {
	if err := ValidateClientName(c.Name); err != nil {
		return oidcstate.Client{}, err
	}
	if len(c.RedirectURIs) == 0 {
		return oidcstate.Client{}, fmt.Errorf("%w: client %s: at least one redirect URI", mfa.ErrInvalid, c.Name)
	}
	for _, u := range c.RedirectURIs {
		if err := ValidateRedirectURI(u, c.Public); err != nil {
			return oidcstate.Client{}, err
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := checkRedirect(u, c.Public, "post-logout redirect URI"); err != nil {
			return oidcstate.Client{}, err
		}
	}
	if c.BackChannelLogoutURI != "" {
		if err := ValidateBackChannelLogoutURI(c.BackChannelLogoutURI); err != nil {
			return oidcstate.Client{}, err
		}
	}
	return oidcstate.Client{ID: c.Name, RedirectURIs: unique(c.RedirectURIs), PostLogoutRedirectURIs: unique(c.PostLogoutRedirectURIs),
		BackChannelLogoutURI: c.BackChannelLogoutURI, Public: c.Public, RequireSecondFactor: c.RequireSecondFactor, Created: now}, nil
}

// unique returns l without repeats, in order; none gives nil.
func unique(l []string) []string {
	var out []string
	for _, s := range l {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ListClients returns every registered client, ordered by name.
func ListClients(ctx context.Context, store oidcstate.Store) ([]oidcstate.Client, error) {
	return store.OIDCClients(ctx)
}

// RemoveClient removes the client of that name with its requests, tokens
// and session links: its tokens stop working at once (mfa.ErrNotFound if
// there is no such client).
func RemoveClient(ctx context.Context, store oidcstate.Store, name string) error {
	return store.DeleteOIDCClient(ctx, name)
}

// hashSecret is what the store keeps of a client secret.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CheckClientSecret reports whether secret is c's, in time that does not
// depend on how much of it matches. A public client has no secret: false.
func CheckClientSecret(c oidcstate.Client, secret string) bool {
	if c.Public || len(c.SecretHash) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(hashSecret(secret), c.SecretHash) == 1
}

// ValidateClientName checks a client name (its client_id): 1 to
// MaxClientNameLength bytes of a-z, 0-9, '.', '_' and '-', starting with a
// letter or digit, as user names but for '@'.
func ValidateClientName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty client name", mfa.ErrInvalid)
	}
	if len(name) > MaxClientNameLength {
		return fmt.Errorf("%w: client name longer than %d bytes", mfa.ErrInvalid, MaxClientNameLength)
	}
	for i, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return fmt.Errorf("%w: client name may hold only a-z, 0-9, '.', '_' and '-', starting with a letter or digit", mfa.ErrInvalid)
		}
	}
	return nil
}

// loopbackHosts are the hosts a plain http URI may name (RFC 8252 §7.3, and
// localhost for the apps that insist).
var loopbackHosts = []string{"127.0.0.1", "::1", "localhost"}

// ValidateRedirectURI checks a redirect URI a client is registered with,
// which the provider compares exactly with the one a request names: an
// absolute URI of at most MaxURILength bytes of the characters RFC 3986
// allows, with no fragment (RFC 6749 §3.1.2) and no user information;
// https, or http on a loopback host (127.0.0.1, [::1], localhost; RFC 8252
// §7.3 and §8.3), or, for a public client only, a private-use scheme named
// by a reversed domain such as com.example.app (RFC 8252 §7.1), which
// leaves out javascript:, data: and the like.
func ValidateRedirectURI(raw string, public bool) error {
	return checkRedirect(raw, public, "redirect URI")
}

// checkRedirect is ValidateRedirectURI, what naming the URI in errors.
func checkRedirect(raw string, public bool, what string) error {
	u, err := checkURI(raw, what)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "https", "http":
		return checkWeb(u, raw, what)
	}
	if !public {
		return fmt.Errorf("%w: %s %s: only public clients (native apps) may use a scheme other than https, or http on a loopback host", mfa.ErrInvalid, what, quote(raw))
	}
	if !strings.Contains(u.Scheme, ".") {
		return fmt.Errorf("%w: %s %s: an app's own scheme is a reversed domain name such as com.example.app (RFC 8252 §7.1)", mfa.ErrInvalid, what, quote(raw))
	}
	return nil
}

// ValidateBackChannelLogoutURI checks the URI a client is sent logout
// tokens at: the rules of a web redirect URI (https, or http on a loopback
// host; no fragment, no user information).
func ValidateBackChannelLogoutURI(raw string) error {
	u, err := checkURI(raw, "back-channel logout URI")
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%w: back-channel logout URI %s: want https, or http on a loopback host", mfa.ErrInvalid, quote(raw))
	}
	return checkWeb(u, raw, "back-channel logout URI")
}

// checkURI checks what every registered URI must be and parses it.
func checkURI(raw, what string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty %s", mfa.ErrInvalid, what)
	}
	if len(raw) > MaxURILength {
		return nil, fmt.Errorf("%w: %s longer than %d bytes", mfa.ErrInvalid, what, MaxURILength)
	}
	for i, r := range raw {
		if !uriChar(r) {
			return nil, fmt.Errorf("%w: %s %s: character %q at byte %d is not allowed in a URI (RFC 3986; percent-encode it)", mfa.ErrInvalid, what, quote(raw), r, i)
		}
	}
	if strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%w: %s %s: no fragment (#) allowed", mfa.ErrInvalid, what, quote(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", mfa.ErrInvalid, what, quote(raw), unwrapURL(err))
	}
	if u.Scheme == "" || !strings.HasPrefix(raw, u.Scheme+":") {
		return nil, fmt.Errorf("%w: %s %s: want an absolute URI, its scheme in lower case (https://...)", mfa.ErrInvalid, what, quote(raw))
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("%w: %s %s: want scheme://host/path or scheme:/path", mfa.ErrInvalid, what, quote(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %s %s: no user information (user@) allowed", mfa.ErrInvalid, what, quote(raw))
	}
	// url.Parse decodes the host ("http://%6cocalhost/" names localhost):
	// the host checked must be the one written.
	if strings.Contains(authority(raw), "%") {
		return nil, fmt.Errorf("%w: %s %s: no percent-encoding in the host", mfa.ErrInvalid, what, quote(raw))
	}
	return u, nil
}

// authority returns the authority of an absolute URI (between "//" and the
// path, query or fragment), "" if it has none.
func authority(raw string) string {
	_, rest, _ := strings.Cut(raw, ":")
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// checkWeb checks the host of an http or https URI: any for https, a
// loopback one for http.
func checkWeb(u *url.URL, raw, what string) error {
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: %s %s: no host", mfa.ErrInvalid, what, quote(raw))
	}
	if u.Scheme == "http" && !slices.Contains(loopbackHosts, host) {
		return fmt.Errorf("%w: %s %s: http only on a loopback host (127.0.0.1, [::1], localhost); use https", mfa.ErrInvalid, what, quote(raw))
	}
	return nil
}

// uriChar reports whether r may appear in a URI (RFC 3986 §2: unreserved,
// reserved, and '%' of percent-encoding).
func uriChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-._~:/?#[]@!$&'()*+,;=%", r)
}

// unwrapURL drops the quoted URI that url.Parse's errors repeat.
func unwrapURL(err error) error {
	if e, ok := err.(*url.Error); ok {
		return e.Err
	}
	return err
}

// quote quotes a URI for a message, cut to 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}
