package web

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestSessionCacheBounds(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	c := newSessionCache(time.Second)
	c.max = 10
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte{byte(i)}) }
	full := newIdentity(1, "alice", "", nil, true)
	for i := range 25 {
		c.put(key(i), full, t0, t0.Add(time.Hour), 0)
		if len(c.m) > c.max {
			t.Fatalf("after %d puts the cache holds %d entries, want at most %d", i+1, len(c.m), c.max)
		}
	}
	if _, ok := c.get(key(24), t0); !ok {
		t.Errorf("the newest entry is missing")
	}
	// Expiry: the TTL, or the session's own end when sooner.
	c.put(key(100), full, t0, t0.Add(300*time.Millisecond), 0)
	if _, ok := c.get(key(100), t0.Add(299*time.Millisecond)); !ok {
		t.Errorf("entry gone before the session's end")
	}
	if _, ok := c.get(key(100), t0.Add(300*time.Millisecond)); ok {
		t.Errorf("entry outlives the session")
	}
	if _, ok := c.get(key(24), t0.Add(time.Second)); ok {
		t.Errorf("entry outlives the TTL")
	}
	// A user without a second factor too, marked so; nothing when off.
	c.put(key(200), newIdentity(2, "bob", "", nil, false), t0, t0.Add(time.Hour), 0)
	if id, ok := c.get(key(200), t0); !ok || id.passedSecondFactor {
		t.Errorf("a password-only identity: get = %+v, %v; want it, not passed", id, ok)
	}
	off := newSessionCache(0)
	off.put(key(1), full, t0, t0.Add(time.Hour), 0)
	if _, ok := off.get(key(1), t0); ok || len(off.m) != 0 {
		t.Errorf("a cache with TTL 0 keeps entries")
	}
	c.put(key(300), newIdentity(3, "carol", "", nil, true), t0, t0.Add(time.Hour), 0)
	c.forgetUser(1)
	for k, id := range c.m {
		if id.userID == 1 {
			t.Fatalf("forgetUser(1) left %x", k[:4])
		}
	}
	if _, ok := c.get(key(300), t0); !ok {
		t.Errorf("forgetUser(1) dropped another user's entry")
	}
}

// TestSessionCacheGeneration: an answer looked up before a forget is not
// put back after it.
func TestSessionCacheGeneration(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	c := newSessionCache(time.Second)
	key := sha256.Sum256([]byte("token"))
	gen := c.generation()
	c.forget("token") // a sign-out while the lookup was in flight
	c.put(key, newIdentity(1, "alice", "", nil, true), t0, t0.Add(time.Hour), gen)
	if _, ok := c.get(key, t0); ok {
		t.Errorf("a lookup from before the sign-out was cached")
	}
	c.put(key, newIdentity(1, "alice", "", nil, true), t0, t0.Add(time.Hour), c.generation())
	if _, ok := c.get(key, t0); !ok {
		t.Errorf("a lookup from after the sign-out was not cached")
	}
}
