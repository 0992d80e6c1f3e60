package ldap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// Account is a directory user as Authenticate and Lookup return it.
type Account struct {
	// Name is the name as the directory spells it (NameAttr), which may
	// differ in case from the typed one.
	Name string
	// DN is the entry's distinguished name; it changes on a rename.
	DN string
	// DisplayName and Mail are empty when the entry lacks them.
	DisplayName string
	Mail        string
	// UniqueID is the value of UniqueIDAttr: it survives a rename, so it
	// is what an otpgate record should be tied to.
	UniqueID string
	// Groups are the names of the user's groups, sorted, without repeats.
	Groups []string
}

// Directory signs users in against an LDAP directory. It is safe for
// concurrent use and recovers by itself when a server comes back.
type Directory struct {
	s   settings
	log *slog.Logger
	now func() time.Time

	searches *pool // bound as the service account (or anonymous)
	binds    *pool // users' own binds

	mu        sync.Mutex
	downUntil map[string]time.Time

	// refusalNanos is the moving average of how long a sign-in with a
	// wrong password takes, in nanoseconds (see padRefusal).
	refusalNanos atomic.Int64
	padBias      atomic.Int64
}

// New checks cfg and returns a Directory; it connects only when first
// used. log receives server failures and recoveries (nil discards them);
// now is the clock that account expiry (shadowExpire, accountExpires) is
// judged by (nil means time.Now).
func New(cfg Config, log *slog.Logger, now func() time.Time) (*Directory, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	d := &Directory{s: s, log: log, now: now, downUntil: map[string]time.Time{}}
	d.searches = newPool(d, true)
	d.binds = newPool(d, false)
	return d, nil
}

// Close closes the idle connections; lent ones close when given back.
func (d *Directory) Close() error {
	d.searches.close()
	d.binds.close()
	return nil
}

// stateAttrs mark an account that may not sign in. They are asked for
// whatever the preset: a server that does not know one leaves it out.
var stateAttrs = []string{
	"nsAccountLock",        // FreeIPA, 389 Directory Server
	"userAccountControl",   // Active Directory
	"accountExpires",       // Active Directory
	"shadowExpire",         // RFC 2307 shadowAccount
	"pwdAccountLockedTime", // OpenLDAP ppolicy (draft-behera-ldap-password-policy)
}

// CheckResult tells what one Check did, step by step, for an operator
// setting up a directory.
type CheckResult struct {
	// Mode is "search-then-bind" or "direct bind".
	Mode string
	// Server is the URL of the server that answered the user search (or,
	// in direct bind, the user's bind); TLS is the protocol version that
	// protected that connection ("TLS 1.3"), or empty for none.
	Server string
	TLS    string
	// BaseDN, Scope and Filter are those of the user search.
	BaseDN string
	Scope  string
	Filter string
	// Entries is how many entries the user search matched: 0 or 1, or 2
	// for "more than one".
	Entries int
	// DN is the user's entry, or the DN that direct bind tried.
	DN string
	// State is why the account may not sign in, or empty.
	State string
	// GroupFilter is the group search sent, if any.
	GroupFilter string
	// Bind is "ok", "not tried" or why the user's bind failed.
	Bind string
	// Account is what Authenticate (or, without a password, Lookup) returns.
	Account Account
	// Err is the error Authenticate (or Lookup) returns.
	Err error
}

// Check does what Authenticate does (Lookup when password is empty) and
// tells each step, for `otpgate ldap check USER`.
func (d *Directory) Check(ctx context.Context, name, password string) CheckResult {
	var tr CheckResult
	tr.Bind = "not tried"
	if password == "" {
		tr.Account, tr.Err = d.lookup(ctx, name, &tr)
	} else {
		tr.Account, tr.Err = d.authenticate(ctx, name, password, &tr)
	}
	return tr
}

