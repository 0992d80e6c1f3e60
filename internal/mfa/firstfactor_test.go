package mfa_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// directory is a source of accounts for the chain's rules: the real ones
// (internal/ldap against slapd, internal/pamauth against a PAM stack) are
// tested against their real servers.
type directory struct {
	mu       sync.Mutex
	down     bool
	accounts map[string]dirAccount
	// slow is how long checking a known account's password takes (a
	// bind, a PAM stack's hash); a miss is at once.
	slow time.Duration
}

type dirAccount struct {
	password string
	id       mfa.Identity
	locked   bool
}

func (d *directory) Name() string { return "ldap" }

func (d *directory) Authenticate(_ context.Context, name, password string) (mfa.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.accounts[name]
	switch {
	case d.down:
		return mfa.Identity{}, errors.New("connection refused")
	case !ok:
		return mfa.Identity{}, fmt.Errorf("no entry: %w", mfa.ErrNotFound)
	case a.locked:
		return mfa.Identity{}, fmt.Errorf("locked: %w", mfa.ErrBadCredentials)
	}
	time.Sleep(d.slow)
	switch {
	case a.password != password:
		return mfa.Identity{}, fmt.Errorf("invalid credentials: %w", mfa.ErrBadCredentials)
	}
	return a.id, nil
}

func (d *directory) Lookup(ctx context.Context, name string) (mfa.Identity, error) {
	d.mu.Lock()
	a, ok := d.accounts[name]
	d.mu.Unlock()
	if !ok {
		return mfa.Identity{}, fmt.Errorf("no entry: %w", mfa.ErrNotFound)
	}
	return d.Authenticate(ctx, name, a.password)
}

func (d *directory) set(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

func chainService(t *testing.T, dir *directory, order ...mfa.FirstFactor) (*mfa.Service, *time.Time) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cipher, _ := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	now := time.Date(2027, 1, 4, 9, 0, 15, 0, time.UTC)
	svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits), FirstFactors: order},
		mfa.Options{Window: otp.Skew(1)})
	return svc, &now
}

// TestFirstFactorChain runs a site with its directory first and local
// passwords for break-glass administrators after it.
func TestFirstFactorChain(t *testing.T) {
	ctx := context.Background()
	dir := &directory{accounts: map[string]dirAccount{
		"alice": {password: "alice's directory password", id: mfa.Identity{Name: "alice", ExternalID: "uuid-a", DisplayName: "Alice A.", Groups: []string{"HPC", "Domain Users", "staff"}}},
		"bob":   {password: "bob's directory password", id: mfa.Identity{Name: "bob", ExternalID: "uuid-b"}, locked: true},
		"root":  {password: "root's directory password", id: mfa.Identity{Name: "root", ExternalID: "uuid-r"}},
	}}
	svc, now := chainService(t, dir, dir, mfa.LocalPasswords)
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "admin", Password: "break-glass password", Admin: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "root", Password: "local root password"}); err != nil {
		t.Fatal(err)
	}
	login := func(name, password string) (mfa.Result, error) {
		return svc.Login(ctx, mfa.LoginAttempt{Name: name, Password: password, Addr: "192.0.2.1"})
	}

	// A directory account signs in with its directory password; its record
	// is made then, without a password, with the directory's groups.
	res, err := login("alice", "alice's directory password")
	if err != nil || res.Outcome != mfa.OK {
		t.Fatalf("alice with her directory password = %v (%v), %v, want OK", res.Outcome, res.Reason, err)
	}
	alice := res.User
	if alice.Source != "ldap" || alice.ExternalID != "uuid-a" || alice.PasswordHash != "" || alice.DisplayName != "Alice A." ||
		fmt.Sprint(alice.Groups) != "[hpc staff]" {
		t.Errorf("alice's record = %+v, want source ldap, uuid-a, no password, Alice A., groups [hpc staff]", alice)
	}
	for _, tc := range []struct {
		name, password string
		want           mfa.Outcome
		reason         mfa.Reason
	}{
		{"alice", "wrong", mfa.BadCredentials, mfa.ReasonWrongPassword},
		{"bob", "bob's directory password", mfa.BadCredentials, mfa.ReasonWrongPassword}, // locked there
		{"nobody", "whatever", mfa.BadCredentials, mfa.ReasonUnknownUser},
		{"admin", "break-glass password", mfa.OK, mfa.ReasonNone}, // unknown to the directory: local
		// The directory knows root and decides: the local password of a
		// user of the same name is not asked.
		{"root", "local root password", mfa.BadCredentials, mfa.ReasonWrongPassword},
	} {
		res, err := login(tc.name, tc.password)
		if err != nil || res.Outcome != tc.want || res.Reason != tc.reason {
			t.Errorf("Login(%s) = %v (%v), %v, want %v (%v)", tc.name, res.Outcome, res.Reason, err, tc.want, tc.reason)
		}
	}
	// A directory account never takes a local password: alice's record has
	// none, and setting one is refused.
	if err := svc.SetPassword(ctx, alice.ID, "a local password"); !errors.Is(err, mfa.ErrSourcePassword) {
		t.Errorf("SetPassword(directory user) = %v, want ErrSourcePassword", err)
	}

	// Renamed in the directory, alice keeps her record (and so her second
	// factor).
	dir.set(func() {
		a := dir.accounts["alice"]
		a.id.Name = "alice.smith"
		dir.accounts["alice.smith"] = a
		delete(dir.accounts, "alice")
	})
	res, err = login("alice.smith", "alice's directory password")
	if err != nil || res.Outcome != mfa.OK || res.User.ID != alice.ID {
		t.Errorf("the renamed account = %v, %v, id %d, want OK as record %d", res.Outcome, err, res.User.ID, alice.ID)
	}

	// A session ends when the directory no longer has the account.
	token, err := svc.NewSession(ctx, alice.ID, mfa.LevelNoSecondFactor)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, token); err != nil {
		t.Fatalf("alice's session = %v", err)
	}
	dir.set(func() { delete(dir.accounts, "alice.smith") })
	*now = now.Add(2 * time.Minute)
	if _, _, err := svc.Session(ctx, token); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("session of an account removed from the directory = %v, want ErrNotFound", err)
	}

	// The directory down: the break-glass administrator signs in, others
	// get ErrUnavailable (503), never a refusal that would count.
	dir.set(func() { dir.down = true })
	if res, err := login("admin", "break-glass password"); err != nil || res.Outcome != mfa.OK {
		t.Errorf("break-glass admin with the directory down = %v, %v, want OK", res.Outcome, err)
	}
	if _, err := login("carol", "anything"); !errors.Is(err, mfa.ErrUnavailable) {
		t.Errorf("an unknown name with the directory down = %v, want ErrUnavailable", err)
	}
}

