package oidc

import (
	"context"
	"errors"
)

// Cleanup removes what has expired: authorization requests, tokens, the
// records of sessions older than any session lives, and signing keys no
// longer published (after retiring the replaced ones; see RotateKeys).
// The server runs it now and then.
func (p *Provider) Cleanup(ctx context.Context) error {
	now := p.now()
	return errors.Join(
		p.store.DeleteExpiredAuthRequests(ctx, now.Add(-p.opts.RequestTTL)),
		p.store.DeleteExpiredTokens(ctx, now),
		p.store.DeleteStaleSessionClients(ctx, now.Add(-p.opts.SessionMax)),
		p.keys.cleanupKeys(ctx, p.opts.TokenTTL))
}
