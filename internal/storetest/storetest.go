// Package storetest is the conformance suite that every mfa.Store passes:
// internal/sqlite always, internal/postgres when a database is available.
// A store is correct when Run passes; the suite checks the guarantees the
// rest of otpgate relies on, among them that of 100 concurrent submissions
// of one TOTP step exactly one is accepted.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/migrate"
	"github.com/otpgate/otpgate/internal/oidcstate"
	"github.com/otpgate/otpgate/otp"
)

// Run runs the suite. open returns a new, empty store for each subtest; Run
// closes it.
func Run(t *testing.T, open func(t *testing.T) mfa.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s mfa.Store)
	}{
		{"Users", testUsers},
		{"UserProfile", testUserProfile},
		{"Setup", testSetup},
		{"Authenticators", testAuthenticators},
		{"ReplaySequential", testReplaySequential},
		{"ReplayConcurrent", testReplayConcurrent},
		{"RecoveryCodes", testRecoveryCodes},
		{"Sessions", testSessions},
		{"Throttle", testThrottle},
		{"ThrottleConcurrent", testThrottleConcurrent},
		{"ThrottleState", testThrottleState},
		{"UserSource", testUserSource},
		{"DeleteCascades", testDeleteCascades},
		{"KeyCheck", testKeyCheck},
		{"ImportAuthenticator", testImportAuthenticator},
		{"ConfirmFirst", testConfirmFirst},
		{"Hosts", testHosts},
		{"SeveralAuthenticators", testSeveralAuthenticators},
		{"RemoveDuringSignIn", testRemoveDuringSignIn},
		{"SharedStep", testSharedStep},
		{"TrustedBrowsers", testTrustedBrowsers},
		{"Export", testExport},
		{"Audit", testAudit},
		{"SearchUsers", testSearchUsers},
		{"OIDCClients", testOIDCClients},
		{"OIDCAuthRequests", testOIDCAuthRequests},
		{"OIDCTakeConcurrent", testOIDCTakeConcurrent},
		{"OIDCAccessTokens", testOIDCAccessTokens},
		{"OIDCRefreshTokens", testOIDCRefreshTokens},
		{"OIDCRotateConcurrent", testOIDCRotateConcurrent},
		{"OIDCRevocations", testOIDCRevocations},
		{"OIDCSigningKeys", testOIDCSigningKeys},
		{"OIDCSessionClients", testOIDCSessionClients},
		{"OIDCCascades", testOIDCCascades},
		{"EnforceRules", testEnforceRules},
		{"GroupCoverage", testGroupCoverage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			tc.f(t, s)
		})
	}
	t.Run("Import", func(t *testing.T) { testImport(t, open) })
}

// t0 is a fixed time; stores must keep at least microsecond precision.
var t0 = time.Date(2026, 11, 28, 9, 0, 0, 123456000, time.UTC)

func mustUser(t *testing.T, s mfa.Store, name string) mfa.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), mfa.User{Name: name, PasswordHash: "$argon2id$hash-of-" + name, Created: t0})
	if err != nil {
		t.Fatalf("CreateUser(%q) = %v", name, err)
	}
	return u
}

func mustAuthenticator(t *testing.T, s mfa.Store, userID int64, id string, confirmed bool) mfa.Authenticator {
	t.Helper()
	ctx := context.Background()
	a := mfa.Authenticator{ID: id, UserID: userID, Name: "phone", SealedSecret: []byte("sealed-" + id),
		Algorithm: otp.SHA256, Digits: 8, Period: 60 * time.Second, Created: t0}
	if err := s.CreateAuthenticator(ctx, a); err != nil {
		t.Fatalf("CreateAuthenticator(%s) = %v", id, err)
	}
	if confirmed {
		if _, err := s.ConfirmAuthenticator(ctx, userID, id, 100, t0, nil); err != nil {
			t.Fatalf("ConfirmAuthenticator(%s) = %v", id, err)
		}
		a.Confirmed, a.LastUsed, a.LastStep = t0, t0, 100
	}
	return a
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", what, err, want)
	}
}

func testUsers(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	bob := mustUser(t, s, "bob")
	alice := mustUser(t, s, "alice")
	if bob.ID == 0 || alice.ID == 0 || bob.ID == alice.ID {
		t.Fatalf("CreateUser IDs = %d, %d, want distinct non-zero", bob.ID, alice.ID)
	}
	_, err := s.CreateUser(ctx, mfa.User{Name: "bob", PasswordHash: "x", Created: t0})
	wantErr(t, `CreateUser("bob") again`, err, mfa.ErrConflict)

	got, err := s.User(ctx, bob.ID)
	if err != nil {
		t.Fatalf("User(%d) = %v", bob.ID, err)
	}
	if diff := cmp.Diff(bob, got); diff != "" {
		t.Errorf("User(%d) mismatch (-want +got):\n%s", bob.ID, diff)
	}
	got, err = s.UserByName(ctx, "alice")
	if err != nil || got.ID != alice.ID {
		t.Errorf(`UserByName("alice") = %d, %v, want %d`, got.ID, err, alice.ID)
	}
	_, err = s.UserByName(ctx, "carol")
	wantErr(t, `UserByName("carol")`, err, mfa.ErrNotFound)
	_, err = s.User(ctx, 999999)
	wantErr(t, "User(999999)", err, mfa.ErrNotFound)

	bob.PasswordHash, bob.Admin, bob.Disabled = "new", true, true
	if err := s.UpdateUser(ctx, bob); err != nil {
		t.Fatalf("UpdateUser = %v", err)
	}
	got, _ = s.User(ctx, bob.ID)
	if diff := cmp.Diff(bob, got); diff != "" {
		t.Errorf("User after UpdateUser mismatch (-want +got):\n%s", diff)
	}
	wantErr(t, "UpdateUser(missing)", s.UpdateUser(ctx, mfa.User{ID: 999999}), mfa.ErrNotFound)

	users, err := s.Users(ctx)
	if err != nil {
		t.Fatalf("Users() = %v", err)
	}
	if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Errorf("Users() = %v, want alice then bob", users)
	}
	if err := s.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatalf("DeleteUser = %v", err)
	}
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, alice.ID), mfa.ErrNotFound)
	_, err = s.User(ctx, alice.ID)
	wantErr(t, "User(deleted)", err, mfa.ErrNotFound)
}

