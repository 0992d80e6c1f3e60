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
)

var eventNames = [...]string{"", "second factor added", "second factor removed", "recovery codes renewed",
	"recovery code used", "password changed"}

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
}

// notify hands e to the Events hook, if any.
func (s *Service) notify(ctx context.Context, e Event) {
	if s.events != nil {
		s.events(ctx, e)
	}
	s.audit(ctx, AuditEntry{User: e.User.Name, Addr: e.Addr, Action: e.Kind.String(), Result: "ok"})
}
