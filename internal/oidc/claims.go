package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
)

// The acr values (acr_values_supported): the REFEDS profiles of a sign-in
// with one factor (the password) and with two (password and a code), which
// research and education federations already know. A client asking
// acr_values=ACRSecondFactor gets no code without a second factor.
const (
	ACRPassword     = "https://refeds.org/profile/sfa"
	ACRSecondFactor = "https://refeds.org/profile/mfa"
)

// The amr values (RFC 8176).
const (
	amrPassword = "pwd"
	amrOTP      = "otp"
)

// scopeGroups asks for the groups claim.
const scopeGroups = "groups"

// amrOf is the amr of a session: the password, and the code when it passed
// one.
func amrOf(level mfa.Level) []string {
	if level == mfa.LevelFull {
		return []string{amrPassword, amrOTP}
	}
	return []string{amrPassword}
}

// acrOf is the acr of a sign-in with the methods amr.
func acrOf(amr []string) string {
	if slices.Contains(amr, amrOTP) {
		return ACRSecondFactor
	}
	return ACRPassword
}

// subject is the sub of a user: a keyed hash of the user's ID, in hex
// (128 bits). It is the same on every instance (the key derives from the
// secret key), stays when the user is renamed, and tells nothing of the
// name or of how many users there are.
func (p *Provider) subject(userID int64) string {
	h := hmac.New(sha256.New, p.subKey)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(userID)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// errInactive is a user who is gone or disabled: nothing more is issued
// or answered for it.
var errInactive = errors.New("user gone or disabled")

// activeUser returns the user of a grant when it may still be served.
func (p *Provider) activeUser(ctx context.Context, userID int64) (mfa.User, error) {
	u, err := p.svc.User(ctx, userID)
	if errors.Is(err, mfa.ErrNotFound) || err == nil && u.Disabled {
		return mfa.User{}, errInactive
	}
	return u, err
}

// setClaims fills info with the claims of u the scopes grant: sub always;
// profile: name and preferred_username; email: email and email_verified
// (false: otpgate does not check addresses); groups: groups.
func (p *Provider) setClaims(info *oidc.UserInfo, u mfa.User, scopes []string) {
	info.Subject = p.subject(u.ID)
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = u.Name
		info.Name = u.DisplayName
		if info.Name == "" {
			info.Name = u.Name
		}
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Mail != "" {
		info.Email = u.Mail
		// The library leaves a false email_verified out.
		info.AppendClaims("email_verified", false)
	}
	if slices.Contains(scopes, scopeGroups) {
		groups := u.Groups
		if groups == nil {
			groups = []string{}
		}
		info.AppendClaims("groups", groups)
	}
}

// SetUserinfoFromScopes is deprecated in the library; the claims come
// from SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the claims of an ID token: those of its
// scopes, the session's sid (for logout), and for a refreshed one the acr
// of the original sign-in.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	var userID int64
	var sid string
	switch r := req.(type) {
	case *authRequest:
		userID, sid = r.UserID, r.SessionID
	case *refreshRequest:
		userID, sid = r.UserID, r.SessionID
		info.AppendClaims("acr", acrOf(r.AMR))
	default:
		return fmt.Errorf("oidc: ID token for a request of type %T", req)
	}
	u, err := s.p.activeUser(ctx, userID)
	if err != nil {
		return err
	}
	s.p.setClaims(info, u, scopes)
	if sid != "" {
		info.AppendClaims("sid", sid)
	}
	return nil
}

// SetUserinfoFromToken answers userinfo for an access token that is
// still valid, with the claims its scopes grant.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, u, err := s.p.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	s.p.setClaims(info, u, t.Scopes)
	return nil
}

// SetIntrospectionFromToken answers introspection (RFC 7662) for an access
// token that is still valid, to its client or one of its audience.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, u, err := s.p.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if t.ClientID != clientID && !slices.Contains(t.Audience, clientID) {
		return errors.New("token of another client")
	}
	info := new(oidc.UserInfo)
	s.p.setClaims(info, u, t.Scopes)
	resp.SetUserInfo(info)
	resp.Scope = t.Scopes
	resp.ClientID = t.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.Expires)
	resp.Audience = t.Audience
	resp.Issuer = s.p.opts.Issuer
	return nil
}
