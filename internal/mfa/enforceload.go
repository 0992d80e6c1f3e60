package mfa

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// rulesInForce holds the enforcement rules a server applies: the file's
// and the store's, as read at a time.
type rulesInForce struct {
	mu  sync.Mutex
	cur atomic.Pointer[loadedRules]
	// changes counts the changes made here, so that a read begun before
	// one is not kept as fresh.
	changes atomic.Uint64
}

type loadedRules struct {
	rules *Enforcement
	at    time.Time
}

// enforcement returns the rules in force: the file's (Options.Enforce)
// followed by the store's, read again once the last read is
// Options.EnforceReload old (or the clock went back), so that a change
// made on another server on the same store applies here within that time.
// Of concurrent callers that find the rules old, one reads them and the
// others wait for it. A failed read fails the caller, as the store's
// other failures do.
func (s *Service) enforcement(ctx context.Context) (*Enforcement, error) {
	now := s.now()
	fresh := func() *Enforcement {
		l := s.enforced.cur.Load()
		if l == nil || now.Before(l.at) || now.Sub(l.at) >= s.opts.EnforceReload {
			return nil
		}
		return l.rules
	}
	if e := fresh(); e != nil {
		return e, nil
	}
	s.enforced.mu.Lock()
	defer s.enforced.mu.Unlock()
	if e := fresh(); e != nil {
		return e, nil
	}
	changes := s.enforced.changes.Load()
	recs, err := s.store.EnforceRules(ctx)
	if err != nil {
		return nil, err
	}
	stored := make([]EnforceRule, 0, len(recs))
	for _, r := range recs {
		rule, err := r.rule(s.opts.Location)
		if err != nil {
			return nil, err
		}
		stored = append(stored, rule)
	}
	e := s.opts.Enforce.with(stored)
	if s.enforced.changes.Load() == changes {
		s.enforced.cur.Store(&loadedRules{rules: e, at: now})
	}
	return e, nil
}

// rulesChanged makes the next decision read the rules again (a change
// made on this server).
func (s *Service) rulesChanged() {
	s.enforced.changes.Add(1)
	s.enforced.cur.Store(nil)
}

// Enforcement returns the rules in force now: the file's and those set on
// the admin pages.
func (s *Service) Enforcement(ctx context.Context) (*Enforcement, error) { return s.enforcement(ctx) }

// EnforcedCoverage returns the enrolment coverage of every group a rule in
// force names (for the admin pages and the metrics).
func (s *Service) EnforcedCoverage(ctx context.Context) ([]GroupCoverage, error) {
	e, err := s.enforcement(ctx)
	if err != nil {
		return nil, err
	}
	return s.Coverage(ctx, e.Groups())
}
