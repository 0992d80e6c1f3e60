package oidcstate

import (
	"fmt"

	"github.com/otpgate/otpgate/internal/mfa"
)

// NextInFamily returns next as RotateRefreshToken stores it after cur: in
// cur's family, for cur's client, user and session. Those fields of next
// left zero are filled in from cur; set to others, they give
// mfa.ErrInvalid. It is for stores.
func NextInFamily(cur, next RefreshToken) (RefreshToken, error) {
	fill := func(what string, dst *string, v string) error {
		if *dst != "" && *dst != v {
			return fmt.Errorf("%w: the next refresh token names another %s than its family's", mfa.ErrInvalid, what)
		}
		*dst = v
		return nil
	}
	if err := fill("family", &next.Family, cur.Family); err != nil {
		return RefreshToken{}, err
	}
	if err := fill("client", &next.ClientID, cur.ClientID); err != nil {
		return RefreshToken{}, err
	}
	if err := fill("session", &next.SessionID, cur.SessionID); err != nil {
		return RefreshToken{}, err
	}
	if next.UserID != 0 && next.UserID != cur.UserID {
		return RefreshToken{}, fmt.Errorf("%w: the next refresh token names another user than its family's", mfa.ErrInvalid)
	}
	next.UserID = cur.UserID
	next.Used = false
	return next, nil
}