// Authenticate checks name's password with a bind as the user. A name
// refused before any request, an unknown user, a wrong password and an
// account that is disabled, locked or expired are all ErrBadCredentials;
// a directory that does not answer in time is ErrUnavailable.
func (d *Directory) Authenticate(ctx context.Context, name, password string) (Account, error) {
	return d.authenticate(ctx, name, password, &CheckResult{})
}

// Lookup returns the account of name without a password, as the service
// account (or anonymously) sees it: ErrNotFound when it is gone from the
// directory or may not sign in any more, ErrUnavailable when the
// directory does not answer.
func (d *Directory) Lookup(ctx context.Context, name string) (Account, error) {
	return d.lookup(ctx, name, &CheckResult{})
}

func (d *Directory) authenticate(ctx context.Context, name, password string, tr *CheckResult) (Account, error) {
	if err := checkName(name); err != nil {
		return Account{}, fmt.Errorf("%w: %w", ErrBadCredentials, nameError{err})
	}
	if password == "" || len(password) > 1024 {
		// An empty password would make an unauthenticated bind, which
		// succeeds (RFC 4513 §5.1.2).
		return Account{}, fmt.Errorf("%w: empty or overlong password", ErrBadCredentials)
	}
	if d.s.dnTemplate != "" {
		return d.directBind(ctx, name, password, tr)
	}
	tr.Mode = "search-then-bind"
	start := time.Now()
	// refuse answers a refusal decided before the user's bind as a wrong
	// password would be answered, and in about the same time: a bind
	// that fails, then a wait up to the usual time of a wrong password.
	refuse := func(cause error) (Account, error) {
		d.decoyBind(ctx, password)
		d.padRefusal(ctx, start)
		return Account{}, fmt.Errorf("%w: %w", ErrBadCredentials, cause)
	}
	var e *goldap.Entry
	err := d.searches.with(ctx, func(c *conn) error {
		var err error
		e, err = d.findUser(ctx, c, name, tr)
		return err
	})
	if errors.Is(err, errNoEntry) {
		return refuse(err)
	}
	if err != nil {
		return Account{}, err
	}
	a, err := d.account(e, name)
	if err != nil {
		return refuse(err)
	}
	if state := accountState(e, d.now()); state != "" {
		tr.State = state
		return refuse(stateError(state))
	}
	err = d.binds.with(ctx, func(c *conn) error { return d.userBind(ctx, c, e.DN, password, tr) })
	if errors.Is(err, ErrBadCredentials) {
		d.noteRefusal(time.Since(start))
	}
	if err != nil {
		return Account{}, err
	}
	err = d.searches.with(ctx, func(c *conn) error {
		var err error
		a.Groups, err = d.groups(ctx, c, e, a.Name, tr)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// directBind binds as the DN made from UserDNTemplate, then reads the
// entry and the groups with the user's own rights, on the same
// connection.
func (d *Directory) directBind(ctx context.Context, name, password string, tr *CheckResult) (Account, error) {
	tr.Mode = "direct bind"
	dn := buildUserDN(d.s.dnTemplate, name)
	tr.DN = dn
	var a Account
	err := d.binds.with(ctx, func(c *conn) error {
		if err := d.userBind(ctx, c, dn, password, tr); err != nil {
			return err
		}
		e, err := d.readUser(ctx, c, dn, name, tr)
		if errors.Is(err, errNoEntry) {
			return fmt.Errorf("%w: %v", ErrBadCredentials, err)
		}
		if err != nil {
			return err
		}
		if a, err = d.account(e, name); err != nil {
			return fmt.Errorf("%w: %v", ErrBadCredentials, err)
		}
		if state := accountState(e, d.now()); state != "" {
			tr.State = state
			return fmt.Errorf("%w: %w", ErrBadCredentials, stateError(state))
		}
		a.Groups, err = d.groups(ctx, c, e, a.Name, tr)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

func (d *Directory) lookup(ctx context.Context, name string, tr *CheckResult) (Account, error) {
	if err := checkName(name); err != nil {
		return Account{}, fmt.Errorf("%w: %w", ErrNotFound, nameError{err})
	}
	tr.Mode = "search-then-bind"
	if d.s.dnTemplate != "" {
		tr.Mode = "direct bind"
	}
	var a Account
	err := d.searches.with(ctx, func(c *conn) error {
		var e *goldap.Entry
		var err error
		if d.s.dnTemplate != "" {
			tr.DN = buildUserDN(d.s.dnTemplate, name)
			e, err = d.readUser(ctx, c, tr.DN, name, tr)
		} else {
			e, err = d.findUser(ctx, c, name, tr)
		}
		if errors.Is(err, errNoEntry) {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return err
		}
		if a, err = d.account(e, name); err != nil {
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		if state := accountState(e, d.now()); state != "" {
			tr.State = state
			return fmt.Errorf("%w: %w", ErrNotFound, stateError(state))
		}
		a.Groups, err = d.groups(ctx, c, e, a.Name, tr)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// errNoEntry means the user search matched no entry, or more than one.
var errNoEntry = errors.New("no single entry matches the name")

// stateError is why an entry may not sign in (accountState), in the
// errors of Authenticate and Lookup: a FirstFactor tells it from a name
// the directory does not know.
type stateError string

func (e stateError) Error() string { return string(e) }

// nameError is a name refused before any request (checkName).
type nameError struct{ err error }

func (e nameError) Error() string { return e.err.Error() }

func (d *Directory) userAttrs() []string {
	attrs := []string{d.s.nameAttr, d.s.displayAttr, d.s.mailAttr, d.s.uniqueIDAttr}
	if d.s.memberOfAttr != "" {
		attrs = append(attrs, d.s.memberOfAttr)
	}
	return append(attrs, stateAttrs...)
}

func (d *Directory) timeLimit() int {
	return int(math.Ceil(d.s.searchTimeout.Seconds()))
}

// findUser searches the user under BaseDN with UserFilter.
func (d *Directory) findUser(ctx context.Context, c *conn, name string, tr *CheckResult) (*goldap.Entry, error) {
	tr.Server, tr.TLS, tr.BaseDN, tr.Scope = c.url, c.tlsVersion(), d.s.baseDN, "sub"
	tr.Filter = buildUserFilter(d.s.userFilter, name)
	req := goldap.NewSearchRequest(d.s.baseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, d.timeLimit(), false, tr.Filter, d.userAttrs(), nil)
	return d.searchOne(ctx, c, req, tr)
}

// readUser reads the entry dn (direct bind), which must match UserFilter.
func (d *Directory) readUser(ctx context.Context, c *conn, dn, name string, tr *CheckResult) (*goldap.Entry, error) {
	tr.Server, tr.TLS, tr.BaseDN, tr.Scope = c.url, c.tlsVersion(), dn, "base"
	tr.Filter = buildUserFilter(d.s.userFilter, name)
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		2, d.timeLimit(), false, tr.Filter, d.userAttrs(), nil)
	return d.searchOne(ctx, c, req, tr)
}

func (d *Directory) searchOne(ctx context.Context, c *conn, req *goldap.SearchRequest, tr *CheckResult) (*goldap.Entry, error) {
	var res *goldap.SearchResult
	err := c.do(ctx, d.s.searchTimeout, func() error {
		var err error
		res, err = c.Search(req)
		return err
	})
	switch code := resultCode(err); {
	case err == nil:
	case code == goldap.LDAPResultSizeLimitExceeded:
		tr.Entries = 2
		return nil, fmt.Errorf("%w (more than one)", errNoEntry)
	case code == goldap.LDAPResultNoSuchObject && req.Scope == goldap.ScopeBaseObject:
		return nil, errNoEntry
	case code >= 0:
		return nil, fmt.Errorf("%w: user search refused: %v", ErrUnavailable, err)
	default:
		return nil, err
	}
	tr.Entries = len(res.Entries)
	if len(res.Entries) != 1 {
		return nil, errNoEntry
	}
	tr.DN = res.Entries[0].DN
	return res.Entries[0], nil
}

// userBind binds as the user on c. Only a bind pool connection is used:
// it is never rebound as the service account, because every use of it
// starts with a bind of its own.
func (d *Directory) userBind(ctx context.Context, c *conn, dn, password string, tr *CheckResult) error {
	if tr.Server == "" {
		tr.Server, tr.TLS = c.url, c.tlsVersion()
	}
	err := c.do(ctx, d.s.bindTimeout, func() error { return c.Bind(dn, password) })
	switch code := resultCode(err); {
	case err == nil:
		tr.Bind = "ok"
		return nil
	case code == goldap.LDAPResultBusy || code == goldap.LDAPResultUnavailable:
		tr.Bind = "server unavailable: " + err.Error()
		return fmt.Errorf("%w: bind: %v", ErrUnavailable, err)
	case code >= 0:
		// The server answered: invalid credentials (49), or a refusal
		// such as a locked account. A failed bind leaves the connection
		// anonymous, and the next use binds again anyway.
		tr.Bind = "refused: " + err.Error()
		return fmt.Errorf("%w: bind refused: %v", ErrBadCredentials, err)
	default:
		tr.Bind = "failed: " + err.Error()
		return err
	}
}

// decoyBind makes a bind that fails, so that a refusal before the user's
// bind takes about as long as a wrong password. Its result is ignored.
func (d *Directory) decoyBind(ctx context.Context, password string) {
	base := d.s.baseDN
	if base == "" {
		base = d.s.groupBaseDN
	}
	dn := "cn=otpgate-no-such-user"
	if base != "" {
		dn += "," + base
	}
	_ = d.binds.with(ctx, func(c *conn) error {
		return c.do(ctx, d.s.bindTimeout, func() error { return c.Bind(dn, password) })
	})
}

// noteRefusal adds the time a wrong password took to the moving average
// that padRefusal waits for.
func (d *Directory) noteRefusal(took time.Duration) {
	for {
		old := d.refusalNanos.Load()
		next := int64(took)
		if old != 0 {
			next = old + (int64(took)-old)/8
		}
		if d.refusalNanos.CompareAndSwap(old, next) {
			return
		}
	}
}

// padRefusal waits until a refusal that began at start has taken as long
// as a wrong password usually does (at most BindTimeout more), so that
// the time of the answer does not tell an unknown name from a known one.
// A timer wakes late by up to a millisecond on a busy machine, which is
// more than the difference to hide: padBias learns by how much, and the
// wait is shortened by that.
func (d *Directory) padRefusal(ctx context.Context, start time.Time) {
	target := time.Duration(d.refusalNanos.Load())
	if target == 0 {
		return
	}
	bias := time.Duration(d.padBias.Load())
	if wait := min(target-time.Since(start)-bias, d.s.bindTimeout); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	late := time.Since(start) - target
	d.padBias.Store(int64(min(max(bias+late/8, 0), target)))
}

// account reads the user's attributes from e.
func (d *Directory) account(e *goldap.Entry, typed string) (Account, error) {
	a := Account{
		Name:        first(e, d.s.nameAttr),
		DN:          e.DN,
		DisplayName: first(e, d.s.displayAttr),
		Mail:        first(e, d.s.mailAttr),
	}
	if a.Name == "" {
		a.Name = typed
	}
	raw := e.GetEqualFoldRawAttributeValue(d.s.uniqueIDAttr)
	switch {
	case len(raw) == 0:
		return Account{}, fmt.Errorf("entry has no %s", d.s.uniqueIDAttr)
	case strings.EqualFold(d.s.uniqueIDAttr, "objectGUID") && len(raw) == 16:
		a.UniqueID = formatGUID(raw)
	case utf8.Valid(raw):
		a.UniqueID = string(raw)
	default:
		a.UniqueID = hex.EncodeToString(raw)
	}
	return a, nil
}

// groups returns the names of the user's groups: the GroupFilter search
// and the MemberOfAttr values together.
func (d *Directory) groups(ctx context.Context, c *conn, e *goldap.Entry, name string, tr *CheckResult) ([]string, error) {
	var groups []string
	if d.s.memberOfAttr != "" {
		for _, dn := range e.GetEqualFoldAttributeValues(d.s.memberOfAttr) {
			if d.s.memberOfBase != nil {
				if p, err := goldap.ParseDN(dn); err != nil || !d.s.memberOfBase.AncestorOfFold(p) {
					continue
				}
			}
			if g := firstRDNValue(dn); g != "" {
				groups = append(groups, g)
			}
		}
	}
	if d.s.groupFilter != "" {
		tr.GroupFilter = buildGroupFilter(d.s.groupFilter, name, e.DN)
		req := goldap.NewSearchRequest(d.s.groupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, d.timeLimit(), false, tr.GroupFilter, []string{d.s.groupNameAttr}, nil)
		var res *goldap.SearchResult
		err := c.do(ctx, d.s.searchTimeout, func() error {
			var err error
			res, err = c.Search(req)
			return err
		})
		if resultCode(err) >= 0 {
			return nil, fmt.Errorf("%w: group search refused: %v", ErrUnavailable, err)
		}
		if err != nil {
			return nil, err
		}
		for _, g := range res.Entries {
			if v := first(g, d.s.groupNameAttr); v != "" {
				groups = append(groups, v)
			}
		}
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

// accountState tells why the entry may not sign in at the time now, or
// returns "".
func accountState(e *goldap.Entry, now time.Time) string {
	if strings.EqualFold(first(e, "nsAccountLock"), "TRUE") {
		return "account locked (nsAccountLock)"
	}
	if v := first(e, "userAccountControl"); v != "" {
		// MS-ADTS §2.2.16: ACCOUNTDISABLE is bit 0x2. A value that does
		// not parse refuses the account rather than ignore it.
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return "account state unreadable (userAccountControl)"
		}
		if n&0x2 != 0 {
			return "account disabled (userAccountControl)"
		}
	}
	if v := first(e, "accountExpires"); v != "" {
		// 100 ns intervals since 1601-01-01 UTC; 0 and 2^63-1 mean never.
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "account state unreadable (accountExpires)"
		}
		if n != 0 && n != math.MaxInt64 {
			const epochDiff = 11644473600 // seconds from 1601 to 1970
			exp := time.Unix(n/1e7-epochDiff, (n%1e7)*100)
			if !now.Before(exp) {
				return "account expired (accountExpires)"
			}
		}
	}
	if v := first(e, "shadowExpire"); v != "" {
		// Days since 1970-01-01 (shadow(5)); -1 means never. Expired on
		// that day, as pam_unix has it.
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "account state unreadable (shadowExpire)"
		}
		if n >= 0 && now.Unix()/86400 >= n {
			return "account expired (shadowExpire)"
		}
	}
	// ppolicy's value for a lock set by an administrator, which lasts until
	// removed. A lock after failed binds ends after pwdLockoutDuration,
	// which the server enforces at bind time.
	if first(e, "pwdAccountLockedTime") == "000001010000Z" {
		return "account locked (pwdAccountLockedTime)"
	}
	return ""
}

func first(e *goldap.Entry, attr string) string {
	if v := e.GetEqualFoldAttributeValues(attr); len(v) > 0 {
		return v[0]
	}
	return ""
}

// firstRDNValue returns the value of a DN's first RDN: "admins" for
// cn=admins,ou=groups,dc=example,dc=org.
func firstRDNValue(dn string) string {
	p, err := goldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return ""
	}
	return p.RDNs[0].Attributes[0].Value
}

// formatGUID writes an objectGUID as AD does: the first three fields are
// little-endian (MS-DTYP §2.3.4).
func formatGUID(b []byte) string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}