// testUserProfile checks that display names and groups are kept on create,
// changed by UpdateUser, cleared, and read back by every lookup.
func testUserProfile(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	carol, err := s.CreateUser(ctx, mfa.User{Name: "carol", PasswordHash: "h", Created: t0,
		DisplayName: "Carol Ørsted-Lévy 🚀", Groups: []string{"hpc", "staff"}})
	if err != nil {
		t.Fatalf("CreateUser(carol) = %v", err)
	}
	plain := mustUser(t, s, "dave")
	check := func(when string, want mfa.User) {
		t.Helper()
		got, err := s.User(ctx, want.ID)
		if err != nil {
			t.Fatalf("%s: User(%d) = %v", when, want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: User mismatch (-want +got):\n%s", when, diff)
		}
		byName, _ := s.UserByName(ctx, want.Name)
		if diff := cmp.Diff(want, byName); diff != "" {
			t.Errorf("%s: UserByName mismatch (-want +got):\n%s", when, diff)
		}
	}
	check("created", carol)
	check("created without profile", plain)
	if plain.DisplayName != "" || plain.Groups != nil {
		t.Errorf("new user without profile = %q, %v, want empty, nil", plain.DisplayName, plain.Groups)
	}

	carol.DisplayName, carol.Groups = "Carol", []string{"jupyter"}
	if err := s.UpdateUser(ctx, carol); err != nil {
		t.Fatalf("UpdateUser(carol) = %v", err)
	}
	check("changed", carol)
	carol.DisplayName, carol.Groups = "", nil
	if err := s.UpdateUser(ctx, carol); err != nil {
		t.Fatalf("UpdateUser(carol, cleared) = %v", err)
	}
	check("cleared", carol)

	plain.Groups = []string{"a", "b", "c"}
	if err := s.UpdateUser(ctx, plain); err != nil {
		t.Fatalf("UpdateUser(dave) = %v", err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 2 {
		t.Fatalf("Users() = %v, %v, want 2 users", users, err)
	}
	if diff := cmp.Diff([]mfa.User{carol, plain}, users); diff != "" {
		t.Errorf("Users() mismatch (-want +got):\n%s", diff)
	}
}

func testSetup(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	h1, h2 := []byte("token-hash-1...................."), []byte("token-hash-2....................")
	if err := s.CreateSetupToken(ctx, h1, t0.Add(time.Hour)); err != nil {
		t.Fatalf("CreateSetupToken = %v", err)
	}
	// A new token replaces the old one.
	if err := s.CreateSetupToken(ctx, h2, t0.Add(time.Hour)); err != nil {
		t.Fatalf("CreateSetupToken again = %v", err)
	}
	for _, tc := range []struct {
		name string
		hash []byte
		at   time.Time
		want bool
	}{{"replaced", h1, t0, false}, {"current", h2, t0, true}, {"expired", h2, t0.Add(2 * time.Hour), false}, {"unknown", []byte("x"), t0, false}} {
		if got, err := s.SetupTokenValid(ctx, tc.hash, tc.at); err != nil || got != tc.want {
			t.Errorf("SetupTokenValid(%s) = %v, %v, want %v", tc.name, got, err, tc.want)
		}
	}
	admin := mfa.User{Name: "root", PasswordHash: "h", Admin: true, Created: t0}
	_, err := s.CreateFirstAdmin(ctx, h1, admin, t0)
	wantErr(t, "CreateFirstAdmin(replaced token)", err, mfa.ErrNotFound)
	_, err = s.CreateFirstAdmin(ctx, h2, admin, t0.Add(2*time.Hour))
	wantErr(t, "CreateFirstAdmin(expired token)", err, mfa.ErrNotFound)
	u, err := s.CreateFirstAdmin(ctx, h2, admin, t0)
	if err != nil || !u.Admin || u.ID == 0 {
		t.Fatalf("CreateFirstAdmin = %+v, %v, want an admin", u, err)
	}
	_, err = s.CreateFirstAdmin(ctx, h2, mfa.User{Name: "root2", PasswordHash: "h", Created: t0}, t0)
	wantErr(t, "CreateFirstAdmin(used token)", err, mfa.ErrNotFound)
	if got, err := s.SetupTokenValid(ctx, h2, t0); err != nil || got {
		t.Errorf("SetupTokenValid(used token) = %v, %v, want false", got, err)
	}
	wantErr(t, "CreateSetupToken with users", s.CreateSetupToken(ctx, h1, t0.Add(time.Hour)), mfa.ErrConflict)
}

func testAuthenticators(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	pending := mustAuthenticator(t, s, u.ID, "a1", false)
	confirmed := mustAuthenticator(t, s, u.ID, "a2", true)
	list, err := s.Authenticators(ctx, u.ID)
	if err != nil {
		t.Fatalf("Authenticators = %v", err)
	}
	if diff := cmp.Diff([]mfa.Authenticator{pending, confirmed}, list); diff != "" {
		t.Errorf("Authenticators mismatch (-want +got):\n%s", diff)
	}
	wantErr(t, "CreateAuthenticator(same id)", s.CreateAuthenticator(ctx, pending), mfa.ErrConflict)
	wantErr(t, "CreateAuthenticator(no user)", s.CreateAuthenticator(ctx, mfa.Authenticator{ID: "x", UserID: 999999,
		SealedSecret: []byte("s"), Digits: 6, Period: 30 * time.Second, Created: t0}), mfa.ErrNotFound)
	_, err = s.ConfirmAuthenticator(ctx, u.ID, "a2", 5, t0, nil)
	wantErr(t, "ConfirmAuthenticator(confirmed)", err, mfa.ErrNotFound)
	other := mustUser(t, s, "eve")
	_, err = s.ConfirmAuthenticator(ctx, other.ID, "a1", 5, t0, nil)
	wantErr(t, "ConfirmAuthenticator(other user)", err, mfa.ErrNotFound)
	wantErr(t, "UseStep(pending)", s.UseStep(ctx, u.ID, "a1", 200, t0), mfa.ErrNotFound)
	wantErr(t, "UseStep(other user)", s.UseStep(ctx, other.ID, "a2", 200, t0), mfa.ErrNotFound)

	// Abandoned enrolments expire; confirmed ones stay.
	if err := s.DeletePendingAuthenticators(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatalf("DeletePendingAuthenticators = %v", err)
	}
	list, _ = s.Authenticators(ctx, u.ID)
	if len(list) != 1 || list[0].ID != "a2" {
		t.Errorf("Authenticators after expiry = %v, want a2 only", list)
	}
	wantErr(t, "DeleteAuthenticator(a1 gone)", s.DeleteAuthenticator(ctx, u.ID, "a1"), mfa.ErrNotFound)
	wantErr(t, "DeleteAuthenticator(other user)", s.DeleteAuthenticator(ctx, other.ID, "a2"), mfa.ErrNotFound)
	if err := s.DeleteAuthenticator(ctx, u.ID, "a2"); err != nil {
		t.Fatalf("DeleteAuthenticator = %v", err)
	}
	list, _ = s.Authenticators(ctx, u.ID)
	if len(list) != 0 {
		t.Errorf("Authenticators after delete = %v, want none", list)
	}
}

func testReplaySequential(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mustAuthenticator(t, s, u.ID, "a", true) // confirmed at step 100
	tests := []struct {
		step uint64
		want error
	}{
		{100, mfa.ErrReplay}, // used by the confirmation
		{99, mfa.ErrReplay},  // an older code after a newer one
		{101, nil},
		{101, mfa.ErrReplay},
		{103, nil},
		{102, mfa.ErrReplay},
		{104, nil},
	}
	for _, tc := range tests {
		err := s.UseStep(ctx, u.ID, "a", tc.step, t0)
		if !errors.Is(err, tc.want) {
			t.Errorf("UseStep(%d) = %v, want %v", tc.step, err, tc.want)
		}
	}
	// Steps are per authenticator: a second phone has its own.
	mustAuthenticator(t, s, u.ID, "b", true)
	if err := s.UseStep(ctx, u.ID, "b", 101, t0); err != nil {
		t.Errorf("UseStep(b, 101) = %v, want nil", err)
	}
	list, _ := s.Authenticators(ctx, u.ID)
	if len(list) != 2 || list[0].LastStep != 104 || list[1].LastStep != 101 {
		t.Errorf("LastStep = %+v, want 104 and 101", list)
	}
}

func testReplayConcurrent(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mustAuthenticator(t, s, u.ID, "a", true)
	const n = 100
	var ok, replay atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			err := s.UseStep(ctx, u.ID, "a", 101, t0)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, mfa.ErrReplay):
				replay.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UseStep = %v", err)
	}
	if ok.Load() != 1 || replay.Load() != n-1 {
		t.Errorf("%d concurrent UseStep(101): %d accepted, %d replays, want 1 and %d", n, ok.Load(), replay.Load(), n-1)
	}
}

func testRecoveryCodes(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	other := mustUser(t, s, "eve")
	var hashes [][]byte
	for i := range 10 {
		hashes = append(hashes, bytes.Repeat([]byte{byte(i)}, 32))
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes, t0); err != nil {
		t.Fatalf("ReplaceRecoveryCodes = %v", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); n != 10 || err != nil {
		t.Errorf("RecoveryCodesLeft = %d, %v, want 10", n, err)
	}
	wantErr(t, "UseRecoveryCode(other user)", s.UseRecoveryCode(ctx, other.ID, hashes[3], t0), mfa.ErrNotFound)
	if err := s.UseRecoveryCode(ctx, u.ID, hashes[3], t0); err != nil {
		t.Fatalf("UseRecoveryCode = %v", err)
	}
	wantErr(t, "UseRecoveryCode again", s.UseRecoveryCode(ctx, u.ID, hashes[3], t0), mfa.ErrNotFound)
	wantErr(t, "UseRecoveryCode(unknown)", s.UseRecoveryCode(ctx, u.ID, []byte("nope"), t0), mfa.ErrNotFound)
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 9 {
		t.Errorf("RecoveryCodesLeft after one use = %d, want 9", n)
	}
	// Concurrent use of one code: exactly one success.
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if s.UseRecoveryCode(ctx, u.ID, hashes[5], t0) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("20 concurrent UseRecoveryCode: %d successes, want 1", ok.Load())
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes[:2], t0); err != nil {
		t.Fatalf("ReplaceRecoveryCodes = %v", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 2 {
		t.Errorf("RecoveryCodesLeft after replace = %d, want 2", n)
	}
	wantErr(t, "ReplaceRecoveryCodes(no user)", s.ReplaceRecoveryCodes(ctx, 999999, hashes[:1], t0), mfa.ErrNotFound)
}

func testSessions(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mk := func(name string, created time.Time) mfa.Session {
		sess := mfa.Session{TokenHash: []byte(fmt.Sprintf("%-32s", name)), UserID: u.ID, Level: mfa.LevelFull, Created: created, LastSeen: created}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession(%s) = %v", name, err)
		}
		return sess
	}
	a := mk("a", t0)
	b := mk("b", t0.Add(time.Hour))
	wantErr(t, "CreateSession(duplicate)", s.CreateSession(ctx, a), mfa.ErrConflict)
	wantErr(t, "CreateSession(no user)", s.CreateSession(ctx, mfa.Session{TokenHash: []byte("zz"), UserID: 999999,
		Level: mfa.LevelFull, Created: t0, LastSeen: t0}), mfa.ErrNotFound)
	got, err := s.Session(ctx, a.TokenHash)
	if err != nil {
		t.Fatalf("Session = %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("Session mismatch (-want +got):\n%s", diff)
	}
	if err := s.TouchSession(ctx, a.TokenHash, t0.Add(time.Minute)); err != nil {
		t.Fatalf("TouchSession = %v", err)
	}
	got, _ = s.Session(ctx, a.TokenHash)
	if !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastSeen after touch = %v, want %v", got.LastSeen, t0.Add(time.Minute))
	}
	// Expiry: a is older than the absolute limit, b is fresh.
	if err := s.DeleteExpiredSessions(ctx, t0.Add(30*time.Minute), t0); err != nil {
		t.Fatalf("DeleteExpiredSessions = %v", err)
	}
	_, err = s.Session(ctx, a.TokenHash)
	wantErr(t, "Session(expired)", err, mfa.ErrNotFound)
	if _, err := s.Session(ctx, b.TokenHash); err != nil {
		t.Errorf("Session(fresh) = %v", err)
	}
	c := mk("c", t0)
	if err := s.DeleteSession(ctx, c.TokenHash); err != nil {
		t.Errorf("DeleteSession = %v", err)
	}
	if err := s.DeleteSession(ctx, c.TokenHash); err != nil {
		t.Errorf("DeleteSession(absent) = %v, want nil", err)
	}
	mk("d", t0)
	if err := s.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUserSessions = %v", err)
	}
	_, err = s.Session(ctx, b.TokenHash)
	wantErr(t, "Session after DeleteUserSessions", err, mfa.ErrNotFound)
	wantErr(t, "TouchSession(gone)", s.TouchSession(ctx, b.TokenHash, t0), mfa.ErrNotFound)
}

var testPolicy = mfa.ThrottlePolicy{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}

func testThrottle(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	tests := []struct {
		at   time.Duration // after t0
		want time.Duration // retry after
	}{
		{0, 0}, {0, 0}, {0, 0}, // three free failures
		{0, time.Second},               // then 1s after the last
		{time.Second, 0},               // allowed, fourth failure
		{time.Second, 2 * time.Second}, // now 2s
		{3 * time.Second, 0},           // fifth
		{3 * time.Second, 4 * time.Second},
		{7 * time.Second, 0},  // sixth
		{15 * time.Second, 0}, // 8s, the maximum: seventh
		{16 * time.Second, 7 * time.Second},
		{23 * time.Second, 0}, // still 8s, never more
		{31 * time.Second, 0},
		{31*time.Second + time.Hour, 0}, // forgotten: counts from zero
		{31*time.Second + time.Hour, 0},
		{31*time.Second + time.Hour, 0},
		{31*time.Second + time.Hour, time.Second},
	}
	for i, tc := range tests {
		got, err := s.Attempt(ctx, "user:bob", testPolicy, t0.Add(tc.at))
		if err != nil || got != tc.want {
			t.Fatalf("attempt %d: Attempt(t0+%v) = %v, %v, want %v", i, tc.at, got, err, tc.want)
		}
	}
	// Free failures are free even when counted out of clock order (a
	// concurrent attempt that read the clock later was counted first).
	for range 2 {
		if got, _ := s.Attempt(ctx, "user:dave", testPolicy, t0.Add(time.Second)); got != 0 {
			t.Errorf("Attempt(free, later clock) = %v, want 0", got)
		}
	}
	if got, _ := s.Attempt(ctx, "user:dave", testPolicy, t0); got != 0 {
		t.Errorf("Attempt(free, earlier clock) = %v, want 0", got)
	}
	// Another key is independent.
	if got, _ := s.Attempt(ctx, "addr:192.0.2.1", testPolicy, t0.Add(31*time.Second+time.Hour)); got != 0 {
		t.Errorf("Attempt(other key) = %v, want 0", got)
	}
	// Forgive takes back one failure; Reset all.
	at := t0.Add(2 * time.Hour)
	for range 3 {
		s.Attempt(ctx, "user:carol", testPolicy, at)
	}
	if err := s.Forgive(ctx, "user:carol"); err != nil {
		t.Fatalf("Forgive = %v", err)
	}
	if got, _ := s.Attempt(ctx, "user:carol", testPolicy, at); got != 0 {
		t.Errorf("Attempt after Forgive = %v, want 0", got)
	}
	if got, _ := s.Attempt(ctx, "user:carol", testPolicy, at); got != time.Second {
		t.Errorf("Attempt with 3 failures = %v, want 1s", got)
	}
	if err := s.ResetThrottle(ctx, "user:carol"); err != nil {
		t.Fatalf("ResetThrottle = %v", err)
	}
	if got, _ := s.Attempt(ctx, "user:carol", testPolicy, at); got != 0 {
		t.Errorf("Attempt after Reset = %v, want 0", got)
	}
	if err := s.Forgive(ctx, "user:nobody"); err != nil {
		t.Errorf("Forgive(unknown key) = %v, want nil", err)
	}
}

func testThrottleConcurrent(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ra, err := s.Attempt(ctx, "user:bob", testPolicy, t0)
			if err != nil {
				t.Errorf("Attempt = %v", err)
			}
			if ra == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != int32(testPolicy.Free) {
		t.Errorf("50 concurrent attempts: %d allowed, want %d", allowed.Load(), testPolicy.Free)
	}
}

func testDeleteCascades(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mustAuthenticator(t, s, u.ID, "a", true)
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("h1")}, t0); err != nil {
		t.Fatal(err)
	}
	sess := mfa.Session{TokenHash: []byte("tok"), UserID: u.ID, Level: mfa.LevelFull, Created: t0, LastSeen: t0}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	// reset-totp: authenticators and recovery codes go, the user stays.
	if err := s.DeleteAuthenticators(ctx, u.ID); err != nil {
		t.Fatalf("DeleteAuthenticators = %v", err)
	}
	if list, _ := s.Authenticators(ctx, u.ID); len(list) != 0 {
		t.Errorf("Authenticators after DeleteAuthenticators = %v, want none", list)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Errorf("RecoveryCodesLeft after DeleteAuthenticators = %d, want 0", n)
	}
	mustAuthenticator(t, s, u.ID, "b", true)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Authenticators(ctx, u.ID); len(list) != 0 {
		t.Errorf("Authenticators of a deleted user = %v, want none", list)
	}
	_, err := s.Session(ctx, sess.TokenHash)
	wantErr(t, "Session of a deleted user", err, mfa.ErrNotFound)
}

