package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// conn is one connection to one server.
type conn struct {
	*goldap.Conn
	raw    net.Conn // under TLS, if any: deadlines and a hard close
	url    string
	reused bool // taken from the idle list, so possibly stale
	idled  time.Time
	broken bool // failed in a way that leaves its state unknown: discard
}

// do runs one request on c within timeout, shortened by ctx's deadline; a
// cancelled ctx closes the connection under the request, since go-ldap's
// requests take no context. An error that is not an LDAP result from the
// server (a timeout, a cut connection) marks c broken.
func (c *conn) do(ctx context.Context, timeout time.Duration, f func() error) error {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if err := ctx.Err(); err != nil || timeout <= 0 {
		c.broken = true
		return fmt.Errorf("%w: %v", ErrUnavailable, context.DeadlineExceeded)
	}
	c.SetTimeout(timeout)
	stop := context.AfterFunc(ctx, func() { c.raw.Close() })
	err := f()
	if !stop() {
		c.broken = true
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	}
	if err != nil && !isResult(err) {
		c.broken = true
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, c.url, err)
	}
	return err
}

// isResult reports whether err is an LDAP result that the server sent, as
// opposed to go-ldap's own codes (200 and up) for network trouble,
// timeouts and the like.
func isResult(err error) bool {
	var e *goldap.Error
	return errors.As(err, &e) && e.ResultCode < goldap.ErrorNetwork
}

// resultCode returns the LDAP result code of err, or -1.
func resultCode(err error) int {
	var e *goldap.Error
	if errors.As(err, &e) && e.ResultCode < goldap.ErrorNetwork {
		return int(e.ResultCode)
	}
	return -1
}

// tlsVersion names the TLS version protecting c, or returns "".
func (c *conn) tlsVersion() string {
	if st, ok := c.TLSConnectionState(); ok && st.HandshakeComplete {
		return tls.VersionName(st.Version)
	}
	return ""
}

func (c *conn) close() {
	c.raw.Close()
	c.Conn.Close()
}

// pool holds up to size open connections, idle or lent. Two pools serve
// a Directory; see the package documentation for why.
type pool struct {
	d         *Directory
	asService bool // bind each new connection as the service account
	sem       chan struct{}
	keepIdle  bool // false only in the benchmark of a connection per sign-in

	mu     sync.Mutex
	idle   []*conn
	closed bool
	open   int // connections open now, idle or lent
	peak   int // the most ever open at once
	dials  int // connections made
}

func newPool(d *Directory, asService bool) *pool {
	return &pool{d: d, asService: asService, sem: make(chan struct{}, d.s.poolSize), keepIdle: true}
}

// get lends a connection, waiting for a free place while ctx allows.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for a pooled connection: %v", ErrUnavailable, ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, fmt.Errorf("%w: directory closed", ErrUnavailable)
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if c.IsClosing() || time.Since(c.idled) > p.d.s.idleTimeout {
			// The server hung up while it was idle, or may have been
			// cut off from it without a word.
			p.open--
			p.mu.Unlock()
			c.close()
			p.mu.Lock()
			continue
		}
		p.mu.Unlock()
		c.reused, c.broken = true, false
		return c, nil
	}
	p.mu.Unlock()

	c, err := p.d.dial(ctx, p.asService)
	if err != nil {
		<-p.sem
		return nil, err
	}
	p.mu.Lock()
	p.open++
	p.dials++
	p.peak = max(p.peak, p.open)
	p.mu.Unlock()
	return c, nil
}

// put takes back a lent connection: kept idle if sound, closed otherwise.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	keep := p.keepIdle && !p.closed && !c.broken && !c.IsClosing()
	if keep {
		c.idled = time.Now()
		p.idle = append(p.idle, c)
	} else {
		p.open--
	}
	p.mu.Unlock()
	if !keep {
		c.close()
	}
	<-p.sem
}

