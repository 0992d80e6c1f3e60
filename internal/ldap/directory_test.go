package ldap

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
)

func TestAuthenticate(t *testing.T) {
	srv := startFixture(t)
	transports := []struct {
		name     string
		url      string
		startTLS bool
	}{
		{"plain", srv.URL, false},
		{"starttls", srv.URL, true},
		{"ldaps", srv.LDAPSURL, false},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			cfg := searchConfig(t, srv, tr.url)
			cfg.StartTLS = tr.startTLS
			d := newDirectory(t, cfg)
			ctx := context.Background()

			a, err := d.Authenticate(ctx, "alice", "alice-pw")
			if err != nil {
				t.Fatalf("Authenticate(alice, right password) = %v", err)
			}
			want := Account{Name: "alice", DN: "uid=alice,ou=people," + ldaptest.BaseDN, DisplayName: "Alice Example",
				Mail: "alice@example.org", UniqueID: a.UniqueID, Groups: []string{"hpc"}}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("Authenticate(alice) (-want +got):\n%s", diff)
			}
			if len(a.UniqueID) != 36 {
				t.Errorf("UniqueID = %q, want an entryUUID", a.UniqueID)
			}
			if a, err := d.Authenticate(ctx, "ALICE", "alice-pw"); err != nil || a.Name != "alice" {
				t.Errorf("Authenticate(ALICE) = %q, %v; want the directory's spelling alice", a.Name, err)
			}
			if _, err := d.Authenticate(ctx, "dora", "dora-pw"); err != nil {
				t.Errorf("Authenticate(dora, shadowExpire -1) = %v, want nil", err)
			}
			refused := []struct{ name, user, password, cause string }{
				{"wrong password", "alice", "bob-pw", "Invalid Credentials"},
				{"unknown user", "zoe", "alice-pw", "no single entry"},
				{"locked", "lena", "lena-pw", "pwdAccountLockedTime"},
				{"expired", "ed", "ed-pw", "shadowExpire"},
				{"empty password", "alice", "", "empty"},
			}
			for _, r := range refused {
				_, err := d.Authenticate(ctx, r.user, r.password)
				if !errors.Is(err, ErrBadCredentials) || !strings.Contains(err.Error(), r.cause) {
					t.Errorf("%s: Authenticate(%s) = %v, want ErrBadCredentials saying %q", r.name, r.user, err, r.cause)
				}
				if r.password != "" && err != nil && strings.Contains(err.Error(), r.password) {
					t.Errorf("%s: Authenticate(%s) = %q, which shows the password", r.name, r.user, err)
				}
			}
			r := d.Check(ctx, "alice", "alice-pw")
			if r.Server != tr.url || (r.TLS == "") != (tr.name == "plain") {
				t.Errorf("Check() = server %s, TLS %q; want %s, TLS only if not plain", r.Server, r.TLS, tr.url)
			}
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		for _, tr := range transports[1:] {
			cfg := searchConfig(t, srv, tr.url)
			cfg.StartTLS, cfg.CAFile = tr.startTLS, "" // the system's roots do not know the test CA
			d := newDirectory(t, cfg)
			if _, err := d.Authenticate(context.Background(), "alice", "alice-pw"); !errors.Is(err, ErrUnavailable) ||
				!strings.Contains(err.Error(), "certificate") {
				t.Errorf("%s: Authenticate with an untrusted server = %v, want ErrUnavailable about the certificate", tr.name, err)
			}
		}
	})

	t.Run("wrong service password", func(t *testing.T) {
		cfg := searchConfig(t, srv)
		cfg.BindDN = "cn=nobody,ou=services," + ldaptest.BaseDN
		d := newDirectory(t, cfg)
		if _, err := d.Authenticate(context.Background(), "alice", "alice-pw"); !errors.Is(err, ErrUnavailable) ||
			!strings.Contains(err.Error(), "service account") {
			t.Errorf("Authenticate with a refused service account = %v, want ErrUnavailable naming it", err)
		}
	})
}