// TestFirstFactorNameTaken: a directory account whose name a local user
// holds is refused, not merged with it.
func TestFirstFactorNameTaken(t *testing.T) {
	ctx := context.Background()
	dir := &directory{accounts: map[string]dirAccount{
		"carol": {password: "directory password", id: mfa.Identity{Name: "carol", ExternalID: "uuid-c"}},
	}}
	svc, _ := chainService(t, dir, mfa.LocalPasswords, dir)
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "carol", Password: "local password"}); err != nil {
		t.Fatal(err)
	}
	// Local first: carol is local, her local password decides.
	if res, _ := svc.Login(ctx, mfa.LoginAttempt{Name: "carol", Password: "directory password"}); res.Outcome != mfa.BadCredentials {
		t.Errorf("carol with the directory's password = %v, want BadCredentials (local decides)", res.Outcome)
	}
	svc2, _ := chainService(t, dir, dir)
	if _, err := svc2.CreateUser(ctx, mfa.NewUser{Name: "carol", Password: "local password"}); err != nil {
		t.Fatal(err)
	}
	res, err := svc2.Login(ctx, mfa.LoginAttempt{Name: "carol", Password: "directory password"})
	if err != nil || res.Outcome != mfa.BadCredentials {
		t.Errorf("directory carol over a local carol = %v, %v, want BadCredentials", res.Outcome, err)
	}
}

// TestFirstFactorTiming: a directory that answers a miss or a locked
// account at once and a password after a while; every refusal takes about
// as long as a password check, so the time does not tell which names
// exist.
func TestFirstFactorTiming(t *testing.T) {
	ctx := context.Background()
	dir := &directory{slow: 40 * time.Millisecond, accounts: map[string]dirAccount{
		"alice": {password: "right", id: mfa.Identity{Name: "alice", ExternalID: "a"}},
		"bob":   {password: "right", id: mfa.Identity{Name: "bob", ExternalID: "b"}, locked: true},
	}}
	svc, _ := chainService(t, dir, dir)
	took := func(name, password string) time.Duration {
		start := time.Now()
		if _, err := svc.Login(ctx, mfa.LoginAttempt{Name: name, Password: password}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	for range 3 { // the average learns what a check takes
		took("alice", "right")
		took("alice", "wrong")
	}
	for _, tc := range []struct{ what, name string }{{"unknown user", "nobody"}, {"locked account", "bob"}} {
		if d := took(tc.name, "right"); d < 30*time.Millisecond {
			t.Errorf("refusing a %s took %v, want about as long as a password check (40ms)", tc.what, d)
		}
	}
}