// with runs f on a lent connection. A reused connection that turns out to
// have been cut (the server restarted while it sat idle) is replaced once
// by a new one; a timeout is not retried, so that a hung server costs one
// timeout, not two.
func (p *pool) with(ctx context.Context, f func(c *conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = f(c)
		cut := c.IsClosing() // before put, which closes a broken connection
		p.put(c)
		if err != nil && attempt == 0 && c.reused && c.broken && cut && ctx.Err() == nil {
			continue
		}
		return err
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// poolStats reports a pool's counters, for tests and benchmarks.
type poolStats struct{ open, peak, dials, idle int }

func (p *pool) stats() poolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return poolStats{open: p.open, peak: p.peak, dials: p.dials, idle: len(p.idle)}
}

// dial connects to the first server that answers, in the configured
// order, trying those that failed within Backoff only after the others.
// With asService it also binds as the service account (when there is
// one), so that a pooled search connection is ready to use.
func (d *Directory) dial(ctx context.Context, asService bool) (*conn, error) {
	now := time.Now() // the back-off is about the network, not the injected clock
	var fresh, backedOff []string
	d.mu.Lock()
	for _, u := range d.s.urls {
		if now.Before(d.downUntil[u]) {
			backedOff = append(backedOff, u)
		} else {
			fresh = append(fresh, u)
		}
	}
	d.mu.Unlock()

	var errs []error
	for _, u := range append(fresh, backedOff...) {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		c, err := d.dialURL(ctx, u)
		if err == nil && asService && d.s.bindDN != "" {
			err = c.do(ctx, d.s.bindTimeout, func() error { return c.Bind(d.s.bindDN, d.s.bindPassword) })
			if err != nil {
				c.close()
				if isResult(err) {
					// The server answered: it is up, but refuses the
					// service account. Another server may know better.
					errs = append(errs, fmt.Errorf("%s: service account bind refused: %v", u, err))
					continue
				}
			}
		}
		if err != nil {
			d.markDown(u, err)
			errs = append(errs, fmt.Errorf("%s: %v", u, err))
			continue
		}
		d.markUp(u)
		return c, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

func (d *Directory) markDown(u string, err error) {
	d.mu.Lock()
	_, was := d.downUntil[u]
	d.downUntil[u] = time.Now().Add(d.s.backoff)
	d.mu.Unlock()
	if !was {
		d.log.Warn("ldap server unreachable", "url", u, "err", err)
	}
}

func (d *Directory) markUp(u string) {
	d.mu.Lock()
	_, was := d.downUntil[u]
	delete(d.downUntil, u)
	d.mu.Unlock()
	if was {
		d.log.Info("ldap server reachable again", "url", u)
	}
}

// dialURL opens one connection within ConnectTimeout: TCP, then TLS for
// ldaps:// or the StartTLS operation for ldap:// when configured.
func (d *Directory) dialURL(ctx context.Context, serverURL string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.s.connectTimeout)
	defer cancel()
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = goldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = goldap.DefaultLdapsPort
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var raw net.Conn
	nd := &net.Dialer{}
	if u.Scheme == "ldaps" {
		td := &tls.Dialer{NetDialer: nd, Config: d.s.tlsConfig(serverURL)}
		raw, err = td.DialContext(ctx, "tcp", addr)
	} else {
		raw, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	lc := goldap.NewConn(raw, u.Scheme == "ldaps")
	lc.Start()
	c := &conn{Conn: lc, raw: raw, url: serverURL}
	if u.Scheme == "ldap" && d.s.startTLS {
		// The deadline covers the StartTLS request and the handshake after
		// it; a cancelled ctx cuts both short.
		dl, _ := ctx.Deadline()
		raw.SetDeadline(dl)
		stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
		lc.SetTimeout(time.Until(dl))
		err := lc.StartTLS(d.s.tlsConfig(serverURL))
		stop()
		raw.SetDeadline(time.Time{})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("starttls: %v", err)
		}
	}
	return c, nil
}
