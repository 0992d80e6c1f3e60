package metrics

import (
	"context"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// Store returns s with the latency of its calls on the sign-in, session
// and audit paths observed (otpgate_store_seconds{op}); the other calls
// pass through untimed. A store that also keeps the OpenID Connect
// provider's state (oidcstate.Store) still does once wrapped.
func (m *Metrics) Store(s mfa.Store) mfa.Store {
	t := &timedStore{Store: s, m: m}
	if o, ok := s.(oidcstate.Store); ok {
		return &timedOIDCStore{timedStore: t, Store: o}
	}
	return t
}

type timedStore struct {
	mfa.Store
	m *Metrics
}

// timedOIDCStore passes the OpenID Connect provider's calls through.
type timedOIDCStore struct {
	*timedStore
	oidcstate.Store
}

func (t *timedStore) since(op string, start time.Time) { t.m.ObserveStore(op, time.Since(start)) }

func (t *timedStore) User(ctx context.Context, id int64) (mfa.User, error) {
	defer t.since("user", time.Now())
	return t.Store.User(ctx, id)
}

func (t *timedStore) UserByName(ctx context.Context, name string) (mfa.User, error) {
	defer t.since("user_by_name", time.Now())
	return t.Store.UserByName(ctx, name)
}

func (t *timedStore) Authenticators(ctx context.Context, userID int64) ([]mfa.Authenticator, error) {
	defer t.since("authenticators", time.Now())
	return t.Store.Authenticators(ctx, userID)
}

func (t *timedStore) UseStep(ctx context.Context, userID int64, id string, step uint64, now time.Time) error {
	defer t.since("use_step", time.Now())
	return t.Store.UseStep(ctx, userID, id, step, now)
}

func (t *timedStore) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	defer t.since("use_recovery_code", time.Now())
	return t.Store.UseRecoveryCode(ctx, userID, hash, now)
}

func (t *timedStore) CreateSession(ctx context.Context, s mfa.Session) error {
	defer t.since("create_session", time.Now())
	return t.Store.CreateSession(ctx, s)
}

func (t *timedStore) Session(ctx context.Context, tokenHash []byte) (mfa.Session, error) {
	defer t.since("session", time.Now())
	return t.Store.Session(ctx, tokenHash)
}

func (t *timedStore) TouchSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	defer t.since("touch_session", time.Now())
	return t.Store.TouchSession(ctx, tokenHash, now)
}

func (t *timedStore) Attempt(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (time.Duration, error) {
	defer t.since("throttle_attempt", time.Now())
	return t.Store.Attempt(ctx, key, p, now)
}

func (t *timedStore) ThrottleState(ctx context.Context, key string, p mfa.ThrottlePolicy, now time.Time) (int, time.Duration, error) {
	defer t.since("throttle_state", time.Now())
	return t.Store.ThrottleState(ctx, key, p, now)
}

func (t *timedStore) AppendAudit(ctx context.Context, entries []mfa.AuditEntry) error {
	defer t.since("append_audit", time.Now())
	return t.Store.AppendAudit(ctx, entries)
}

// Ping passes the health check on to the store, when it has one.
func (t *timedStore) Ping(ctx context.Context) error {
	p, ok := t.Store.(interface{ Ping(context.Context) error })
	if !ok {
		return nil
	}
	return p.Ping(ctx)
}
