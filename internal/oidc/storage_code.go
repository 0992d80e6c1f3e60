package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// CreateAuthRequest stores a request the checks of authorize.go and the
// library have validated, under a new random ID.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	id, err := newRandom(s.p.rand)
	if err != nil {
		return nil, err
	}
	r := oidcstate.AuthRequest{ID: id, ClientID: req.ClientID, RedirectURI: req.RedirectURI, Scopes: slices.Clone(req.Scopes),
		State: req.State, Nonce: req.Nonce, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod), Prompt: slices.Clone(req.Prompt),
		MaxAge: -1, LoginHint: req.LoginHint, ACRValues: slices.Clone(req.ACRValues), Created: s.p.now()}
	if req.MaxAge != nil {
		r.MaxAge = int64(*req.MaxAge)
	}
	if err := s.p.store.CreateAuthRequest(ctx, r); err != nil {
		return nil, err
	}
	return &authRequest{AuthRequest: r}, nil
}

// AuthRequestByID returns a request that has not expired.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.p.authRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.p.asOP(r), nil
}

// authRequest returns the request of that ID, mfa.ErrNotFound when it
// is unknown or has waited longer than RequestTTL for its sign-in.
func (p *Provider) authRequest(ctx context.Context, id string) (oidcstate.AuthRequest, error) {
	if !validID(id) {
		return oidcstate.AuthRequest{}, fmt.Errorf("request ID: %w", mfa.ErrNotFound)
	}
	r, err := p.store.AuthRequest(ctx, id)
	if err != nil {
		return r, err
	}
	if p.now().Sub(r.Created) >= p.opts.RequestTTL {
		return oidcstate.AuthRequest{}, fmt.Errorf("request expired: %w", mfa.ErrNotFound)
	}
	return r, nil
}

// asOP gives r its user's sub, for the library.
func (p *Provider) asOP(r oidcstate.AuthRequest) *authRequest {
	ar := &authRequest{AuthRequest: r}
	if r.Done() {
		ar.sub = p.subject(r.UserID)
	}
	return ar
}

// SaveAuthCode records the hash of the code issued for request id, valid
// for CodeTTL.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	sum := sha256.Sum256([]byte(code))
	return s.p.store.SetAuthCode(ctx, id, sum[:], s.p.now().Add(s.p.opts.CodeTTL))
}

// AuthRequestByCode takes the request of a code out of the store, once:
// of two redemptions, on any instance, one gets it. The library checks the
// client, its secret and PKCE after this, so a code is spent by its first
// presentation, right or wrong. A code presented again (ours: it opens
// with the server's key) revokes what its first redemption issued
// (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	p := s.p
	f := tokenFormFrom(ctx)
	sum := sha256.Sum256([]byte(code))
	r, err := p.store.TakeAuthCode(ctx, sum[:], p.now())
	if errors.Is(err, mfa.ErrNotFound) {
		p.spentCode(ctx, code, f.clientID)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	user := p.userName(ctx, r.UserID)
	switch {
	case f.clientID != r.ClientID:
		p.auditClient(ctx, user, f.clientID, actionCode, resultRefused, "code of another client")
	case r.CodeChallenge != "" && !oidc.VerifyCodeChallenge(&oidc.CodeChallenge{Challenge: r.CodeChallenge,
		Method: oidc.CodeChallengeMethod(r.CodeChallengeMethod)}, f.verifier):
		p.auditClient(ctx, user, f.clientID, actionCode, resultRefused, "code_verifier wrong or missing")
	case r.CodeChallenge == "" && f.verifier != "":
		p.auditClient(ctx, user, f.clientID, actionCode, resultRefused, "code_verifier without a challenge")
	}
	return p.asOP(r), nil
}

// spentCode handles a code that is not redeemable: unknown, expired, or
// redeemed already. A code of ours names its request: whatever a
// redemption of it gave is revoked (none, if it was never redeemed). It
// is told reused while it would still be valid, expired after.
func (p *Provider) spentCode(ctx context.Context, code, clientID string) {
	id, made, ok := p.crypto.codeRequest(code)
	if !ok {
		return // not ours: anyone may send anything, and fill no log with it
	}
	if err := p.store.DeleteRefreshFamily(ctx, grantFamily(id)); err != nil {
		p.log.ErrorContext(ctx, "oidc: revoke the tokens of a spent code", "err", err)
	}
	// The code's request, if still there, has expired: it goes too.
	if err := p.store.DeleteAuthRequest(ctx, id); err != nil {
		p.log.ErrorContext(ctx, "oidc: delete the request of a spent code", "err", err)
	}
	if p.now().Before(made.Add(p.opts.CodeTTL)) {
		p.auditClient(ctx, "", clientID, actionCode, resultRefused, "code reused: its tokens revoked")
		return
	}
	p.auditClient(ctx, "", clientID, actionCode, resultRefused, "code expired")
}

// DeleteAuthRequest removes a request once its code is redeemed.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.p.store.DeleteAuthRequest(ctx, id)
}

// grantFamily is the family of the tokens issued for request id: its
// access tokens, and its refresh tokens, rotated or not.
func grantFamily(requestID string) string { return requestID }
