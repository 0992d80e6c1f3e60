package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/otpgate/otpgate/internal/mfa"
)

// SessionID is the sid of the browser session whose token has the hash
// tokenHash (mfa.HashToken): a keyed hash of it, so that the sid names the
// session on every instance and tells nothing of the token.
func (p *Provider) SessionID(tokenHash []byte) string {
	h := hmac.New(sha256.New, p.sidKey)
	h.Write(tokenHash)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// SessionsEnded is the service's hook (mfa.Deps.SessionEnded): for each
// session that ended, the tokens issued from it are revoked, and each
// application it signed in to that asked for back-channel logout is sent a
// logout token, in the background.
func (p *Provider) SessionsEnded(ctx context.Context, e mfa.SessionEnd) {
	ctx = context.WithoutCancel(ctx)
	var sessions map[string][]string
	if e.TokenHash != nil {
		sid := p.SessionID(e.TokenHash)
		clients, err := p.store.SessionClients(ctx, sid)
		if err != nil {
			p.log.ErrorContext(ctx, "oidc: sign-out: the session's applications", "err", err)
			return
		}
		sessions = map[string][]string{sid: clients}
	} else {
		var err error
		if sessions, err = p.store.UserSessionClients(ctx, e.UserID); err != nil {
			p.log.ErrorContext(ctx, "oidc: sign-out: the user's applications", "err", err)
			return
		}
	}
	sub := p.subject(e.UserID)
	for sid, clients := range sessions {
		if err := p.store.DeleteSessionGrants(ctx, sid); err != nil {
			p.log.ErrorContext(ctx, "oidc: sign-out: revoke the session's tokens", "err", err)
		}
		if err := p.store.DeleteSessionClients(ctx, sid); err != nil {
			p.log.ErrorContext(ctx, "oidc: sign-out: forget the session's applications", "err", err)
		}
		for _, id := range clients {
			c, err := p.store.OIDCClient(ctx, id)
			if err != nil || c.BackChannelLogoutURI == "" {
				continue
			}
			p.logouts.add(logoutJob{clientID: c.ID, uri: c.BackChannelLogoutURI, sub: sub, sid: sid})
		}
	}
}
