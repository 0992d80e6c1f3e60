package userfile

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RateLimitWait implements mfa.FileRateWaiter: how long until the user's
// file's RATE_LIMIT ("RATE_LIMIT n seconds t1 t2 ...": at most n attempts
// in that many seconds) allows another attempt at now, counting the
// attempts it recorded; 0 when the file cannot be read or has no limit.
// Each attempt while it waits is recorded too, as the stock module does.
func (s *Source) RateLimitWait(ctx context.Context, name string, now time.Time) time.Duration {
	f, _, err := s.Read(ctx, name)
	if err != nil {
		return 0
	}
	v, ok := f.Option("RATE_LIMIT")
	if !ok {
		return 0
	}
	return rateLimitWait(v, now)
}

// rateLimitWait reads a RATE_LIMIT value: the next attempt passes once at
// most n-1 of the recorded attempts are within the interval before it.
func rateLimitWait(v string, now time.Time) time.Duration {
	fs := strings.Fields(v)
	if len(fs) < 2 {
		return 0
	}
	n, err1 := strconv.Atoi(fs[0])
	interval, err2 := strconv.ParseInt(fs[1], 10, 64)
	if err1 != nil || err2 != nil || n < 1 || interval < 1 {
		return 0
	}
	unix := now.Unix()
	var within []int64
	for _, f := range fs[2:] {
		t, err := strconv.ParseInt(f, 10, 64)
		if err == nil && t >= unix-interval && t <= unix {
			within = append(within, t)
		}
	}
	if len(within) < n {
		return 0
	}
	slices.Sort(within)
	// The oldest len-(n-1) must leave the window; the last of them
	// decides.
	t := within[len(within)-n]
	return time.Duration(t+interval-unix+1) * time.Second
}