// testKeyCheck: the store keeps the first key check value stored, and
// mfa.CheckKey on it refuses another key, also on a store whose secrets
// were sealed before any value was stored.
func testKeyCheck(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	cipher := func() *mfa.Cipher {
		key := make([]byte, mfa.KeySize)
		rand.Read(key)
		c, err := mfa.NewCipher(key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine, other := cipher(), cipher()

	// Secrets sealed before the store kept a value: the key is tried on
	// one of them, and another key stores nothing.
	u := mustUser(t, s, "bob")
	sealed, err := mine.Seal([]byte("12345678901234567890"), u.ID, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthenticator(ctx, mfa.Authenticator{ID: "a1", UserID: u.ID, Name: "phone", SealedSecret: sealed,
		Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmAuthenticator(ctx, u.ID, "a1", 100, t0, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CheckKey(another key, secrets stored)", mfa.CheckKey(ctx, s, other), mfa.ErrWrongKey)
	if value, _, err := s.KeyCheck(ctx); err != nil || value != nil {
		t.Fatalf("KeyCheck after a refused key = %x, %v; want nothing stored", value, err)
	}
	for range 2 {
		if err := mfa.CheckKey(ctx, s, mine); err != nil {
			t.Fatalf("CheckKey(the secrets' key) = %v", err)
		}
	}
	wantErr(t, "CheckKey(another key, value stored)", mfa.CheckKey(ctx, s, other), mfa.ErrWrongKey)

	// Of two values, the first stored stays.
	first, _, err := s.KeyCheck(ctx)
	if err != nil || first == nil {
		t.Fatalf("KeyCheck = %x, %v", first, err)
	}
	if got, err := s.SetKeyCheck(ctx, []byte("another value")); err != nil || !bytes.Equal(got, first) {
		t.Errorf("SetKeyCheck over a stored value = %x, %v; want the stored %x", got, err, first)
	}
}

// testImportAuthenticator: an import stores a confirmed authenticator with
// its last step and the recovery codes at once, or, for a user who has a
// confirmed authenticator, nothing; of concurrent imports for one user,
// one succeeds.
func testImportAuthenticator(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	pending := mustAuthenticator(t, s, u.ID, "pending", false)
	imported := func(id string, userID int64) mfa.Authenticator {
		return mfa.Authenticator{ID: id, UserID: userID, Name: "Imported file", SealedSecret: []byte("sealed-" + id),
			Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: t0, Confirmed: t0, LastUsed: t0, LastStep: 1234}
	}
	a := imported("i1", u.ID)
	if err := s.ImportAuthenticator(ctx, a, hashes(1, 2)); err != nil {
		t.Fatalf("ImportAuthenticator = %v", err)
	}
	list, err := s.Authenticators(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]mfa.Authenticator{a, pending}, list, cmpopts.SortSlices(func(x, y mfa.Authenticator) bool { return x.ID < y.ID })); diff != "" {
		t.Errorf("Authenticators after the import (-want +got):\n%s", diff)
	}
	wantErr(t, "UseStep(the imported last step)", s.UseStep(ctx, u.ID, "i1", 1234, t0), mfa.ErrReplay)
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 2 {
		t.Errorf("RecoveryCodesLeft after the import = %d, %v; want 2", n, err)
	}

	// A second import changes nothing: neither authenticators nor codes.
	wantErr(t, "ImportAuthenticator(confirmed already)", s.ImportAuthenticator(ctx, imported("i2", u.ID), hashes(7, 2)), mfa.ErrConflict)
	if list2, _ := s.Authenticators(ctx, u.ID); len(list2) != 2 {
		t.Errorf("authenticators after a refused import: %d, want 2", len(list2))
	}
	wantErr(t, "UseRecoveryCode(the refused import's)", s.UseRecoveryCode(ctx, u.ID, hashes(7, 2)[0], t0), mfa.ErrNotFound)
	if err := s.UseRecoveryCode(ctx, u.ID, hashes(1, 2)[0], t0); err != nil {
		t.Errorf("UseRecoveryCode(the import's) = %v", err)
	}
	wantErr(t, "ImportAuthenticator(no user)", s.ImportAuthenticator(ctx, imported("i3", 999999), nil), mfa.ErrNotFound)

	other := mustUser(t, s, "eve")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			err := s.ImportAuthenticator(ctx, imported(fmt.Sprintf("c%d", i), other.ID), hashes(byte(10*i), 2))
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, mfa.ErrConflict):
				t.Errorf("concurrent ImportAuthenticator = %v", err)
			}
		})
	}
	wg.Wait()
	list, _ = s.Authenticators(ctx, other.ID)
	if ok.Load() != 1 || len(list) != 1 {
		t.Errorf("10 concurrent imports: %d succeeded, %d authenticators; want 1 and 1", ok.Load(), len(list))
	}
	if n, _ := s.RecoveryCodesLeft(ctx, other.ID); n != 2 {
		t.Errorf("codes after concurrent imports = %d, want 2", n)
	}
}

