package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpgate/otpgate/internal/mfa"
)

// logoutTicketTTL is how long the sign-out page takes a ticket.
const logoutTicketTTL = 10 * 60 // seconds

// logoutAD is the associated data of sealed tickets.
var logoutAD = []byte("otpgate oidc logout")

// endSession checks an end_session request (RP-Initiated Logout 1.0)
// before the library, which verifies the id_token_hint (a tampered or
// unknown one is refused) and that post_logout_redirect_uri is registered
// exactly for the client.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if !p.readParams(w, r) {
		return
	}
	if id := r.Form.Get("client_id"); id != "" {
		_, err := p.store.OIDCClient(r.Context(), id)
		if errors.Is(err, mfa.ErrNotFound) {
			op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("unknown client"), nil)
			return
		}
		if err != nil {
			op.RequestError(w, r, oidc.ErrServerError().WithParent(err), nil)
			return
		}
	}
	p.op.ServeHTTP(w, r)
}

// Logout is a validated end_session request, for the sign-in pages'
// sign-out (LogoutPath).
type Logout struct {
	// ClientID is the client that asked, when known.
	ClientID string `json:"c,omitempty"`
	// RedirectURI is where to send the browser once signed out: the
	// client's registered post_logout_redirect_uri with its state; empty
	// for nowhere.
	RedirectURI string `json:"u,omitempty"`
	// SessionID is the sid of a valid id_token_hint: when it is the
	// browser's session, the hint proves that the application asks, and
	// the sign-out needs no confirmation.
	SessionID string `json:"s,omitempty"`
	// Expires is when the ticket stops being taken, in Unix seconds.
	Expires int64 `json:"x"`
}

// TerminateSessionFromRequest ends nothing itself: the session is the
// browser's, which the sign-in pages know. It sends the browser there
// with the validated request sealed in a ticket, so that the page can
// trust what it carries.
func (s *storage) TerminateSessionFromRequest(_ context.Context, req *op.EndSessionRequest) (string, error) {
	p := s.p
	l := Logout{ClientID: req.ClientID, Expires: p.now().Unix() + logoutTicketTTL}
	// Without a registered post_logout_redirect_uri the library leaves a
	// relative "?state=..." here: that is nowhere to go.
	if u, err := url.Parse(req.RedirectURI); err == nil && u.IsAbs() {
		l.RedirectURI = req.RedirectURI
	}
	if c := req.IDTokenHintClaims; c != nil {
		if sid, ok := c.Claims["sid"].(string); ok {
			l.SessionID = sid
		}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	sealed, err := p.cipher.SealWith(b, logoutAD)
	if err != nil {
		return "", err
	}
	return p.opts.Issuer + LogoutPath + "?ticket=" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// ErrBadTicket is a sign-out ticket that is not one of ours or has
// expired.
var ErrBadTicket = errors.New("oidc: sign-out ticket invalid or expired")

// Logout opens a ticket made by the end_session endpoint.
func (p *Provider) Logout(ticket string) (Logout, error) {
	if len(ticket) > maxToken {
		return Logout{}, ErrBadTicket
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(ticket)
	if err != nil {
		return Logout{}, ErrBadTicket
	}
	plain, err := p.cipher.OpenWith(b, logoutAD)
	if err != nil {
		return Logout{}, ErrBadTicket
	}
	var l Logout
	if err := json.Unmarshal(plain, &l); err != nil {
		return Logout{}, fmt.Errorf("%w: %v", ErrBadTicket, err)
	}
	if p.now().Unix() >= l.Expires {
		return Logout{}, ErrBadTicket
	}
	return l, nil
}
