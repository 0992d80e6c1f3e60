package mfa_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

const pamPassword = "a password long enough"

// pamEnv is a Service on SQLite at a clock the test moves, with the
// default code budget, and these users: alice and bob with TOTP, plain
// without a second factor, off disabled with TOTP.
type pamEnv struct {
	svc  *mfa.Service
	now  time.Time
	keys map[string]otp.Key
	// host may not check passwords, pwHost may.
	host, pwHost mfa.Host
}

func newPAMEnv(t *testing.T, opts mfa.Options) *pamEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cipher, err := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &pamEnv{now: time.Date(2027, 1, 4, 9, 0, 15, 0, time.UTC), keys: map[string]otp.Key{}}
	opts.Window = otp.Skew(1)
	e.svc = mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return e.now },
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)}, opts)
	for _, name := range []string{"alice", "bob", "plain", "off"} {
		u, err := e.svc.CreateUser(ctx, mfa.NewUser{Name: name, Password: pamPassword})
		if err != nil {
			t.Fatal(err)
		}
		if name == "plain" {
			continue
		}
		_, enr, err := e.svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: e.now}})
		if err != nil {
			t.Fatal(err)
		}
		if res, _, err := e.svc.ConfirmEnrolment(ctx, u, enr.ID, enr.URI.Key.TOTP(e.now)); err != nil || res.Outcome != mfa.OK {
			t.Fatalf("ConfirmEnrolment(%s) = %v, %v", name, res.Outcome, err)
		}
		e.keys[name] = enr.URI.Key
		if name == "off" {
			if err := e.svc.SetDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, h := range []struct {
		name  string
		allow bool
		to    *mfa.Host
	}{{"login1", false, &e.host}, {"jupyter", true, &e.pwHost}} {
		token, err := e.svc.AddHost(ctx, h.name, h.allow)
		if err != nil {
			t.Fatal(err)
		}
		if *h.to, err = e.svc.HostByToken(ctx, token, ""); err != nil {
			t.Fatal(err)
		}
	}
	// The codes of the enrolment's step are used.
	e.now = e.now.Add(30 * time.Second)
	return e
}

// code is the user's current code.
func (e *pamEnv) code(name string) string { return e.keys[name].TOTP(e.now) }

func (e *pamEnv) check(h mfa.Host, a mfa.PAMAttempt) (mfa.Result, error) {
	a.Service, a.RHost, a.TTY = "sshd", "192.0.2.7", "ssh"
	return e.svc.PAMCheck(context.Background(), h, a)
}

