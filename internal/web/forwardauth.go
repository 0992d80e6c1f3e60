package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
)

// Identity headers sent to the proxy on a 2xx; the shipped proxy
// configurations copy exactly these to the upstream request.
const (
	headerUser   = "Remote-User"
	headerName   = "Remote-Name"
	headerGroups = "Remote-Groups"
)

// handleForwardAuth answers a proxy's sub-request about its original URL:
// 200 with identity headers when the session may pass, 403 when signed in
// but not allowed, 400 for malformed forwarded headers, and for no valid
// session 401 (nginx auth_request) or, when redirect is set (Caddy
// forward_auth, Traefik forwardAuth), 302 to the login page with rd.
func (s *server) handleForwardAuth(redirect bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = noStore
		trusted := s.fromTrustedProxy(r)
		if !trusted && hasForwarded(r) {
			s.log.WarnContext(r.Context(), "forward-auth: forwarded headers from an untrusted peer ignored",
				"remote_addr", r.RemoteAddr)
		}
		t, terr := s.originalURL(r, trusted, redirect)
		if errors.Is(terr, access.ErrAmbiguousPath) {
			// Not malformed: a path backends read differently, refused
			// with or without a session (nginx passes a 403 on, not a 400).
			s.refuse(w, r, http.StatusForbidden, terr.Error())
			return
		}
		if terr != nil && terr != errNoTarget {
			s.refuse(w, r, http.StatusBadRequest, "malformed forwarded headers: "+terr.Error())
			return
		}
		id, ok, setup, err := s.forwardSession(w, r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if !ok {
			if setup {
				s.svc.Audit(r.Context(), mfa.AuditEntry{User: id.name, Addr: s.clientHost(r), Path: mfa.PathForwardAuth,
					Action: mfa.ActionAccess, Result: mfa.SetupRequired.String(), Reason: mfa.ReasonSetupRequired.String()})
			}
			if !redirect {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			loc := s.baseURL + "/login"
			if setup {
				// Refused until a second factor is set up: to its page.
				loc = s.baseURL + setupPath
			}
			if terr == nil {
				loc += "?" + map[bool]string{false: "rd", true: "next"}[setup] + "=" + url.QueryEscape(t.url())
			}
			h["Location"] = []string{loc}
			w.WriteHeader(http.StatusFound)
			return
		}
		if terr != nil {
			s.denied(w, r, id.name, terr.Error())
			return
		}
		v := s.rules.Check(access.Request{Host: t.host, Port: t.port, Path: t.path}, mfa.User{Name: id.name, Groups: id.groupList})
		switch {
		case !v.Pass:
			s.denied(w, r, id.name, v.Reason)
			return
		case v.SecondFactor == access.Required && !id.passedSecondFactor:
			s.denied(w, r, id.name, "the "+v.Rule.String()+" requires a second factor, and the user has none")
			return
		}
		h[headerUser], h[headerName], h[headerGroups] = id.headers[0:1:1], id.headers[1:2:2], id.headers[2:3:3]
		if ri := info(r); ri != nil {
			ri.granted = true
		}
		w.WriteHeader(http.StatusOK)
	})
}

var noStore = []string{"no-store"}

// displayHeader is a display name as Remote-Name carries it: UTF-8 text
// without the characters mfa.ValidateDisplayName refuses (controls, format
// and bidi characters, line separators, '<', '>'). A name stored before
// that check (or by an older instance) has each of them replaced by
// U+FFFD, so that no app receives markup or text that turns around.
func displayHeader(s string) string {
	if mfa.ValidateDisplayName(s) == nil || s == "" {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), r == '\u2028', r == '\u2029', r == '<', r == '>',
			unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
			return '\ufffd'
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}

// refuse answers a bare status and gives the access line the reason.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	setReason(r, reason)
	w.WriteHeader(status)
}

// maxToken bounds a session cookie's value: a token is 43 characters.
const maxToken = 100