// hashes returns n distinct 32-byte recovery code hashes starting at b.
func hashes(b byte, n int) [][]byte {
	hs := make([][]byte, n)
	for i := range hs {
		hs[i] = bytes.Repeat([]byte{b + byte(i)}, 32)
	}
	return hs
}

// testConfirmFirst: the first confirmed authenticator brings the user's
// recovery codes in its transaction, and of concurrent confirmations
// exactly one is first; later ones leave the codes alone.
func testConfirmFirst(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	const n = 10
	for i := range n {
		mustAuthenticator(t, s, u.ID, fmt.Sprintf("a%d", i), false)
	}
	var firsts atomic.Int32
	var firstSet atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			first, err := s.ConfirmAuthenticator(ctx, u.ID, fmt.Sprintf("a%d", i), 100, t0, hashes(byte(20*i), 3))
			if err != nil {
				t.Errorf("concurrent ConfirmAuthenticator(a%d) = %v", i, err)
			}
			if first {
				firsts.Add(1)
				firstSet.Store(int32(i))
			}
		})
	}
	wg.Wait()
	if firsts.Load() != 1 {
		t.Fatalf("%d concurrent confirmations: %d were first, want 1", n, firsts.Load())
	}
	if left, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || left != 3 {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 3", left, err)
	}
	for i := range n {
		err := s.UseRecoveryCode(ctx, u.ID, hashes(byte(20*i), 3)[0], t0)
		if i == int(firstSet.Load()) {
			if err != nil {
				t.Errorf("UseRecoveryCode(the first confirmation's code) = %v", err)
			}
			continue
		}
		wantErr(t, fmt.Sprintf("UseRecoveryCode(a%d's code, not first)", i), err, mfa.ErrNotFound)
	}

	// A refused confirmation changes nothing, codes included.
	other := mustUser(t, s, "eve")
	if _, err := s.ConfirmAuthenticator(ctx, other.ID, "missing", 100, t0, hashes(200, 3)); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("ConfirmAuthenticator(missing) = %v, want ErrNotFound", err)
	}
	if left, _ := s.RecoveryCodesLeft(ctx, other.ID); left != 0 {
		t.Errorf("codes after a refused confirmation = %d, want 0", left)
	}
	if _, err := s.ConfirmAuthenticator(ctx, 999999, "a0", 100, t0, hashes(200, 3)); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("ConfirmAuthenticator(no user) = %v, want ErrNotFound", err)
	}
}

