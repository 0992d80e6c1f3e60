package web

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// identity is what forward-auth needs of a fully signed-in session: who,
// with the identity headers ready to send.
type identity struct {
	userID int64
	name   string
	// headers are the values of Remote-User, Remote-Name and
	// Remote-Groups, made once for every answer that sends them.
	headers   []string
	groupList []string
	// passedSecondFactor: the session passed a second factor; without,
	// the user had none (see mfa.LevelNoSecondFactor).
	passedSecondFactor bool
	expires            time.Time
}

// sessionCache remembers, for a short TTL, positive answers for full
// sessions (a second factor passed, or none to pass), so that forward-auth
// does not ask the store on every request. It never holds a refusal.
// Sign-out, sign-out everywhere, and password and TOTP changes made through
// this process forget the entries at once; changes made elsewhere (another
// instance, the user command, a google-authenticator file that appears for
// a user signed in with the password alone) take effect within the TTL.
type sessionCache struct {
	ttl time.Duration
	max int
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]identity
	// gen counts the forgets, so that a lookup that began before one does
	// not put back what it forgot (see put).
	gen uint64
}

// maxCachedSessions bounds the cache; when full, an arbitrary entry goes.
const maxCachedSessions = 10000

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, max: maxCachedSessions, m: map[[sha256.Size]byte]identity{}}
}

// get returns the live entry for the token hash.
func (c *sessionCache) get(key [sha256.Size]byte, now time.Time) (identity, bool) {
	if c.ttl <= 0 {
		return identity{}, false
	}
	c.mu.RLock()
	id, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(id.expires) {
		return identity{}, false
	}
	return id, true
}

// generation returns the count of forgets so far; take it before asking
// the store, and give it to put.
func (c *sessionCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores an entry until now+TTL, or until notAfter when sooner (the
// session's own expiry), unless something was forgotten since gen was
// taken: the entry may then be what was forgotten.
func (c *sessionCache) put(key [sha256.Size]byte, id identity, now, notAfter time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	id.expires = now.Add(c.ttl)
	if notAfter.Before(id.expires) {
		id.expires = notAfter
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, old := range c.m {
			if !now.Before(old.expires) || len(c.m) >= c.max {
				delete(c.m, k)
			}
			if len(c.m) < c.max/2 {
				break
			}
		}
	}
	c.m[key] = id
}

// forget drops the entry of one token.
func (c *sessionCache) forget(token string) {
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	delete(c.m, key)
	c.gen++
	c.mu.Unlock()
}

// forgetUser drops every entry of the user.
func (c *sessionCache) forgetUser(userID int64) {
	c.mu.Lock()
	for k, id := range c.m {
		if id.userID == userID {
			delete(c.m, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// newIdentity builds the cached form of a user.
func newIdentity(userID int64, name, display string, groups []string, passedSecondFactor bool) identity {
	return identity{userID: userID, name: name, headers: []string{name, display, strings.Join(groups, ",")},
		groupList: groups, passedSecondFactor: passedSecondFactor}
}