// TestPAMCheck runs the rules of a second-factor check by name, without and
// with a password checked here.
func TestPAMCheck(t *testing.T) {
	e := newPAMEnv(t, mfa.Options{})
	strict := newPAMEnv(t, mfa.Options{RequireSecondFactor: true})
	pw := func(p string) mfa.PAMAttempt { return mfa.PAMAttempt{CheckPassword: true, Password: p} }
	tests := []struct {
		name   string
		e      *pamEnv
		pwHost bool
		a      mfa.PAMAttempt
		user   string // a.Name when set
		code   bool   // give the user's current code
		want   mfa.Outcome
		reason mfa.Reason
	}{
		{name: "NUL in the name", e: e, user: "ali\x00ce", want: mfa.BadCredentials, reason: mfa.ReasonUnknownUser},
		{name: "overlong name", e: e, user: strings.Repeat("a", mfa.MaxNameLength+1), want: mfa.BadCredentials, reason: mfa.ReasonUnknownUser},
		{name: "not UTF-8", e: e, user: "al\xffce", want: mfa.BadCredentials, reason: mfa.ReasonUnknownUser},
		{name: "empty name", e: e, user: " ", want: mfa.BadCredentials, reason: mfa.ReasonUnknownUser},
		{name: "unknown user", e: e, user: "nobody", want: mfa.NoSecondFactor, reason: mfa.ReasonUnknownUser},
		{name: "unknown user, second factor required", e: strict, user: "nobody", want: mfa.SetupRequired, reason: mfa.ReasonUnknownUser},
		{name: "no second factor", e: e, user: "plain", code: true, want: mfa.NoSecondFactor, reason: mfa.ReasonNoSecondFactor},
		{name: "no second factor, required", e: strict, user: "plain", want: mfa.SetupRequired, reason: mfa.ReasonNoSecondFactor},
		{name: "disabled", e: e, user: "off", code: true, want: mfa.BadCredentials, reason: mfa.ReasonDisabled},
		{name: "no code", e: e, user: "alice", want: mfa.CodeRequired},
		{name: "name as typed", e: e, user: " Alice ", want: mfa.CodeRequired},
		{name: "malformed code", e: e, user: "alice", a: mfa.PAMAttempt{Code: "12ab"}, want: mfa.BadCode, reason: mfa.ReasonMalformedCode},

		{name: "password: right, no second factor", e: e, pwHost: true, user: "plain", a: pw(pamPassword), want: mfa.NoSecondFactor, reason: mfa.ReasonNoSecondFactor},
		{name: "password: right, required", e: strict, pwHost: true, user: "plain", a: pw(pamPassword), want: mfa.SetupRequired, reason: mfa.ReasonSetupRequired},
		{name: "password: wrong", e: e, pwHost: true, user: "plain", a: pw("wrong password"), want: mfa.BadCredentials, reason: mfa.ReasonWrongPassword},
		{name: "password: empty is wrong", e: e, pwHost: true, user: "plain", a: pw(""), want: mfa.BadCredentials, reason: mfa.ReasonWrongPassword},
		{name: "password: unknown user", e: e, pwHost: true, user: "nobody", a: pw(pamPassword), want: mfa.BadCredentials, reason: mfa.ReasonUnknownUser},
		{name: "password: disabled", e: e, pwHost: true, user: "off", a: pw(pamPassword), code: true, want: mfa.BadCredentials, reason: mfa.ReasonDisabled},
		{name: "password: right, no code", e: e, pwHost: true, user: "alice", a: pw(pamPassword), want: mfa.CodeRequired},
		{name: "password: wrong, right code", e: e, pwHost: true, user: "bob", a: pw("wrong password"), code: true, want: mfa.BadCredentials, reason: mfa.ReasonWrongPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.e.host
			if tc.pwHost {
				h = tc.e.pwHost
			}
			a := tc.a
			a.Name = tc.user
			if tc.code {
				a.Code = tc.e.code(strings.TrimSpace(strings.ToLower(tc.user)))
			}
			res, err := tc.e.check(h, a)
			if err != nil || res.Outcome != tc.want || res.Reason != tc.reason {
				t.Errorf("PAMCheck(%q) = %v (%v), %v, want %v (%v)", tc.user, res.Outcome, res.Reason, err, tc.want, tc.reason)
			}
		})
	}

	// A host that may not have passwords checked is refused when it asks.
	if _, err := e.check(e.host, mfa.PAMAttempt{Name: "plain", CheckPassword: true, Password: pamPassword}); !errors.Is(err, mfa.ErrHostNoPassword) ||
		!errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("PAMCheck(password, host without --allow-password) = %v, want ErrHostNoPassword (invalid input)", err)
	}
}

// TestPAMCodeOnce: a code accepted over PAM is refused afterwards over PAM
// and by the second login step, and one accepted there is refused over
// PAM: one record of used steps.
func TestPAMCodeOnce(t *testing.T) {
	// Each replay counts in the code budget: more than the default's three.
	e := newPAMEnv(t, mfa.Options{Throttles: mfa.Throttles{Code: mfa.ThrottlePolicy{Free: 10, Base: time.Minute, Max: time.Hour, Forget: time.Hour}}})
	ctx := context.Background()
	alice, _ := e.svc.UserByName(ctx, "alice")
	code := e.code("alice")
	steps := []struct {
		name   string
		f      func() (mfa.Result, error)
		want   mfa.Outcome
		reason mfa.Reason
	}{
		{"PAM, right code", func() (mfa.Result, error) { return e.check(e.host, mfa.PAMAttempt{Name: "alice", Code: code}) }, mfa.OK, mfa.ReasonNone},
		{"PAM, replayed", func() (mfa.Result, error) { return e.check(e.host, mfa.PAMAttempt{Name: "alice", Code: code}) }, mfa.BadCode, mfa.ReasonCodeReused},
		{"second step, the code PAM used", func() (mfa.Result, error) { return e.svc.SecondFactor(ctx, alice.ID, code) }, mfa.BadCode, mfa.ReasonCodeReused},
		{"sign-in, the code PAM used", func() (mfa.Result, error) {
			return e.svc.Login(ctx, mfa.LoginAttempt{Name: "alice", Password: pamPassword, Code: code})
		}, mfa.BadCode, mfa.ReasonCodeReused},
		{"password over PAM, the code PAM used", func() (mfa.Result, error) {
			return e.check(e.pwHost, mfa.PAMAttempt{Name: "alice", Code: code, CheckPassword: true, Password: pamPassword})
		}, mfa.BadCode, mfa.ReasonCodeReused},
		{"next step, second step", func() (mfa.Result, error) {
			e.now = e.now.Add(30 * time.Second)
			code = e.code("alice")
			return e.svc.SecondFactor(ctx, alice.ID, code)
		}, mfa.OK, mfa.ReasonNone},
		{"PAM, the code the second step used", func() (mfa.Result, error) { return e.check(e.host, mfa.PAMAttempt{Name: "alice", Code: code}) }, mfa.BadCode, mfa.ReasonCodeReused},
		{"next step, password and code over PAM", func() (mfa.Result, error) {
			e.now = e.now.Add(30 * time.Second)
			return e.check(e.pwHost, mfa.PAMAttempt{Name: "alice", Code: e.code("alice"), CheckPassword: true, Password: pamPassword})
		}, mfa.OK, mfa.ReasonNone},
	}
	for _, st := range steps {
		res, err := st.f()
		if err != nil || res.Outcome != st.want || res.Reason != st.reason {
			t.Errorf("%s = %v (%v), %v, want %v (%v)", st.name, res.Outcome, res.Reason, err, st.want, st.reason)
		}
		if st.want == mfa.OK && (!res.SecondFactor || res.Account != "alice") {
			t.Errorf("%s = %+v, want a second factor passed by alice", st.name, res)
		}
	}
}