// testThrottleState reads a key's count and wait without changing them,
// and deletes stale keys by their last failure.
func testThrottleState(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	if n, w, err := s.ThrottleState(ctx, "account:none", testPolicy, t0); err != nil || n != 0 || w != 0 {
		t.Errorf("ThrottleState(unknown key) = %d, %v, %v, want 0, 0", n, w, err)
	}
	for range testPolicy.Free + 1 {
		if _, err := s.Attempt(ctx, "account:bob", testPolicy, t0); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // reading changes nothing
		n, w, err := s.ThrottleState(ctx, "account:bob", testPolicy, t0.Add(300*time.Millisecond))
		// The last Attempt waited, so it was not counted.
		if err != nil || n != testPolicy.Free || w != 700*time.Millisecond {
			t.Fatalf("ThrottleState = %d, %v, %v, want %d, 0.7s", n, w, err, testPolicy.Free)
		}
	}
	if n, w, _ := s.ThrottleState(ctx, "account:bob", testPolicy, t0.Add(testPolicy.Forget)); n != 0 || w != 0 {
		t.Errorf("ThrottleState after Forget = %d, %v, want 0, 0", n, w)
	}
	if _, err := s.Attempt(ctx, "account:carol", testPolicy, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStaleThrottles(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.ThrottleState(ctx, "account:bob", testPolicy, t0.Add(time.Second)); n != 0 {
		t.Errorf("stale key after DeleteStaleThrottles counts %d, want 0 (deleted)", n)
	}
	if n, _, _ := s.ThrottleState(ctx, "account:carol", testPolicy, t0.Add(time.Hour)); n != 1 {
		t.Errorf("recent key after DeleteStaleThrottles counts %d, want 1 (kept)", n)
	}
}

// fill writes a row of every table through the store's methods and
// returns the dump of them, normalized.
func fill(t *testing.T, s mfa.Store) migrate.Dump {
	t.Helper()
	ctx := context.Background()
	setup := bytes.Repeat([]byte{5}, 32) // only while there is no user
	if err := s.CreateSetupToken(ctx, setup, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	alice := mustUser(t, s, "alice")
	alice.DisplayName, alice.Groups, alice.Admin, alice.Mail = "Alice Ünder", []string{"hpc", "staff"}, true, "alice@example.org"
	if err := s.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	gone := mustUser(t, s, "gone") // leaves a gap in the IDs
	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	bob := mustUser(t, s, "bob")
	confirmed := mustAuthenticator(t, s, alice.ID, "a1", true)
	pending := mustAuthenticator(t, s, bob.ID, "b1", false)
	codes := hashes(7, 2)
	if err := s.ReplaceRecoveryCodes(ctx, alice.ID, codes, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, alice.ID, codes[1], t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sess := mfa.Session{TokenHash: bytes.Repeat([]byte{9}, 32), UserID: bob.ID, Level: mfa.LevelPassword, Created: t0, LastSeen: t0.Add(time.Second)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	browser := mfa.TrustedBrowser{TokenHash: bytes.Repeat([]byte{0xb7}, 32), UserID: alice.ID, Created: t0, Expires: t0.Add(30 * 24 * time.Hour),
		LastUsed: t0.Add(time.Hour), UserAgent: "Firefox/140.0", Addr: "192.0.2.7"}
	if err := s.CreateTrustedBrowser(ctx, browser); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attempt(ctx, "user:bob", mfa.DefaultThrottles.Account, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	host, err := s.CreateHost(ctx, mfa.Host{Name: "login1", TokenHash: bytes.Repeat([]byte{6}, 32), AllowPassword: true, Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	audit := mfa.AuditEntry{Time: t0, User: "alice", Addr: "192.0.2.7", Path: mfa.PathPage, Action: mfa.ActionSignIn,
		Result: "ok", Reason: "clock off by +1 steps", Drift: 1}
	if err := s.AppendAudit(ctx, []mfa.AuditEntry{audit}); err != nil {
		t.Fatal(err)
	}
	logged, err := s.AuditLog(ctx, mfa.AuditFilter{})
	if err != nil || len(logged) != 1 {
		t.Fatalf("AuditLog() = %v, %v, want 1 entry", logged, err)
	}
	// The OpenID Connect clients and keys are moved; requests and tokens
	// are not.
	o := oidcStore(t, s)
	clients := []oidcstate.Client{
		{ID: "nextcloud", SecretHash: hash32(0xc1), RedirectURIs: []string{"https://cloud.example.org/apps/user_oidc/code"},
			PostLogoutRedirectURIs: []string{"https://cloud.example.org/"}, BackChannelLogoutURI: "https://cloud.example.org/bcl",
			RequireSecondFactor: true, Created: t0},
		{ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]/callback"}, Created: t0.Add(time.Second)},
	}
	for _, c := range clients {
		if err := o.CreateOIDCClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	keys := []oidcstate.SigningKey{
		{ID: "k1", Algorithm: "RS256", Sealed: []byte("sealed-k1"), Created: t0, SignFrom: t0, RetireAt: t0.Add(48 * time.Hour)},
		{ID: "k2", Algorithm: "ES256", Sealed: []byte("sealed-k2"), Created: t0.Add(time.Hour), SignFrom: t0.Add(25 * time.Hour)},
	}
	for _, k := range keys {
		if err := o.CreateSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	mustRequest(t, o, "req1", "nextcloud", alice.ID, hash32(0xc2))
	mustAccess(t, o, "at1", "nextcloud", alice.ID, "F1", "sid-1")
	mustRefresh(t, o, hash32(0xc3), "F1", "nextcloud", alice.ID, "sid-1")
	if err := o.AddSessionClient(ctx, "sid-1", alice.ID, "nextcloud", t0); err != nil {
		t.Fatal(err)
	}
	rule, err := s.CreateEnforceRule(ctx, mfa.EnforceRecord{Groups: []string{"hpc", "staff"}, Deadline: "2027-01-15", Except: []string{"guests"},
		Updated: t0, UpdatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	d := migrate.Dump{
		OIDCClients:    clients,
		SigningKeys:    keys,
		EnforceRules:   []mfa.EnforceRecord{rule},
		Hosts:          []mfa.Host{host},
		Audit:          logged,
		Users:          []mfa.User{alice, bob},
		Authenticators: []mfa.Authenticator{confirmed, pending},
		RecoveryCodes: []migrate.RecoveryCode{
			{UserID: alice.ID, Hash: codes[0], Created: t0},
			{UserID: alice.ID, Hash: codes[1], Created: t0, Used: t0.Add(time.Minute)},
		},
		Sessions:        []mfa.Session{sess},
		TrustedBrowsers: []mfa.TrustedBrowser{browser},
		SetupTokens:     []migrate.SetupToken{{Hash: setup, Expires: t0.Add(time.Hour)}},
		Throttle:        []migrate.ThrottleEntry{{Key: "user:bob", Failures: 1, LastFailure: t0.Add(2 * time.Second)}},
	}
	d.Normalize()
	return d
}

// export reads every row of s, normalized.
func export(t *testing.T, s mfa.Store) migrate.Dump {
	t.Helper()
	ex, ok := s.(migrate.Exporter)
	if !ok {
		t.Fatalf("%T has no Export method", s)
	}
	d, err := ex.Export(context.Background())
	if err != nil {
		t.Fatalf("Export() = %v", err)
	}
	d.Normalize()
	return d
}

// testExport checks that Export reads back exactly the rows written
// through the store's methods (otpgate migrate-store compares the
// checksums of two stores' exports, so each must read what the other wrote
// in the same way).
func testExport(t *testing.T, s mfa.Store) {
	want := fill(t, s)
	if diff := cmp.Diff(want, export(t, s)); diff != "" {
		t.Errorf("Export() differs from what was written (-want +got):\n%s", diff)
	}
}

// testImport moves the rows of one store into an empty one with Import,
// and checks that they read back the same, that users, hosts and
// enforcement rules keep their IDs and new ones come after them, that a store not empty is refused, and that a
// failed import leaves nothing.
func testImport(t *testing.T, open func(t *testing.T) mfa.Store) {
	ctx := context.Background()
	opened := func() mfa.Store {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		if _, ok := s.(migrate.Importer); !ok {
			t.Fatalf("%T has no Import method", s)
		}
		return s
	}
	src, dst := opened(), opened()
	want := fill(t, src)
	if err := dst.(migrate.Importer).Import(ctx, export(t, src)); err != nil {
		t.Fatalf("Import() = %v", err)
	}
	if diff := cmp.Diff(want, export(t, dst)); diff != "" {
		t.Errorf("Export() after Import() differs from what was imported (-want +got):\n%s", diff)
	}
	carol := mustUser(t, dst, "carol")
	if last := want.Users[len(want.Users)-1].ID; carol.ID <= last {
		t.Errorf("new user's ID after Import() = %d, want after the imported ones (%d)", carol.ID, last)
	}
	h, err := dst.CreateHost(ctx, mfa.Host{Name: "login2", TokenHash: bytes.Repeat([]byte{8}, 32), Created: t0})
	if err != nil {
		t.Errorf("CreateHost after Import() = %v", err)
	} else if last := want.Hosts[len(want.Hosts)-1].ID; h.ID <= last {
		t.Errorf("new host's ID after Import() = %d, want after the imported ones (%d)", h.ID, last)
	}
	if err := oidcStore(t, dst).CreateAuthRequest(ctx, oidcstate.AuthRequest{ID: "after", ClientID: want.OIDCClients[0].ID, MaxAge: -1, Created: t0}); err != nil {
		t.Errorf("CreateAuthRequest for an imported client = %v", err)
	}
	r, err := dst.CreateEnforceRule(ctx, mfa.EnforceRecord{Groups: []string{"physics"}, Deadline: "2027-03-01", Updated: t0})
	if err != nil {
		t.Errorf("CreateEnforceRule after Import() = %v", err)
	} else if last := want.EnforceRules[len(want.EnforceRules)-1].ID; r.ID <= last {
		t.Errorf("new enforcement rule's ID after Import() = %d, want after the imported ones (%d)", r.ID, last)
	}
	wantErr(t, "Import(into a store not empty)", dst.(migrate.Importer).Import(ctx, want), mfa.ErrConflict)
	onlyClient := opened()
	mustClient(t, oidcStore(t, onlyClient), "app")
	wantErr(t, "Import(into a store holding a client)", onlyClient.(migrate.Importer).Import(ctx, want), mfa.ErrConflict)

	// An authenticator of a user the dump lacks fails the import, which
	// leaves the store empty.
	bad := export(t, src)
	bad.Users = bad.Users[:1]
	empty := opened()
	if err := empty.(migrate.Importer).Import(ctx, bad); err == nil {
		t.Errorf("Import(authenticator without its user) = nil, want an error")
	}
	if diff := cmp.Diff(migrate.Dump{}, export(t, empty), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("store after a failed Import() (-want +got):\n%s", diff)
	}
}

// testUserSource stores users of a source with their external IDs: found
// by them, renamed in place, one external ID per source.
func testUserSource(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	local := mustUser(t, s, "local")
	if local.Source != "" {
		t.Errorf("a user made without a source has Source %q, want \"\" (local)", local.Source)
	}
	u, err := s.CreateUser(ctx, mfa.User{Name: "alice", Source: "ldap", ExternalID: "uuid-1", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, mfa.User{Name: "alice2", Source: "ldap", ExternalID: "uuid-1", Created: t0}); !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("CreateUser(same source and external ID) = %v, want ErrConflict", err)
	}
	if _, err := s.CreateUser(ctx, mfa.User{Name: "alice3", Source: "pam", ExternalID: "uuid-1", Created: t0}); err != nil {
		t.Errorf("CreateUser(same external ID, other source) = %v, want nil", err)
	}
	got, err := s.UserByExternalID(ctx, "ldap", "uuid-1")
	if err != nil || got.ID != u.ID || got.Source != "ldap" || got.ExternalID != "uuid-1" {
		t.Errorf("UserByExternalID = %+v, %v, want alice", got, err)
	}
	_, err = s.UserByExternalID(ctx, "ldap", "uuid-2")
	wantErr(t, "UserByExternalID(unknown)", err, mfa.ErrNotFound)
	got.Name = "alice.renamed"
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatalf("UpdateUser(rename) = %v", err)
	}
	if r, err := s.UserByName(ctx, "alice.renamed"); err != nil || r.ID != u.ID {
		t.Errorf("UserByName(new name) = %+v, %v, want alice's record", r, err)
	}
	got.Name = "local"
	wantErr(t, "UpdateUser(a name taken)", s.UpdateUser(ctx, got), mfa.ErrConflict)
}

// testHosts registers hosts by the hashes of their tokens: found by the
// hash, one name and one hash each, listed by name, removed by name.
func testHosts(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	hash := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	if hosts, err := s.Hosts(ctx); err != nil || len(hosts) != 0 {
		t.Errorf("Hosts() of an empty store = %v, %v, want none", hosts, err)
	}
	web, err := s.CreateHost(ctx, mfa.Host{Name: "web1", TokenHash: hash(1), Created: t0})
	if err != nil {
		t.Fatalf("CreateHost(web1) = %v", err)
	}
	login, err := s.CreateHost(ctx, mfa.Host{Name: "login1", TokenHash: hash(2), AllowPassword: true, Created: t0.Add(time.Second)})
	if err != nil {
		t.Fatalf("CreateHost(login1) = %v", err)
	}
	if web.ID == 0 || login.ID == 0 || web.ID == login.ID {
		t.Errorf("CreateHost IDs = %d, %d, want distinct non-zero", web.ID, login.ID)
	}
	_, err = s.CreateHost(ctx, mfa.Host{Name: "web1", TokenHash: hash(3), Created: t0})
	wantErr(t, "CreateHost(a name taken)", err, mfa.ErrConflict)
	_, err = s.CreateHost(ctx, mfa.Host{Name: "web2", TokenHash: hash(2), Created: t0})
	wantErr(t, "CreateHost(a token hash taken)", err, mfa.ErrConflict)

	got, err := s.HostByTokenHash(ctx, hash(2))
	if err != nil {
		t.Fatalf("HostByTokenHash(login1's) = %v", err)
	}
	if diff := cmp.Diff(login, got); diff != "" {
		t.Errorf("HostByTokenHash(login1's) mismatch (-want +got):\n%s", diff)
	}
	_, err = s.HostByTokenHash(ctx, hash(9))
	wantErr(t, "HostByTokenHash(unknown)", err, mfa.ErrNotFound)
	hosts, err := s.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]mfa.Host{login, web}, hosts); diff != "" {
		t.Errorf("Hosts() mismatch, want ordered by name (-want +got):\n%s", diff)
	}

	if err := s.DeleteHost(ctx, "web1"); err != nil {
		t.Fatalf("DeleteHost(web1) = %v", err)
	}
	wantErr(t, "DeleteHost(web1) again", s.DeleteHost(ctx, "web1"), mfa.ErrNotFound)
	_, err = s.HostByTokenHash(ctx, hash(1))
	wantErr(t, "HostByTokenHash(a removed host's)", err, mfa.ErrNotFound)
	if _, err := s.CreateHost(ctx, mfa.Host{Name: "web1", TokenHash: hash(4), Created: t0}); err != nil {
		t.Errorf("CreateHost(web1) after its removal = %v, want nil", err)
	}
}

// testAudit appends entries to the audit log and reads them back through
// every filter, newest first and paged, then prunes by age and by count.
func testAudit(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	var in []mfa.AuditEntry
	for i := range 10 {
		e := mfa.AuditEntry{Time: t0.Add(time.Duration(i) * time.Minute), User: []string{"alice", "bob"}[i%2], Addr: "192.0.2.7",
			Path: mfa.PathPage, Action: mfa.ActionSignIn, Result: "ok"}
		if i%3 == 0 {
			e.Result, e.Reason, e.Path = "credentials_wrong", "wrong password", mfa.PathAPI
		}
		if i == 9 {
			e.Action, e.Actor = mfa.ActionReset, "root"
		}
		in = append(in, e)
	}
	// Two batches, as the writer sends them.
	if err := s.AppendAudit(ctx, in[:4]); err != nil {
		t.Fatalf("AppendAudit() = %v", err)
	}
	if err := s.AppendAudit(ctx, in[4:]); err != nil {
		t.Fatalf("AppendAudit() = %v", err)
	}
	all, err := s.AuditLog(ctx, mfa.AuditFilter{})
	if err != nil {
		t.Fatalf("AuditLog() = %v", err)
	}
	if len(all) != 10 {
		t.Fatalf("AuditLog() = %d entries, want 10", len(all))
	}
	for i, e := range all {
		want := in[9-i]
		want.ID = e.ID
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("AuditLog()[%d] (-want +got):\n%s", i, diff)
		}
		if i > 0 && e.ID >= all[i-1].ID {
			t.Errorf("AuditLog()[%d].ID = %d, not below the one before (%d): want newest first", i, e.ID, all[i-1].ID)
		}
	}
	tests := []struct {
		name string
		f    mfa.AuditFilter
		want int
	}{
		{"user", mfa.AuditFilter{User: "alice"}, 5},
		{"path", mfa.AuditFilter{Path: mfa.PathAPI}, 4},
		{"result", mfa.AuditFilter{Result: "ok"}, 6},
		{"failed", mfa.AuditFilter{Failed: true}, 4},
		{"action", mfa.AuditFilter{Action: mfa.ActionReset}, 1},
		{"since", mfa.AuditFilter{Since: t0.Add(5 * time.Minute)}, 5},
		{"until", mfa.AuditFilter{Until: t0.Add(5 * time.Minute)}, 5},
		{"user and failed", mfa.AuditFilter{User: "bob", Failed: true}, 2},
		{"limit", mfa.AuditFilter{Limit: 3}, 3},
		{"next page", mfa.AuditFilter{Before: all[2].ID, Limit: 100}, 7},
	}
	for _, tc := range tests {
		got, err := s.AuditLog(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("AuditLog(%s) = %d entries, %v, want %d", tc.name, len(got), err, tc.want)
		}
	}
	if err := s.PruneAudit(ctx, t0.Add(2*time.Minute), 0); err != nil {
		t.Fatalf("PruneAudit(by age) = %v", err)
	}
	if got, _ := s.AuditLog(ctx, mfa.AuditFilter{}); len(got) != 8 {
		t.Errorf("after PruneAudit(by age): %d entries, want 8", len(got))
	}
	if err := s.PruneAudit(ctx, t0, 3); err != nil {
		t.Fatalf("PruneAudit(by count) = %v", err)
	}
	got, _ := s.AuditLog(ctx, mfa.AuditFilter{})
	if len(got) != 3 || got[0].ID != all[0].ID {
		t.Errorf("after PruneAudit(keep 3): %d entries, newest %v, want the newest 3", len(got), got)
	}
}

// testSearchUsers pages through a prefix search by name, with names that
// hold LIKE's wildcards, and lists a user's sessions newest first.
func testSearchUsers(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	for _, n := range []string{"ann", "anna", "ann_b", "annxb", "anne", "bob", "an", "zoe"} {
		mustUser(t, s, n)
	}
	names := func(us []mfa.User) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"ann", "", 10, "[ann ann_b anna anne annxb]"},
		{"ann", "", 2, "[ann ann_b]"},
		{"ann", "ann_b", 2, "[anna anne]"},
		{"ann", "anne", 10, "[annxb]"},
		{"ann_", "", 10, "[ann_b]"},
		{"", "", 3, "[an ann ann_b]"},
		{"", "bob", 10, "[zoe]"},
		{"x", "", 10, "[]"},
	}
	for _, tc := range tests {
		got, err := s.SearchUsers(ctx, tc.prefix, tc.after, tc.limit)
		if err != nil || names(got) != tc.want {
			t.Errorf("SearchUsers(%q, %q, %d) = %s, %v, want %s", tc.prefix, tc.after, tc.limit, names(got), err, tc.want)
		}
	}
	bob, _ := s.UserByName(ctx, "bob")
	for i := range 3 {
		if err := s.CreateSession(ctx, mfa.Session{TokenHash: bytes.Repeat([]byte{byte(i + 1)}, 32), UserID: bob.ID, Level: mfa.LevelFull,
			Created: t0.Add(time.Duration(i) * time.Minute), LastSeen: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	sess, err := s.UserSessions(ctx, bob.ID)
	if err != nil || len(sess) != 3 || sess[0].TokenHash[0] != 3 || !sess[0].Created.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("UserSessions(bob) = %v, %v, want 3, newest first", sess, err)
	}
}