// forwardSession returns the identity of the request's session when it is
// full (the second factor passed, or none to pass), from the cache when it
// can.
//
// setup tells, for a session refused, that its user must set up a second
// factor first (the site's deadline has come).
func (s *server) forwardSession(w http.ResponseWriter, r *http.Request) (id identity, ok, setup bool, err error) {
	token, ok := sessionToken(w, r)
	if !ok {
		return identity{}, false, false, nil
	}
	var buf [maxToken]byte // on the stack: []byte(token) would allocate
	key := sha256.Sum256(append(buf[:0], token...))
	now := s.now()
	if id, ok := s.cache.get(key, now); ok {
		setUser(r, id.name)
		return id, true, false, nil
	}
	// Concurrent checks of one token share one store lookup, so that an
	// entry's expiry does not send every waiting request to the store at
	// once. A check that began before a forget (a sign-out) does not take
	// a lookup's answer that may predate it.
	gen := s.cache.generation()
	v, err, _ := s.lookups.Do(string(key[:]), func() (any, error) {
		// Not cancelled with the first request: others wait on it.
		return s.lookupSession(context.WithoutCancel(r.Context()), key, token, now)
	})
	if err != nil {
		return identity{}, false, false, err
	}
	res := v.(lookup)
	if s.cache.generation() != gen {
		if res, err = s.lookupSession(r.Context(), key, token, now); err != nil {
			return identity{}, false, false, err
		}
	}
	if res.name != "" {
		setUser(r, res.name)
	}
	if res.reason != "" {
		setReason(r, res.reason)
	}
	if !res.ok {
		// The name, for the audit log of a refusal.
		return identity{name: res.name}, false, res.setup, nil
	}
	return res.id, true, false, nil
}

// lookup is the answer of one store lookup for forward-auth.
type lookup struct {
	id identity
	ok bool
	// name and reason are for the access line.
	name, reason string
	// setup: the user must set up a second factor first.
	setup bool
}

// lookupSession asks the store about a token and caches a positive answer.
func (s *server) lookupSession(ctx context.Context, key [sha256.Size]byte, token string, now time.Time) (lookup, error) {
	gen := s.cache.generation()
	sess, u, err := s.svc.Session(ctx, token)
	if errors.Is(err, mfa.ErrNotFound) {
		return lookup{}, nil
	}
	if err != nil {
		return lookup{}, err
	}
	if !sess.Level.Full() {
		if may, err := s.svc.MaySetUp(ctx, u); err != nil {
			return lookup{}, err
		} else if may {
			return lookup{name: u.Name, reason: mfa.ReasonSetupRequired.String(), setup: true}, nil
		}
		return lookup{name: u.Name, reason: "second factor not passed yet"}, nil
	}
	id := newIdentity(u.ID, u.Name, displayHeader(u.DisplayName), u.Groups, sess.Level == mfa.LevelFull)
	o := s.svc.Options()
	notAfter := sess.Created.Add(o.SessionMax)
	if idle := sess.LastSeen.Add(o.SessionIdle); idle.Before(notAfter) {
		notAfter = idle
	}
	s.cache.put(key, id, now, notAfter, gen)
	return lookup{id: id, ok: true, name: u.Name}, nil
}

// sessionToken returns the session cookie's value when it can be a token:
// one cookie of that name, at most maxToken bytes of base64url. Anything
// else is logged and treated as no session.
func sessionToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	v, found := cookieValue(r.Header["Cookie"])
	if !found || v == "" {
		return "", false
	}
	if len(v) > maxToken {
		setReason(r, "session cookie too long")
		return "", false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			setReason(r, "session cookie malformed")
			return "", false
		}
	}
	return v, true
}

// cookieValue finds the first session cookie in Cookie header lines
// ("a=1; otpgate_session=TOKEN") without parsing the others, which
// (*http.Request).Cookie would allocate for.
func cookieValue(lines []string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if v, ok := strings.CutPrefix(part, cookieName+"="); ok {
				return strings.TrimRight(v, " \t"), true
			}
		}
	}
	return "", false
}
