package oidc

import (
	"context"
	"strings"
	"unicode"

	"github.com/otpgate/otpgate/internal/mfa"
)

// The actions of the provider's entries in the audit log, on the oidc
// path; their results are "ok" or "refused" (never a sign-in's refusal,
// so that fail2ban does not ban an application's server for its users).
const (
	actionSignIn  = "oidc sign-in"
	actionCode    = "oidc code"
	actionRefresh = "oidc refresh"
	actionClient  = "oidc client"
	actionRevoke  = "oidc revoke"
	actionLogout  = "oidc logout"

	resultOK      = "ok"
	resultRefused = "refused"
)

// auditClient records what the provider granted or refused to a client,
// for user (its name; empty when unknown). Nothing secret goes in: the
// client's ID (as sent, cut and cleaned) and the reason.
func (p *Provider) auditClient(ctx context.Context, user, clientID, action, result, reason string) {
	p.svc.Audit(ctx, mfa.AuditEntry{User: user, Path: mfa.PathOIDC, Action: action, Result: result,
		Reason: reason + ", client " + printable(clientID)})
}

// printable is s cut to 64 bytes with anything but printable ASCII
// replaced, for a client ID a client sent.
func printable(s string) string {
	if s == "" {
		return `""`
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// userName is the name of a user for the audit log; empty when unknown.
func (p *Provider) userName(ctx context.Context, userID int64) string {
	if userID == 0 {
		return ""
	}
	u, err := p.svc.User(ctx, userID)
	if err != nil {
		return ""
	}
	return u.Name
}
