package mfa

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// Throttles are the limits a Service puts on failures. Each is a
// ThrottlePolicy on its own counters:
//
//   - Address counts wrong passwords (and unknown names, and missing or
//     unknown host tokens, see HostByToken) from one client address,
//     whatever the account: one address guessing at many accounts.
//     An IPv6 address counts by its /64, which one client usually holds.
//   - Account counts wrong passwords for one account name, from anywhere:
//     many addresses guessing at one account.
//   - Code counts wrong codes given after the right password, per user. It
//     is the budget of someone who knows the password; the owner's sign-ins
//     never reset it (a success takes back only its own attempt), so its
//     limit alone sets the odds of guessing a code (see the package
//     documentation).
//   - Reauth counts wrong passwords and codes typed in a signed-in session
//     (changing the password, confirming a lasting change), per user: only
//     someone with the user's session reaches it.
//
// While an address or account counter makes attempts wait, a sign-in is
// still checked when it carries the password and a code together, and is
// answered Throttled unless both are right: someone without the password
// learns nothing from it, and cannot keep a user with password and code
// out (see Service.Login).
type Throttles struct {
	Address ThrottlePolicy
	Account ThrottlePolicy
	Code    ThrottlePolicy
	Reauth  ThrottlePolicy
}

// DefaultThrottles are the limits of a Service whose Options leave them
// zero; the package documentation gives the odds they give.
var DefaultThrottles = Throttles{
	Address: ThrottlePolicy{Free: 20, Base: time.Second, Max: time.Hour, Forget: 24 * time.Hour},
	Account: ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Hour, Forget: 24 * time.Hour},
	Code:    ThrottlePolicy{Free: 3, Base: 5 * time.Minute, Max: 8 * time.Hour, Forget: 24 * time.Hour},
	Reauth:  ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Hour, Forget: 24 * time.Hour},
}

func (t *Throttles) setDefaults() {
	for _, p := range []struct{ p, def *ThrottlePolicy }{
		{&t.Address, &DefaultThrottles.Address}, {&t.Account, &DefaultThrottles.Account},
		{&t.Code, &DefaultThrottles.Code}, {&t.Reauth, &DefaultThrottles.Reauth},
	} {
		if *p.p == (ThrottlePolicy{}) {
			*p.p = *p.def
		}
	}
}

// unseenPolicy counts, per user, the wrong codes given after the right
// password since the user's last successful sign-in, to tell the user; it
// never makes anyone wait.
var unseenPolicy = ThrottlePolicy{Free: 1 << 30, Base: time.Second, Max: time.Second, Forget: 30 * 24 * time.Hour}

// counter is one throttle counter: a store key and its policy.
type counter struct {
	key    string
	policy ThrottlePolicy
}

// The store never sees a typed name or an address in clear: its keys are
// keyed hashes (Cipher.ThrottleKey), since people type passwords into the
// name field.
func (s *Service) addressCounter(kind, addr string) counter {
	return counter{s.cipher.ThrottleKey(kind, addressBucket(addr)), s.opts.Throttles.Address}
}

func (s *Service) accountCounter(name string) counter {
	return counter{s.cipher.ThrottleKey("account", name), s.opts.Throttles.Account}
}

func (s *Service) codeCounter(userID int64) counter {
	return counter{s.cipher.ThrottleKey("code", strconv.FormatInt(userID, 10)), s.opts.Throttles.Code}
}

func (s *Service) reauthCounter(userID int64) counter {
	return counter{s.cipher.ThrottleKey("reauth", strconv.FormatInt(userID, 10)), s.opts.Throttles.Reauth}
}

func (s *Service) unseenCounter(userID int64) counter {
	return counter{s.cipher.ThrottleKey("unseen", strconv.FormatInt(userID, 10)), unseenPolicy}
}

// passwordCounters are the counters a password attempt for name from addr
// counts on; without an address, the account's only.
func (s *Service) passwordCounters(name, addr string) []counter {
	cs := []counter{s.accountCounter(name)}
	if addr != "" {
		cs = append(cs, s.addressCounter("address", addr))
	}
	return cs
}

// addressBucket is what an address counts as: an IPv6 address by its /64
// (one client usually holds a whole /64), anything else as it is.
func addressBucket(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// wait returns how long the longest-waiting of cs makes an attempt wait,
// counting nothing. Checking before and counting after the password (see
// fail) means that attempts in flight are never counted as failures, so
// that right sign-ins are never refused because of other right ones; a
// burst of concurrent wrong ones can run past a limit by at most the hash
// queue's bound (Hasher) before the counts catch up.
func (s *Service) wait(ctx context.Context, cs []counter, now time.Time) (time.Duration, error) {
	var longest time.Duration
	for _, c := range cs {
		_, w, err := s.store.ThrottleState(ctx, c.key, c.policy, now)
		if err != nil {
			return 0, err
		}
		longest = max(longest, w)
	}
	return longest, nil
}

// fail counts one failure on each of cs.
func (s *Service) fail(ctx context.Context, cs []counter, now time.Time) error {
	for _, c := range cs {
		if _, err := s.store.Attempt(ctx, c.key, c.policy, now); err != nil {
			return err
		}
	}
	return nil
}

// staleAfter is how long a throttle row is kept after its last failure:
// the longest Forget of the policies, after which it counts nothing.
func (s *Service) staleAfter() time.Duration {
	t := s.opts.Throttles
	return max(t.Address.Forget, t.Account.Forget, t.Code.Forget, t.Reauth.Forget, unseenPolicy.Forget)
}
