package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// testSeveralAuthenticators: a user's authenticators are listed, renamed
// and removed one by one, the others staying as they were.
func testSeveralAuthenticators(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	other := mustUser(t, s, "eve")
	for _, id := range []string{"a", "b", "c"} {
		mustAuthenticator(t, s, u.ID, id, id != "c")
	}
	if err := s.RenameAuthenticator(ctx, u.ID, "b", "Tablet ünd"); err != nil {
		t.Fatalf("RenameAuthenticator(b) = %v", err)
	}
	wantErr(t, "RenameAuthenticator(missing)", s.RenameAuthenticator(ctx, u.ID, "missing", "x"), mfa.ErrNotFound)
	wantErr(t, "RenameAuthenticator(another user's)", s.RenameAuthenticator(ctx, other.ID, "a", "x"), mfa.ErrNotFound)
	wantErr(t, "DeleteAuthenticator(another user's)", s.DeleteAuthenticator(ctx, other.ID, "a"), mfa.ErrNotFound)
	if err := s.DeleteAuthenticator(ctx, u.ID, "a"); err != nil {
		t.Fatalf("DeleteAuthenticator(a) = %v", err)
	}
	list, err := s.Authenticators(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != "b" || list[0].Name != "Tablet ünd" || list[0].Confirmed.IsZero() || list[1].ID != "c" || !list[1].Confirmed.IsZero() {
		t.Errorf("after renaming b and removing a: %+v, %v", list, err)
	}
	if err := s.UseStep(ctx, u.ID, "b", 101, t0); err != nil {
		t.Errorf("UseStep(b, 101) after removing a = %v", err)
	}
}

// testRemoveDuringSignIn: an authenticator removed while its code is
// being accepted is either used then removed, or gone (ErrNotFound):
// never accepted after its removal, and the others are untouched.
func testRemoveDuringSignIn(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	for i := range 20 {
		id := fmt.Sprintf("r%d", i)
		mustAuthenticator(t, s, u.ID, id, true)
		var wg sync.WaitGroup
		var useErr, delErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; useErr = s.UseStep(ctx, u.ID, id, 101, t0) })
		wg.Go(func() { <-start; delErr = s.DeleteAuthenticator(ctx, u.ID, id) })
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Errorf("DeleteAuthenticator(%s) during UseStep = %v", id, delErr)
		}
		if useErr != nil && !errors.Is(useErr, mfa.ErrNotFound) {
			t.Errorf("UseStep(%s) during DeleteAuthenticator = %v, want nil or ErrNotFound", id, useErr)
		}
		wantErr(t, "UseStep after removal", s.UseStep(ctx, u.ID, id, 102, t0), mfa.ErrNotFound)
	}
	if list, _ := s.Authenticators(ctx, u.ID); len(list) != 0 {
		t.Errorf("%d authenticators left, want 0", len(list))
	}
}

// testSharedStep runs the service on the store: two authenticators whose
// codes agree at one time step (the same key added twice) accept that
// code once between them, also when 20 sign-ins send it at once.
func testSharedStep(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	cipher, err := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 4, 0, 0, 15, 0, time.UTC)
	svc := mfa.NewService(mfa.Deps{Store: s, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.HashLimits{Concurrent: 4, Queue: 64})},
		mfa.Options{Window: otp.Skew(1), Throttles: mfa.Throttles{Code: mfa.ThrottlePolicy{Free: 100, Base: time.Second, Max: time.Second, Forget: time.Hour}}})
	u, err := svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"})
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: []byte("12345678901234567890"), Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second}
	for _, id := range []string{"aaaa", "bbbb"} {
		sealed, err := cipher.Seal(key.Secret, u.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		a := mfa.Authenticator{ID: id, UserID: u.ID, Name: id, SealedSecret: sealed, Algorithm: key.Algorithm,
			Digits: key.Digits, Period: key.Period, Created: now}
		if err := s.CreateAuthenticator(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmAuthenticator(ctx, u.ID, id, key.Step(now)-3, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	for round, at := range []time.Time{now, now.Add(30 * time.Second)} {
		code := key.TOTP(at)
		const n = 20
		var ok, reused atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				res, err := svc.SecondFactor(ctx, u.ID, code)
				switch {
				case err != nil:
					t.Errorf("SecondFactor = %v", err)
				case res.Outcome == mfa.OK:
					ok.Add(1)
				case res.Reason == mfa.ReasonCodeReused:
					reused.Add(1)
				default:
					t.Errorf("SecondFactor = %v (%v), want OK or code already used", res.Outcome, res.Reason)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || reused.Load() != n-1 {
			t.Errorf("round %d: %d concurrent sign-ins with one code shared by two authenticators: %d accepted, %d reused, want 1 and %d",
				round, n, ok.Load(), reused.Load(), n-1)
		}
		res, err := svc.Login(ctx, mfa.LoginAttempt{Name: "alice", Password: "alice password", Code: code})
		if err != nil || res.Outcome != mfa.BadCode || res.Reason != mfa.ReasonCodeReused {
			t.Errorf("round %d: the code again on the one form = %v (%v), %v, want code already used", round, res.Outcome, res.Reason, err)
		}
	}
}
