package mfa

import "context"

// EventKind names a change to an account's factors that its owner should
// hear of.
type EventKind int

// The kinds of Event.
const (
	EventFactorAdded EventKind = iota + 1
	EventFactorRemoved
	EventRecoveryCodesRenewed
	EventRecoveryCodeUsed
	EventPasswordChanged
	// EventFactorReset: an administrator removed the second factor.
	EventFactorReset
	// EventCodeFailures: wrong codes were given after the right password
	// (Event.Count of them since the last sign-in): someone else may know
	// the password.
	EventCodeFailures
	// EventRecoveryCodesLow: few recovery codes are left (Event.Count).
	EventRecoveryCodesLow
)

var eventNames = [...]string{"", "second factor added", "second factor removed", "recovery codes renewed",
	"recovery code used", "password changed", "second factor reset", "wrong codes after the right password",
	"few recovery codes left"}

// String names the kind as logged.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown event"
}

// Event is one change to an account's factors, given to Deps.Events when it
// has happened.
type Event struct {
	Kind EventKind
	User User
	// Addr is the client's address, when known.
	Addr string
	// Count is, for EventCodeFailures, how many wrong codes; for
	// EventRecoveryCodeUsed and EventRecoveryCodesLow, how many codes are
	// left.
	Count int
}

// notify hands e to the Events hook, if any.
func (s *Service) notify(ctx context.Context, e Event) {
	if s.events != nil {
		s.events(ctx, e)
	}
	if e.Kind == EventFactorReset || e.Kind == EventCodeFailures {
		return // recorded as the action and the sign-ins they are
	}
	s.audit(ctx, AuditEntry{User: e.User.Name, Addr: e.Addr, Action: e.Kind.String(), Result: "ok"})
}