// TestPAMCodeBudget: wrong codes over PAM spend the user's code budget
// (three free, then five minutes), which the second login step shares, and
// the owner is told of them at the next success.
func TestPAMCodeBudget(t *testing.T) {
	e := newPAMEnv(t, mfa.Options{})
	ctx := context.Background()
	bob, _ := e.svc.UserByName(ctx, "bob")
	for i := range 3 {
		if res, err := e.check(e.host, mfa.PAMAttempt{Name: "bob", Code: "000000"}); err != nil || res.Outcome != mfa.BadCode {
			t.Fatalf("wrong code %d = %v (%v), %v, want BadCode", i+1, res.Outcome, res.Reason, err)
		}
	}
	res, err := e.check(e.host, mfa.PAMAttempt{Name: "bob", Code: e.code("bob")})
	if err != nil || res.Outcome != mfa.Throttled || res.Reason != mfa.ReasonTooManyCodes || res.RetryAfter != 5*time.Minute {
		t.Errorf("right code after 3 wrong = %v (%v) %v, %v, want Throttled (too many codes) for 5m", res.Outcome, res.Reason, res.RetryAfter, err)
	}
	if res, err := e.svc.SecondFactor(ctx, bob.ID, e.code("bob")); err != nil || res.Outcome != mfa.Throttled {
		t.Errorf("second step after 3 wrong codes over PAM = %v, %v, want Throttled (one budget)", res.Outcome, err)
	}
	e.now = e.now.Add(5 * time.Minute)
	res, err = e.check(e.host, mfa.PAMAttempt{Name: "bob", Code: e.code("bob")})
	if err != nil || res.Outcome != mfa.OK || res.CodeFailures != 3 {
		t.Errorf("right code after the wait = %v, %d failures, %v, want OK telling of 3", res.Outcome, res.CodeFailures, err)
	}
	// Wrong passwords over PAM count on the account and on RHost's address.
	for i := range 5 {
		if res, err := e.check(e.pwHost, mfa.PAMAttempt{Name: "plain", CheckPassword: true, Password: "wrong password"}); err != nil ||
			res.Outcome != mfa.BadCredentials {
			t.Fatalf("wrong password %d = %v, %v, want BadCredentials", i+1, res.Outcome, err)
		}
	}
	if res, err := e.check(e.pwHost, mfa.PAMAttempt{Name: "plain", CheckPassword: true, Password: pamPassword}); err != nil || res.Outcome != mfa.Throttled {
		t.Errorf("right password after 5 wrong = %v, %v, want Throttled (the account counter)", res.Outcome, err)
	}
}

