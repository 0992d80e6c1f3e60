package mfa

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// GroupCoverage is how many members of a group have a second factor.
type GroupCoverage struct {
	Group string
	// Members counts the group's enabled users; Enrolled, those of them
	// with a second factor: a confirmed authenticator in the store or,
	// when users' files are configured (Deps.Files), a file a sign-in can
	// use (FileUsable); FromFile, those of Enrolled whose second factor
	// is their file.
	Members, Enrolled, FromFile int
}

// CoverageStore counts a group's enrolment.
type CoverageStore interface {
	// GroupCoverage counts the enabled users in group and those of them
	// with a confirmed authenticator.
	GroupCoverage(ctx context.Context, group string) (GroupCoverage, error)
	// GroupUnenrolled returns the names of the enabled users in group
	// without a confirmed authenticator, sorted.
	GroupUnenrolled(ctx context.Context, group string) ([]string, error)
}

// coverageWorkers is how many users' files are looked at at once.
const coverageWorkers = 8

// coverageTimeout bounds one count, which goes on when the caller that
// began it gives up (a scrape's timeout), so that the next caller finds
// it done.
const coverageTimeout = 5 * time.Minute

// staleWait is how long a caller that has an older count of every group
// it asks for waits for a new count before it takes the older one; a
// count older than coverageKeep is forgotten.
const (
	staleWait    = 2 * time.Second
	coverageKeep = time.Hour
)

// coverageCache keeps each group's count for Options.CoverageTTL; of
// concurrent callers missing the same groups, one counts.
type coverageCache struct {
	mu      sync.Mutex
	byGroup map[string]countedCoverage
	flight  singleflight.Group
}

type countedCoverage struct {
	c  GroupCoverage
	at time.Time
}

// Coverage returns the enrolment coverage of each group, counted at most
// Options.CoverageTTL ago. With users' files, the store gives each group's
// members without a confirmed authenticator, and only their files are
// looked at (coverageWorkers at a time; a user in several groups once).
// A count that takes long (many account look-ups) goes on in the
// background: a caller that has an older count of every group waits
// staleWait for the new one, then takes the older.
func (s *Service) Coverage(ctx context.Context, groups []string) ([]GroupCoverage, error) {
	now := s.now()
	out := make([]GroupCoverage, len(groups))
	var missing []string
	older := true
	s.coverage.mu.Lock()
	for i, g := range groups {
		e, ok := s.coverage.byGroup[g]
		ok = ok && !now.Before(e.at)
		if ok {
			out[i] = e.c
		}
		if !ok || now.Sub(e.at) >= s.opts.CoverageTTL {
			missing = append(missing, g)
			older = older && ok && now.Sub(e.at) < coverageKeep
		}
	}
	s.coverage.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	ch := s.coverage.flight.DoChan(strings.Join(missing, ","), func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), coverageTimeout)
		defer cancel()
		return s.countCoverage(cctx, missing, now)
	})
	var wait <-chan time.Time
	if older {
		t := time.NewTimer(staleWait)
		defer t.Stop()
		wait = t.C
	}
	var counted map[string]GroupCoverage
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		counted = r.Val.(map[string]GroupCoverage)
	case <-wait:
		return out, nil
	case <-ctx.Done():
		if older {
			return out, nil
		}
		return nil, ctx.Err()
	}
	for i, g := range groups {
		if c, ok := counted[g]; ok {
			out[i] = c
		}
	}
	return out, nil
}

// countCoverage counts the groups and keeps the counts, stamped now.
func (s *Service) countCoverage(ctx context.Context, groups []string, now time.Time) (map[string]GroupCoverage, error) {
	out := make(map[string]GroupCoverage, len(groups))
	usable := map[string]bool{}
	for _, g := range groups {
		c, err := s.store.GroupCoverage(ctx, g)
		if err != nil {
			return nil, err
		}
		if s.files != nil && c.Enrolled < c.Members {
			names, err := s.store.GroupUnenrolled(ctx, g)
			if err != nil {
				return nil, err
			}
			if err := s.lookAtFiles(ctx, names, usable); err != nil {
				return nil, err
			}
			for _, n := range names {
				if usable[n] {
					c.FromFile++
				}
			}
			// The two reads may see a user enrol in between.
			c.Enrolled = min(c.Enrolled+c.FromFile, c.Members)
		}
		out[g] = c
	}
	s.coverage.mu.Lock()
	defer s.coverage.mu.Unlock()
	if s.coverage.byGroup == nil {
		s.coverage.byGroup = map[string]countedCoverage{}
	}
	for g, e := range s.coverage.byGroup {
		if now.Sub(e.at) >= coverageKeep || now.Before(e.at) {
			delete(s.coverage.byGroup, g)
		}
	}
	for g, c := range out {
		s.coverage.byGroup[g] = countedCoverage{c: c, at: now}
	}
	return out, nil
}

// lookAtFiles records in usable whether each user of names not in it yet
// has a file a sign-in can use, coverageWorkers files at a time.
func (s *Service) lookAtFiles(ctx context.Context, names []string, usable map[string]bool) error {
	var todo []string
	for _, n := range names {
		if _, ok := usable[n]; !ok {
			todo = append(todo, n)
		}
	}
	found := make([]bool, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(coverageWorkers, len(todo)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(todo) || ctx.Err() != nil {
					return
				}
				found[i] = s.files.CheckFile(ctx, todo[i]) == FileUsable
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, n := range todo {
		usable[n] = found[i]
	}
	return nil
}
