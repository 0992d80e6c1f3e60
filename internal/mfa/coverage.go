package mfa

import "context"

// GroupCoverage is how many members of a group have a second factor.
type GroupCoverage struct {
	Group string
	// Members counts the group's enabled users; Enrolled, those of them
	// with a confirmed authenticator in the store (a user's file is not
	// counted: it is read at sign-in only).
	Members, Enrolled int
}

// CoverageStore counts a group's enrolment.
type CoverageStore interface {
	// GroupCoverage counts the enabled users in group and those of them
	// with a confirmed authenticator.
	GroupCoverage(ctx context.Context, group string) (GroupCoverage, error)
}

// Coverage returns the enrolment coverage of each group.
func (s *Service) Coverage(ctx context.Context, groups []string) ([]GroupCoverage, error) {
	out := make([]GroupCoverage, 0, len(groups))
	for _, g := range groups {
		c, err := s.store.GroupCoverage(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