// TestPAMAccount: the account check passes users that exist, are enabled
// and are still known at their source; a source down fails closed.
func TestPAMAccount(t *testing.T) {
	ctx := context.Background()
	dir := &directory{accounts: map[string]dirAccount{
		"carol": {password: "carol's directory password", id: mfa.Identity{Name: "carol", ExternalID: "uuid-c"}},
	}}
	svc, _ := chainService(t, dir, dir, mfa.LocalPasswords)
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: pamPassword}); err != nil {
		t.Fatal(err)
	}
	off, err := svc.CreateUser(ctx, mfa.NewUser{Name: "off", Password: pamPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, off.ID, true); err != nil {
		t.Fatal(err)
	}
	// carol's record is made at her first sign-in, here over PAM with the
	// password checked by the directory.
	token, err := svc.AddHost(ctx, "jupyter", true)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := svc.HostByToken(ctx, token, "")
	res, err := svc.PAMCheck(ctx, host, mfa.PAMAttempt{Name: "carol", CheckPassword: true, Password: "carol's directory password"})
	if err != nil || res.Outcome != mfa.NoSecondFactor || res.User.Source != "ldap" {
		t.Fatalf("PAMCheck(carol, directory password) = %v, %+v, %v, want NoSecondFactor for her new record", res.Outcome, res.User, err)
	}
	tests := []struct {
		name   string
		change func()
		want   mfa.Outcome
		reason mfa.Reason
		err    error
	}{
		{"alice", nil, mfa.OK, mfa.ReasonNone, nil},
		{"off", nil, mfa.BadCredentials, mfa.ReasonDisabled, nil},
		{"nobody", nil, mfa.BadCredentials, mfa.ReasonUnknownUser, nil},
		{"a\x00b", nil, mfa.BadCredentials, mfa.ReasonUnknownUser, nil},
		{"carol", nil, mfa.OK, mfa.ReasonNone, nil},
		{"carol", func() { dir.set(func() { dir.down = true }) }, 0, 0, mfa.ErrUnavailable},
		{"carol", func() {
			dir.set(func() {
				dir.down = false
				a := dir.accounts["carol"]
				a.locked = true
				dir.accounts["carol"] = a
			})
		}, mfa.BadCredentials, mfa.ReasonSourceGone, nil},
	}
	for _, tc := range tests {
		if tc.change != nil {
			tc.change()
		}
		res, err := svc.PAMAccount(ctx, tc.name)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("PAMAccount(%q) = %v, %v, want %v", tc.name, res.Outcome, err, tc.err)
			}
			continue
		}
		if err != nil || res.Outcome != tc.want || res.Reason != tc.reason {
			t.Errorf("PAMAccount(%q) = %v (%v), %v, want %v (%v)", tc.name, res.Outcome, res.Reason, err, tc.want, tc.reason)
		}
	}
}

// TestHosts: a host's token is shown once and found by its hash; a wrong
// token counts on the client's address counter; a removed host's token no
// longer works.
func TestHosts(t *testing.T) {
	e := newPAMEnv(t, mfa.Options{Throttles: mfa.Throttles{Address: mfa.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Forget: time.Hour}}})
	ctx := context.Background()
	token, err := e.svc.AddHost(ctx, "Web1", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("AddHost token = %q, want 43 characters of base64url", token)
	}
	if _, err := e.svc.AddHost(ctx, "web1", true); !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("AddHost(a name taken) = %v, want ErrConflict", err)
	}
	for _, bad := range []string{"", "a b", "-x", strings.Repeat("h", mfa.MaxNameLength+1)} {
		if _, err := e.svc.AddHost(ctx, bad, false); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("AddHost(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	h, err := e.svc.HostByToken(ctx, token, "192.0.2.9")
	if err != nil || h.Name != "web1" || h.AllowPassword || !h.Created.Equal(e.now) {
		t.Errorf("HostByToken = %+v, %v, want web1 created now", h, err)
	}
	for _, wrong := range []string{"", token[:42], token + "x", strings.Repeat("A", 10000)} {
		if _, err := e.svc.HostByToken(ctx, wrong, "192.0.2.9"); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("HostByToken(%.10q…) = %v, want ErrNotFound", wrong, err)
		}
	}
	// Four wrong tokens from 192.0.2.9: its address counter (two free)
	// makes its password sign-ins wait; the registered token still works.
	if res, err := e.svc.Login(ctx, mfa.LoginAttempt{Name: "plain", Password: pamPassword, Addr: "192.0.2.9"}); err != nil || res.Outcome != mfa.Throttled {
		t.Errorf("sign-in from an address that sent wrong tokens = %v, %v, want Throttled", res.Outcome, err)
	}
	if _, err := e.svc.HostByToken(ctx, token, "192.0.2.9"); err != nil {
		t.Errorf("HostByToken(registered) from a throttled address = %v, want the host", err)
	}
	hosts, err := e.svc.Hosts(ctx)
	if err != nil || len(hosts) != 3 || hosts[0].Name != "jupyter" || hosts[2].Name != "web1" {
		t.Errorf("Hosts = %+v, %v, want jupyter, login1, web1", hosts, err)
	}
	if err := e.svc.RemoveHost(ctx, "WEB1"); err != nil {
		t.Fatalf("RemoveHost = %v", err)
	}
	if _, err := e.svc.HostByToken(ctx, token, ""); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("HostByToken(a removed host's) = %v, want ErrNotFound", err)
	}
	if err := e.svc.RemoveHost(ctx, "web1"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("RemoveHost(again) = %v, want ErrNotFound", err)
	}
}
