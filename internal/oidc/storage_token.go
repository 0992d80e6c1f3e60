package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// errNeedsSecondFactor refuses tokens for a sign-in without a second
// factor to a client that requires one; the sign-in pages never complete
// such a request, so this is the last line.
func errNeedsSecondFactor() *oidc.Error {
	return oidc.ErrInvalidGrant().WithDescription("this client requires a second factor")
}

// CreateAccessToken issues an access token for a redeemed code whose
// request did not ask for offline_access.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	r, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, fmt.Errorf("oidc: access token for a request of type %T", req)
	}
	if err := s.p.grantable(ctx, r.AuthRequest); err != nil {
		return "", time.Time{}, err
	}
	t, err := s.p.newAccessToken(ctx, r.ClientID, r.UserID, r.Scopes, grantFamily(r.ID), r.SessionID)
	if err != nil {
		return "", time.Time{}, err
	}
	s.p.auditClient(ctx, s.p.userName(ctx, r.UserID), r.ClientID, actionCode, resultOK, "code redeemed")
	return t.ID, t.Expires, nil
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token:
// the first of a family for a redeemed code with offline_access, the next
// of its family for a refresh (rotation). A refresh token used a second
// time revokes its family (oidcstate.ErrReused): someone else has a copy.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	p := s.p
	now := p.now()
	var next oidcstate.RefreshToken
	var scopes []string
	var err error
	switch r := req.(type) {
	case *authRequest:
		if err := p.grantable(ctx, r.AuthRequest); err != nil {
			return "", "", time.Time{}, err
		}
		next = oidcstate.RefreshToken{Family: grantFamily(r.ID), ClientID: r.ClientID, UserID: r.UserID, Scopes: r.Scopes,
			Audience: r.GetAudience(), AMR: r.AMR, AuthTime: r.AuthTime, SessionID: r.SessionID}
		scopes = r.Scopes
	case *refreshRequest:
		next = r.RefreshToken
		scopes = r.scopes
	default:
		return "", "", time.Time{}, fmt.Errorf("oidc: refresh token for a request of type %T", req)
	}
	token, err := newRandom(p.rand)
	if err != nil {
		return "", "", time.Time{}, err
	}
	sum := sha256.Sum256([]byte(token))
	next.Hash, next.Created, next.Expires, next.Used = sum[:], now, now.Add(p.opts.RefreshTTL), false
	user := p.userName(ctx, next.UserID)
	if current == "" {
		err = p.store.CreateRefreshToken(ctx, next)
	} else {
		old := sha256.Sum256([]byte(current))
		err = p.store.RotateRefreshToken(ctx, old[:], next, now)
		switch {
		case errors.Is(err, oidcstate.ErrReused):
			p.auditClient(ctx, user, next.ClientID, actionRefresh, resultRefused, "refresh token reused: its family revoked")
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used").WithParent(err)
		case errors.Is(err, mfa.ErrNotFound):
			p.auditClient(ctx, user, next.ClientID, actionRefresh, resultRefused, "refresh token expired or revoked")
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	t, err := p.newAccessToken(ctx, next.ClientID, next.UserID, scopes, next.Family, next.SessionID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current == "" {
		p.auditClient(ctx, user, next.ClientID, actionCode, resultOK, "code redeemed, with a refresh token")
	} else {
		p.auditClient(ctx, user, next.ClientID, actionRefresh, resultOK, "refresh token rotated")
	}
	return t.ID, token, t.Expires, nil
}

// grantable refuses tokens for a request of a user who is no longer
// active, or without a second factor for a client that requires one.
func (p *Provider) grantable(ctx context.Context, r oidcstate.AuthRequest) error {
	if _, err := p.activeUser(ctx, r.UserID); err != nil {
		return oidc.ErrInvalidGrant().WithParent(err)
	}
	c, err := p.store.OIDCClient(ctx, r.ClientID)
	if err != nil {
		return oidc.ErrInvalidGrant().WithParent(err)
	}
	if needsSecondFactor(c, r) && !slices.Contains(r.AMR, amrOTP) {
		return errNeedsSecondFactor()
	}
	return nil
}

// needsSecondFactor reports whether request r of client c may be granted
// only to a sign-in that passed a second factor.
func needsSecondFactor(c oidcstate.Client, r oidcstate.AuthRequest) bool {
	return c.RequireSecondFactor || slices.Contains(r.ACRValues, ACRSecondFactor)
}

// newAccessToken stores a new access token; its ID is sealed in the token
// the client holds (see tokenCrypto).
func (p *Provider) newAccessToken(ctx context.Context, clientID string, userID int64, scopes []string, family, sid string) (oidcstate.AccessToken, error) {
	id, err := newRandom(p.rand)
	if err != nil {
		return oidcstate.AccessToken{}, err
	}
	t := oidcstate.AccessToken{ID: id, ClientID: clientID, UserID: userID, Scopes: slices.Clone(scopes), Audience: []string{clientID},
		RefreshFamily: family, SessionID: sid, Expires: p.now().Add(p.opts.TokenTTL)}
	return t, p.store.CreateAccessToken(ctx, t)
}

// accessToken returns a valid access token of that ID and subject with its
// user: not expired, not revoked, its user still active.
func (p *Provider) accessToken(ctx context.Context, id, subject string) (oidcstate.AccessToken, mfa.User, error) {
	if !validID(id) {
		return oidcstate.AccessToken{}, mfa.User{}, errors.New("not an access token")
	}
	t, err := p.store.AccessToken(ctx, id, p.now())
	if err != nil {
		return t, mfa.User{}, err
	}
	if p.subject(t.UserID) != subject {
		return oidcstate.AccessToken{}, mfa.User{}, errors.New("access token of another subject")
	}
	u, err := p.activeUser(ctx, t.UserID)
	return t, u, err
}

// TokenRequestByRefreshToken returns the grant of a refresh token that
// may be exchanged. One already exchanged is a copy in someone else's
// hands: its whole family is revoked, and the refresh refused.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	p := s.p
	f := tokenFormFrom(ctx)
	if !validID(token) {
		p.auditClient(ctx, "", f.clientID, actionRefresh, resultRefused, "unknown refresh token")
		return nil, errors.New("not a refresh token")
	}
	sum := sha256.Sum256([]byte(token))
	t, err := p.store.RefreshToken(ctx, sum[:])
	if errors.Is(err, mfa.ErrNotFound) {
		p.auditClient(ctx, "", f.clientID, actionRefresh, resultRefused, "unknown or revoked refresh token")
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	user := p.userName(ctx, t.UserID)
	switch {
	case t.Used:
		if err := p.store.DeleteRefreshFamily(ctx, t.Family); err != nil {
			return nil, err
		}
		p.auditClient(ctx, user, t.ClientID, actionRefresh, resultRefused, "refresh token reused: its family revoked")
		return nil, oidcstate.ErrReused
	case !p.now().Before(t.Expires):
		p.auditClient(ctx, user, t.ClientID, actionRefresh, resultRefused, "refresh token expired")
		return nil, errors.New("refresh token expired")
	}
	if _, err := p.activeUser(ctx, t.UserID); err != nil {
		if derr := p.store.DeleteRefreshFamily(ctx, t.Family); derr != nil {
			return nil, derr
		}
		p.auditClient(ctx, user, t.ClientID, actionRefresh, resultRefused, "user gone or disabled")
		return nil, err
	}
	return &refreshRequest{RefreshToken: t, sub: p.subject(t.UserID), scopes: slices.Clone(t.Scopes)}, nil
}

// GetRefreshTokenInfo tells revocation whether token is one of the
// client's refresh tokens; the token itself serves as its ID.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !validID(token) {
		return "", "", op.ErrInvalidRefreshToken
	}
	sum := sha256.Sum256([]byte(token))
	t, err := s.p.store.RefreshToken(ctx, sum[:])
	if errors.Is(err, mfa.ErrNotFound) || err == nil && t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return s.p.subject(t.UserID), token, nil
}

// RevokeToken revokes a refresh token (its family, with the access tokens
// issued with it) or an access token, of the client that asks; anything
// else is no error (RFC 7009 §2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	p := s.p
	if !validID(tokenOrID) {
		return nil
	}
	sum := sha256.Sum256([]byte(tokenOrID))
	rt, err := p.store.RefreshToken(ctx, sum[:])
	switch {
	case err == nil && rt.ClientID == clientID:
		if err := p.store.DeleteRefreshFamily(ctx, rt.Family); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		p.auditClient(ctx, p.userName(ctx, rt.UserID), clientID, actionRevoke, resultOK, "refresh token revoked")
		return nil
	case err != nil && !errors.Is(err, mfa.ErrNotFound):
		return oidc.ErrServerError().WithParent(err)
	}
	at, err := p.store.AccessToken(ctx, tokenOrID, p.now())
	switch {
	case errors.Is(err, mfa.ErrNotFound) || err == nil && at.ClientID != clientID:
		return nil
	case err != nil:
		return oidc.ErrServerError().WithParent(err)
	}
	if err := p.store.DeleteAccessToken(ctx, at.ID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	p.auditClient(ctx, p.userName(ctx, at.UserID), clientID, actionRevoke, resultOK, "access token revoked")
	return nil
}
