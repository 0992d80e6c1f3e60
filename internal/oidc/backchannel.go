package oidc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
const (
	// logoutEvent is the event of a logout token.
	logoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenTTL is how long a logout token is valid.
	logoutTokenTTL = 2 * time.Minute
	// logoutAttempts is how often a delivery is tried, logoutBackoff the
	// wait before the second try, doubled before each further one.
	logoutAttempts = 3
	logoutBackoff  = time.Second
	// logoutQueueSize bounds the deliveries waiting; one more is dropped
	// (and logged). logoutWorkers deliver at once.
	logoutQueueSize = 1024
	logoutWorkers   = 4
	// logoutDrain is how long Close waits for the queue.
	logoutDrain = 10 * time.Second
)

// logoutJob is one logout token to send: to client's uri, for the session
// sid of the user sub.
type logoutJob struct {
	clientID, uri, sub, sid string
}

// logoutQueue sends logout tokens from a few goroutines, so that a
// sign-out never waits for an application.
type logoutQueue struct {
	p      *Provider
	client *http.Client
	jobs   chan logoutJob
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// mu guards closed: no job is added once the queue is closed.
	mu     sync.Mutex
	closed bool
}

func newLogoutQueue(p *Provider, client *http.Client) *logoutQueue {
	q := &logoutQueue{p: p, client: client, jobs: make(chan logoutJob, logoutQueueSize)}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	for range logoutWorkers {
		q.wg.Add(1)
		go q.run()
	}
	return q
}

// add queues j without waiting.
func (q *logoutQueue) add(j logoutJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.p.log.Warn("oidc: back-channel logout dropped: shutting down", "client", j.clientID)
		return
	}
	select {
	case q.jobs <- j:
	default:
		q.p.log.Warn("oidc: back-channel logout dropped: too many waiting", "client", j.clientID)
	}
}

// close stops taking jobs, gives those queued logoutDrain, then stops.
func (q *logoutQueue) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	close(q.jobs)
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(logoutDrain):
		q.cancel()
		<-done
	}
	q.cancel()
}

func (q *logoutQueue) run() {
	defer q.wg.Done()
	for j := range q.jobs {
		q.deliver(j)
	}
}

// deliver sends j, trying again after a network error or a 5xx answer;
// an application that answers 4xx has refused the token, and is not asked
// again.
func (q *logoutQueue) deliver(j logoutJob) {
	wait := logoutBackoff
	var last string
	for attempt := 1; attempt <= logoutAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-q.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait *= 2
		}
		status, err := q.send(j)
		switch {
		case err == nil && status/100 == 2:
			q.p.log.Info("oidc: back-channel logout delivered", "client", j.clientID, "attempt", attempt)
			return
		case err == nil && status/100 == 4:
			q.p.log.Warn("oidc: back-channel logout refused by the application", "client", j.clientID, "status", status)
			return
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d", status)
		}
	}
	q.p.log.Warn("oidc: back-channel logout not delivered", "client", j.clientID, "attempts", logoutAttempts, "err", last)
}

// send posts one logout token, freshly signed.
func (q *logoutQueue) send(j logoutJob) (int, error) {
	ctx, cancel := context.WithTimeout(q.ctx, 10*time.Second)
	defer cancel()
	tok, err := q.p.logoutToken(ctx, j)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// logoutClaims are the claims of a logout token (Back-Channel Logout 1.0
// §2.4): never a nonce, so that it cannot pass for an ID token.
type logoutClaims struct {
	Issuer   string                    `json:"iss"`
	Audience string                    `json:"aud"`
	IssuedAt int64                     `json:"iat"`
	Expiry   int64                     `json:"exp"`
	ID       string                    `json:"jti"`
	Subject  string                    `json:"sub"`
	Session  string                    `json:"sid"`
	Events   map[string]map[string]any `json:"events"`
}

// logoutToken signs the logout token of j with the key that signs ID
// tokens, typed logout+jwt.
func (p *Provider) logoutToken(ctx context.Context, j logoutJob) (string, error) {
	k, err := p.keys.signing(ctx, p.opts.SigningAlgorithm)
	if err != nil {
		return "", err
	}
	jti, err := newRandom(p.rand)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm),
		Key: jose.JSONWebKey{Key: k.priv, KeyID: k.ID}}, (&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", err
	}
	now := p.now()
	c := logoutClaims{Issuer: p.opts.Issuer, Audience: j.clientID, IssuedAt: now.Unix(), Expiry: now.Add(logoutTokenTTL).Unix(),
		ID: jti, Subject: j.sub, Session: j.sid, Events: map[string]map[string]any{logoutEvent: {}}}
	return jwt.Signed(signer).Claims(c).Serialize()
}
