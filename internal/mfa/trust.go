package mfa

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxUserAgent is how much of a browser's User-Agent is kept.
const maxUserAgent = 256

// TrustEnabled reports whether the site lets users skip the code on a
// browser they trust (Options.TrustFor set).
func (s *Service) TrustEnabled() bool { return s.opts.TrustFor > 0 }

// TrustBrowser remembers the browser of a user who just passed the
// password and a second factor on the sign-in pages and asked not to be
// asked for a code there again: the returned token goes into a cookie;
// the store keeps its SHA-256. ErrInvalid when the site does not allow it.
func (s *Service) TrustBrowser(ctx context.Context, u User, userAgent, addr string) (string, error) {
	if !s.TrustEnabled() {
		return "", fmt.Errorf("%w: trusted browsers are off", ErrInvalid)
	}
	token, err := newToken(s.rand)
	if err != nil {
		return "", err
	}
	if len(userAgent) > maxUserAgent {
		userAgent = userAgent[:maxUserAgent]
	}
	if !utf8.ValidString(userAgent) {
		userAgent = ""
	}
	now := s.now()
	b := TrustedBrowser{TokenHash: HashToken(token), UserID: u.ID, Created: now, Expires: now.Add(s.opts.TrustFor), LastUsed: now,
		UserAgent: userAgent, Addr: addr}
	if err := s.store.CreateTrustedBrowser(ctx, b); err != nil {
		return "", err
	}
	return token, nil
}

// TrustedBrowserOf reports whether token is the cookie of a browser that
// u trusts, now: the site allows it, the token's hash is stored, for this
// user (another user's cookie is refused), and neither its expiry nor the
// site's current maximum since it was trusted has passed. A use is
// recorded with the client's address.
func (s *Service) TrustedBrowserOf(ctx context.Context, u User, token, addr string) (bool, error) {
	if !s.TrustEnabled() || token == "" || len(token) > 128 {
		return false, nil
	}
	h := HashToken(token)
	b, err := s.store.TrustedBrowser(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := s.now()
	if b.UserID != u.ID || !now.Before(b.Expires) || !now.Before(b.Created.Add(s.opts.TrustFor)) {
		return false, nil
	}
	if err := s.store.TouchTrustedBrowser(ctx, h, now, addr); err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, nil
}

// TrustedBrowsers lists the user's unexpired trusted browsers, newest
// first (see TrustedBrowserID to forget one).
func (s *Service) TrustedBrowsers(ctx context.Context, userID int64) ([]TrustedBrowser, error) {
	all, err := s.store.TrustedBrowsers(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var live []TrustedBrowser
	for _, b := range all {
		if now.Before(b.Expires) && now.Before(b.Created.Add(s.opts.TrustFor)) {
			live = append(live, b)
		}
	}
	return live, nil
}

// TrustedBrowserID is how pages name a trusted browser: the hex of its
// token's hash, which tells nothing of the cookie.
func TrustedBrowserID(b TrustedBrowser) string { return hex.EncodeToString(b.TokenHash) }

// ForgetTrustedBrowser forgets one of the user's trusted browsers by its
// ID (TrustedBrowserID); ErrNotFound when there is none.
func (s *Service) ForgetTrustedBrowser(ctx context.Context, userID int64, id string) error {
	h, err := hex.DecodeString(id)
	if err != nil || len(h) != 32 {
		return fmt.Errorf("trusted browser: %w", ErrNotFound)
	}
	return s.store.DeleteTrustedBrowser(ctx, userID, h)
}

// ForgetTrustedBrowsers forgets every trusted browser of the user: done
// too when the password changes, a second factor is removed or reset, or
// the user is disabled.
func (s *Service) ForgetTrustedBrowsers(ctx context.Context, userID int64) error {
	return s.store.DeleteTrustedBrowsers(ctx, userID)
}
