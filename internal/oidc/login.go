package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Browser is the browser's otpgate session as the sign-in pages know it.
type Browser struct {
	// UserID is the session's user; zero for no session.
	UserID int64
	// TokenHash is the mfa.HashToken of the session's cookie.
	TokenHash []byte
	// Level is how far the session signed in, SignedIn when
	// (mfa.Session.Created).
	Level    mfa.Level
	SignedIn time.Time
	// MustSetUp is a session that must set up a second factor before
	// anything else (mfa.Service.MaySetUp: the site or the user's group
	// requires one now).
	MustSetUp bool
}

// Need is what the sign-in pages must do before a request is answered.
type Need int

// The kinds of Need.
const (
	// NeedNothing: the request is answered; send the browser to
	// Step.RedirectURI, the application's, with the code or the error.
	NeedNothing Need = iota
	// NeedSignIn: the sign-in form, even over a session (prompt=login,
	// max_age, no full session), then back.
	NeedSignIn
	// NeedSetUp: the TOTP setup page, then back: the user has no second
	// factor and must have one (the client's, the acr_values', or the
	// site's).
	NeedSetUp
)

// Step is the answer of Resume.
type Step struct {
	Need        Need
	RedirectURI string
}

// ErrUnknownRequest is a sign-in page for a request that is unknown,
// expired or of a client removed since.
var ErrUnknownRequest = errors.New("oidc: unknown or expired authorization request")

// Resume goes on with authorization request id for a browser: what its
// session lacks (Step.Need), or the request's answer. A session that
// passed every check completes the request: the user, when and how the
// session signed in (auth_time, amr) and its sid are recorded, and the
// answer holds a new code. With prompt=none, what is lacking is answered
// to the application at once (login_required, interaction_required).
func (p *Provider) Resume(ctx context.Context, id string, b Browser) (Step, error) {
	ctx = p.withIssuer(ctx)
	r, err := p.authRequest(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return Step{}, ErrUnknownRequest
	}
	if err != nil {
		return Step{}, err
	}
	c, err := p.store.OIDCClient(ctx, r.ClientID)
	if errors.Is(err, mfa.ErrNotFound) {
		return Step{}, ErrUnknownRequest
	}
	if err != nil {
		return Step{}, err
	}
	now := p.now()
	full := b.UserID != 0 && b.Level.Full()
	// A sign-in after the request arrived meets prompt=login and any
	// max_age. Instances' clocks must agree better than the time a user
	// takes to type a password, or the form would come back.
	madeForIt := b.UserID != 0 && b.SignedIn.After(r.Created)
	tooOld := slices.Contains(r.Prompt, oidc.PromptLogin) || r.MaxAge >= 0 && now.Sub(b.SignedIn) > time.Duration(r.MaxAge)*time.Second
	need := NeedNothing
	switch {
	case b.UserID != 0 && b.MustSetUp:
		need = NeedSetUp
	case !full || tooOld && !madeForIt:
		need = NeedSignIn
	case needsSecondFactor(c, r) && b.Level != mfa.LevelFull:
		need = NeedSetUp
	}
	if need != NeedNothing {
		if !slices.Contains(r.Prompt, oidc.PromptNone) {
			return Step{Need: need}, nil
		}
		e := oidc.ErrLoginRequired().WithDescription("no usable session: the user must sign in")
		if need == NeedSetUp {
			e = oidc.ErrInteractionRequired().WithDescription("the user must set up a second factor")
		}
		p.auditClient(ctx, p.userName(ctx, b.UserID), r.ClientID, actionSignIn, resultRefused, "prompt=none: "+string(e.ErrorType))
		return p.refuse(ctx, r.ID, r.RedirectURI, r.State, e)
	}
	sid := p.SessionID(b.TokenHash)
	switch {
	case !r.Done():
		r.UserID, r.AuthTime, r.AMR, r.SessionID = b.UserID, b.SignedIn, amrOf(b.Level), sid
		if err := p.store.CompleteAuthRequest(ctx, r); err != nil {
			return Step{}, err
		}
	case r.UserID != b.UserID || r.SessionID != sid:
		// Completed by another session (its code speaks for it): this
		// browser must start again from the application.
		return Step{}, ErrUnknownRequest
	}
	// Completed by this session already (the page opened again): a new
	// code replaces the one issued.
	if err := p.store.AddSessionClient(ctx, r.SessionID, r.UserID, r.ClientID, now); err != nil {
		return Step{}, err
	}
	to, err := op.BuildAuthResponseCallbackURL(ctx, p.asOP(r), p.op)
	if err != nil {
		return Step{}, err
	}
	p.auditClient(ctx, p.userName(ctx, r.UserID), r.ClientID, actionSignIn, resultOK, "code issued, acr "+acrOf(r.AMR))
	return Step{RedirectURI: to}, nil
}

// refuse answers request id with the error e, at its redirect URI, and
// forgets it.
func (p *Provider) refuse(ctx context.Context, id, redirectURI, state string, e *oidc.Error) (Step, error) {
	e.State = state
	to, err := op.AuthResponseURL(redirectURI, oidc.ResponseTypeCode, "", e, p.op.Encoder())
	if err != nil {
		return Step{}, err
	}
	if err := p.store.DeleteAuthRequest(ctx, id); err != nil {
		return Step{}, err
	}
	return Step{RedirectURI: to}, nil
}