func TestClosed(t *testing.T) {
	srv := startFixture(t)
	d := newDirectory(t, searchConfig(t, srv))
	if _, err := d.Authenticate(context.Background(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := d.Authenticate(context.Background(), "alice", "alice-pw"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Authenticate after Close = %v, want ErrUnavailable", err)
	}
	if s := d.searches.stats(); s.open != 0 {
		t.Errorf("searches pool after Close: %+v, want none open", s)
	}
}

func TestLookup(t *testing.T) {
	srv := startFixture(t)
	d := newDirectory(t, searchConfig(t, srv))
	ctx := context.Background()
	a, err := d.Lookup(ctx, "bob")
	if err != nil || a.Name != "bob" || a.Mail != "bob@example.org" || !cmp.Equal(a.Groups, []string{"hpc"}) {
		t.Errorf("Lookup(bob) = %+v, %v", a, err)
	}
	for _, name := range []string{"zoe", "lena", "ed", "*", strings.Repeat("b", 65)} {
		if _, err := d.Lookup(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%q) = %v, want ErrNotFound", name, err)
		}
	}
	// A user removed from the directory is refused at once.
	if err := srv.Admin().Del(goldap.NewDelRequest("uid=bob,ou=people,"+ldaptest.BaseDN, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(bob) after removal = %v, want ErrNotFound", err)
	}
}

func TestGroups(t *testing.T) {
	srv := startFixture(t)
	both := "(|(&(objectClass=posixGroup)(memberUid={username}))(&(objectClass=groupOfNames)(member={dn})))"
	tests := []struct {
		name        string
		preset      string
		groupFilter string
		memberOf    string
		groupBase   string
		alice, bob  []string
		carol, dora []string
	}{
		{name: "rfc2307 memberUid", preset: "rfc2307", alice: []string{"hpc"}, bob: []string{"hpc"}, carol: []string{"staff"}},
		{name: "rfc2307bis member", preset: "rfc2307bis", alice: []string{"admins", "ops"}, bob: []string{"ops"}},
		{name: "memberOf", preset: "memberof", alice: []string{"admins", "ops"}, bob: []string{"ops"}},
		{name: "freeipa-like memberOf", preset: "freeipa", alice: []string{"admins", "ops"}, bob: []string{"ops"}},
		{name: "all three", preset: "memberof", groupFilter: both,
			alice: []string{"admins", "hpc", "ops"}, bob: []string{"hpc", "ops"}, carol: []string{"staff"}},
		{name: "off", preset: "rfc2307", groupFilter: None},
		{name: "memberOf outside GroupBaseDN left out", preset: "memberof", groupBase: "ou=services," + ldaptest.BaseDN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := searchConfig(t, srv)
			cfg.Preset, cfg.GroupFilter, cfg.MemberOfAttr = tc.preset, tc.groupFilter, tc.memberOf
			if tc.groupBase != "" {
				cfg.GroupBaseDN = tc.groupBase
			}
			if tc.preset == "freeipa" {
				cfg.UniqueIDAttr = "entryUUID" // OpenLDAP has no ipaUniqueID
			}
			d := newDirectory(t, cfg)
			for user, want := range map[string][]string{"alice": tc.alice, "bob": tc.bob, "carol": tc.carol, "dora": tc.dora} {
				a, err := d.Authenticate(context.Background(), user, user+"-pw")
				if err != nil {
					t.Fatalf("Authenticate(%s) = %v", user, err)
				}
				if !cmp.Equal(a.Groups, want, cmpEmpty) {
					t.Errorf("Authenticate(%s).Groups = %q, want %q", user, a.Groups, want)
				}
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
})

// TestHostileNames tries names that would widen a badly built filter or
// DN against the real server: none matches an entry, the answer is the
// one of a wrong password, and its text names nothing in the directory.
func TestHostileNames(t *testing.T) {
	srv := startFixture(t)
	direct := searchConfig(t, srv)
	direct.UserDNTemplate = "uid={username},ou=people," + ldaptest.BaseDN
	for _, mode := range []struct {
		name string
		cfg  Config
	}{{"search-then-bind", searchConfig(t, srv)}, {"direct bind", direct}} {
		t.Run(mode.name, func(t *testing.T) {
			d := newDirectory(t, mode.cfg)
			ctx := context.Background()
			for _, name := range hostileNames {
				for _, pw := range []string{"alice-pw", "x"} {
					r := d.Check(ctx, name, pw)
					if !errors.Is(r.Err, ErrBadCredentials) {
						t.Errorf("Authenticate(%q) = %v, want ErrBadCredentials", name, r.Err)
					}
					if r.Entries != 0 || r.Account.DN != "" {
						t.Errorf("Authenticate(%q): the search matched %d entries (filter %s)", name, r.Entries, r.Filter)
					}
					if checkName(name) != nil && (r.Filter != "" || r.Server != "") {
						t.Errorf("Authenticate(%q) sent a request (filter %q), want it refused before", name, r.Filter)
					}
					for _, leak := range []string{"dc=", "ou=", "uid=", "bob", "carol", "example"} {
						if r.Err != nil && strings.Contains(strings.ToLower(r.Err.Error()), leak) && !strings.Contains(name, leak) {
							t.Errorf("Authenticate(%q) = %q, which leaks %q", name, r.Err, leak)
						}
					}
				}
				if _, err := d.Lookup(ctx, name); !errors.Is(err, ErrNotFound) {
					t.Errorf("Lookup(%q) = %v, want ErrNotFound", name, err)
				}
			}
		})
	}

	// The server's own log of what it received: every user search was
	// one equality match on uid, its value free of filter syntax.
	userSearch := regexp.MustCompile(`^\(&\(objectClass=posixAccount\)\(uid=[^()*]*\)\)$`)
	filters := regexp.MustCompile(`(?m)SRCH base=".*" scope=\d deref=\d filter="(.*)"$`).FindAllStringSubmatch(srv.Log(), -1)
	n := 0
	for _, m := range filters {
		if strings.Contains(m[1], "uid=") {
			n++
			if !userSearch.MatchString(m[1]) {
				t.Errorf("slapd received the user search %s, want one equality match on uid", m[1])
			}
		}
	}
	if n == 0 {
		t.Errorf("no user search in slapd's log")
	}
}

func TestRenameKeepsUniqueID(t *testing.T) {
	srv := startFixture(t)
	d := newDirectory(t, searchConfig(t, srv))
	ctx := context.Background()
	before, err := d.Authenticate(ctx, "carol", "carol-pw")
	if err != nil {
		t.Fatal(err)
	}
	req := goldap.NewModifyDNRequest("uid=carol,ou=people,"+ldaptest.BaseDN, "uid=caroline", true, "")
	if err := srv.Admin().ModifyDN(req); err != nil {
		t.Fatal(err)
	}
	after, err := d.Authenticate(ctx, "caroline", "carol-pw")
	if err != nil {
		t.Fatalf("Authenticate(caroline) after the rename = %v", err)
	}
	if after.UniqueID != before.UniqueID || after.Name != "caroline" || after.DN == before.DN {
		t.Errorf("after the rename: %s %s %s, before: %s %s %s; want the same UniqueID under the new name and DN",
			after.Name, after.DN, after.UniqueID, before.Name, before.DN, before.UniqueID)
	}
	if _, err := d.Authenticate(ctx, "carol", "carol-pw"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Authenticate(carol) after the rename = %v, want ErrBadCredentials", err)
	}
}

func TestDirectBind(t *testing.T) {
	srv := startFixture(t)
	cfg := searchConfig(t, srv)
	cfg.BaseDN = ""
	cfg.UserDNTemplate = "uid={username},ou=people," + ldaptest.BaseDN
	d := newDirectory(t, cfg)
	ctx := context.Background()
	a, err := d.Authenticate(ctx, "alice", "alice-pw")
	if err != nil || a.Name != "alice" || !cmp.Equal(a.Groups, []string{"hpc"}) || a.UniqueID == "" {
		t.Fatalf("Authenticate(alice) = %+v, %v", a, err)
	}
	for _, c := range []struct{ user, password string }{
		{"alice", "wrong"}, {"zoe", "alice-pw"}, {"lena", "lena-pw"}, {"ed", "ed-pw"}, {"alice,ou=people", "alice-pw"},
	} {
		if _, err := d.Authenticate(ctx, c.user, c.password); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%s, %s) = %v, want ErrBadCredentials", c.user, c.password, err)
		}
	}
	if a, err := d.Lookup(ctx, "bob"); err != nil || a.Name != "bob" {
		t.Errorf("Lookup(bob) as the service = %+v, %v", a, err)
	}
	// Without a service account Lookup searches anonymously, which this
	// server's ACL does not allow: the user is not found.
	cfg.BindDN, cfg.BindPasswordFile = "", ""
	anon := newDirectory(t, cfg)
	if _, err := anon.Lookup(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(bob) anonymously = %v, want ErrNotFound", err)
	}
	if _, err := anon.Authenticate(ctx, "bob", "bob-pw"); err != nil {
		t.Errorf("Authenticate(bob) without a service account = %v", err)
	}
}

// hungListener accepts connections and never answers, as a server that
// hangs or a firewall that drops replies; accepted counts them.
func hungListener(t *testing.T) (url string, accepted func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "ldap://" + l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ldap://" + addr
}

func TestFailover(t *testing.T) {
	srv := startFixture(t)
	hung, accepted := hungListener(t)
	cfg := searchConfig(t, srv, refusedURL(t), hung, srv.URL)
	cfg.ConnectTimeout, cfg.BindTimeout = 300*time.Millisecond, 300*time.Millisecond
	cfg.Backoff = time.Minute
	d := newDirectory(t, cfg)
	d.searches.keepIdle, d.binds.keepIdle = false, false // every request dials
	ctx := context.Background()

	start := time.Now()
	r := d.Check(ctx, "alice", "alice-pw")
	if r.Err != nil || r.Server != srv.URL {
		t.Fatalf("Check(alice) = server %s, %v; want %s, nil", r.Server, r.Err, srv.URL)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("first sign-in took %v, want at least the hung server's bind timeout", took)
	}
	// Both dead servers are now backed off: the next sign-ins go straight
	// to the live one, and the hung one sees no new connection.
	for range 3 {
		if r := d.Check(ctx, "alice", "alice-pw"); r.Err != nil || r.Server != srv.URL {
			t.Fatalf("Check(alice) = server %s, %v; want %s, nil", r.Server, r.Err, srv.URL)
		}
	}
	if n := accepted(); n != 1 {
		t.Errorf("the hung server got %d connections, want 1 (then backed off)", n)
	}
}

func TestServerStopped(t *testing.T) {
	srv := startFixture(t)
	cfg := searchConfig(t, srv, srv.URL, srv.LDAPSURL)
	cfg.ConnectTimeout, cfg.BindTimeout, cfg.SearchTimeout = time.Second, time.Second, time.Second
	var logged syncBuffer
	d, err := New(cfg, slog.New(slog.NewTextHandler(&logged, nil)), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	start := time.Now()
	_, err = d.Authenticate(ctx, "alice", "alice-pw")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate with the server stopped = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("Authenticate with the server stopped took %v, want within the 1s timeouts", took)
	}
	if _, err := d.Lookup(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lookup with the server stopped = %v, want ErrUnavailable", err)
	}

	srv.Restart()
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("Authenticate after the server came back = %v, want nil (no new Directory)", err)
	}
	log := logged.String()
	for _, want := range []string{`msg="ldap server unreachable" url=` + srv.URL, `msg="ldap server reachable again" url=` + srv.URL} {
		if strings.Count(log, want) != 1 {
			t.Errorf("log:\n%s\nwant %q once", log, want)
		}
	}
	if strings.Contains(log, "alice-pw") {
		t.Errorf("log shows a password:\n%s", log)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServerHung(t *testing.T) {
	srv := startFixture(t)
	cfg := searchConfig(t, srv)
	cfg.ConnectTimeout, cfg.BindTimeout, cfg.SearchTimeout = time.Second, time.Second, time.Second
	d := newDirectory(t, cfg)
	ctx := context.Background()
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}

	srv.Pause()
	start := time.Now()
	_, err := d.Authenticate(ctx, "alice", "alice-pw")
	if took := time.Since(start); !errors.Is(err, ErrUnavailable) || took > 2500*time.Millisecond {
		t.Errorf("Authenticate with the server hung = %v after %v, want ErrUnavailable within the 1s search timeout", err, took)
	}
	// A context deadline shorter than the timeouts wins.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start = time.Now()
	_, err = d.Authenticate(short, "alice", "alice-pw")
	cancel()
	if took := time.Since(start); !errors.Is(err, ErrUnavailable) || took > time.Second {
		t.Errorf("Authenticate with a 200ms deadline = %v after %v, want ErrUnavailable by the deadline", err, took)
	}
	srv.Resume()

	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Errorf("Authenticate after the server resumed = %v", err)
	}
}

func TestPoolBounded(t *testing.T) {
	srv := startFixture(t)
	cfg := searchConfig(t, srv)
	cfg.PoolSize = 2
	d := newDirectory(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 20 {
		wg.Go(func() {
			user := []string{"alice", "bob"}[i%2]
			for range 5 {
				if _, err := d.Authenticate(context.Background(), user, user+"-pw"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Authenticate = %v", err)
	}
	for name, p := range map[string]*pool{"searches": d.searches, "binds": d.binds} {
		s := p.stats()
		if s.peak > 2 || s.dials > 2 || s.open != s.idle {
			t.Errorf("%s pool: %+v, want at most 2 connections ever, all idle now", name, s)
		}
	}

	// With every place taken, a sign-in waits no longer than its context.
	var held []*conn
	for range 2 {
		c, err := d.searches.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := d.Authenticate(ctx, "alice", "alice-pw")
	cancel()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "pooled connection") {
		t.Errorf("Authenticate with the pool exhausted = %v, want ErrUnavailable waiting for a connection", err)
	}
	for _, c := range held {
		d.searches.put(c)
	}

	// A connection idle for longer than IdleTimeout is replaced.
	cfg.IdleTimeout = time.Nanosecond
	d = newDirectory(t, cfg)
	for range 3 {
		if _, err := d.Authenticate(context.Background(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	// Each sign-in searches twice (the user, the groups).
	if s := d.searches.stats(); s.dials != 6 || s.open != 1 {
		t.Errorf("searches pool with a 1ns IdleTimeout: %+v, want 6 dials, 1 open", s)
	}
}

func TestCheck(t *testing.T) {
	srv := startFixture(t)
	d := newDirectory(t, searchConfig(t, srv))
	ctx := context.Background()
	r := d.Check(ctx, "alice", "alice-pw")
	want := CheckResult{
		Mode: "search-then-bind", Server: srv.URL, BaseDN: "ou=people," + ldaptest.BaseDN, Scope: "sub",
		Filter: "(&(objectClass=posixAccount)(uid=alice))", Entries: 1, DN: "uid=alice,ou=people," + ldaptest.BaseDN,
		GroupFilter: "(&(objectClass=posixGroup)(memberUid=alice))", Bind: "ok", Account: r.Account,
	}
	if diff := cmp.Diff(want, r, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("Check(alice) (-want +got):\n%s", diff)
	}
	if r := d.Check(ctx, "alice", "wrong"); !strings.HasPrefix(r.Bind, "refused") || !errors.Is(r.Err, ErrBadCredentials) {
		t.Errorf("Check(alice, wrong) = bind %q, %v", r.Bind, r.Err)
	}
	if r := d.Check(ctx, "lena", "lena-pw"); r.State == "" || r.Bind != "not tried" {
		t.Errorf("Check(lena) = state %q, bind %q; want the lock and no bind", r.State, r.Bind)
	}
	if r := d.Check(ctx, "bob", ""); r.Err != nil || r.Bind != "not tried" || !cmp.Equal(r.Account.Groups, []string{"hpc"}) {
		t.Errorf("Check(bob) without a password = %+v", r)
	}
}

// TestInjectedClock checks that shadowExpire is judged by the clock given
// to New: ed's account (day 20000, 2024-10-04) is open before that day.
func TestInjectedClock(t *testing.T) {
	srv := startFixture(t)
	for _, c := range []struct {
		now     time.Time
		expired bool
	}{
		{time.Date(2024, 10, 3, 23, 59, 0, 0, time.UTC), false},
		{time.Date(2024, 10, 4, 0, 0, 0, 0, time.UTC), true},
		{testNow, true},
	} {
		d, err := New(searchConfig(t, srv), nil, func() time.Time { return c.now })
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Authenticate(context.Background(), "ed", "ed-pw")
		d.Close()
		if got := errors.Is(err, ErrBadCredentials); got != c.expired {
			t.Errorf("Authenticate(ed) at %v = %v, want expired=%v", c.now, err, c.expired)
		}
	}
}
