package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// RunShared runs the checks of the OpenID Connect state that need two
// stores on one database, as two server instances (two processes) have:
// open returns two stores opened separately on the same new, empty
// database; RunShared closes them. Of concurrent redemptions of one code
// spread over both, one succeeds; of concurrent rotations of one refresh
// token, one succeeds and the family is revoked.
func RunShared(t *testing.T, open func(t *testing.T) (mfa.Store, mfa.Store)) {
	tests := []struct {
		name string
		f    func(t *testing.T, s mfa.Store, stores []oidcstate.Store)
	}{
		{"TakeAuthCode", raceTakeAuthCode},
		{"RotateRefreshToken", raceRotateRefreshToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() {
				for _, s := range []mfa.Store{a, b} {
					if err := s.Close(); err != nil {
						t.Errorf("Close() = %v", err)
					}
				}
			})
			tc.f(t, a, []oidcstate.Store{oidcStore(t, a), oidcStore(t, b)})
		})
	}
}

// testOIDCTakeConcurrent: of many concurrent redemptions of a code on one
// store, one gets the request.
func testOIDCTakeConcurrent(t *testing.T, s mfa.Store) {
	raceTakeAuthCode(t, s, []oidcstate.Store{oidcStore(t, s)})
}

// testOIDCRotateConcurrent: of concurrent rotations of one refresh token on
// one store, one succeeds and the family is revoked.
func testOIDCRotateConcurrent(t *testing.T, s mfa.Store) {
	raceRotateRefreshToken(t, s, []oidcstate.Store{oidcStore(t, s)})
}

// raceTakeAuthCode sends each of several codes to 32 concurrent
// TakeAuthCode calls, spread over stores (on one database; s is one of
// them): exactly one gets the request, every other mfa.ErrNotFound.
func raceTakeAuthCode(t *testing.T, s mfa.Store, stores []oidcstate.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mustClient(t, stores[0], "app")
	const rounds, n = 4, 32
	for round := range rounds {
		id := fmt.Sprintf("req%d", round)
		code := hash32(byte(0x10 + round))
		mustRequest(t, stores[0], id, "app", u.ID, code)
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			o := stores[i%len(stores)]
			wg.Go(func() {
				<-start
				r, err := o.TakeAuthCode(ctx, code, t0)
				switch {
				case err == nil && r.ID == id && r.UserID == u.ID:
					won.Add(1)
				case errors.Is(err, mfa.ErrNotFound):
					lost.Add(1)
				default:
					t.Errorf("TakeAuthCode = %+v, %v", r, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || lost.Load() != n-1 {
			t.Errorf("round %d: %d concurrent TakeAuthCode on %d store(s): %d got the request, %d not found; want 1 and %d",
				round, n, len(stores), won.Load(), lost.Load(), n-1)
		}
	}
}

// raceRotateRefreshToken rotates one refresh token from 2, then 16,
// concurrent callers spread over stores: one succeeds, at least one gets
// oidcstate.ErrReused and the others mfa.ErrNotFound (the family is gone by
// then), and afterwards nothing of the family is left, neither the
// winner's new token nor the access token issued with the family.
func raceRotateRefreshToken(t *testing.T, s mfa.Store, stores []oidcstate.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	mustClient(t, stores[0], "app")
	for round, n := range []int{2, 2, 16, 16} {
		family := fmt.Sprintf("F%d", round)
		old := sha256.Sum256([]byte(family))
		mustRefresh(t, stores[0], old[:], family, "app", u.ID, "s1")
		mustAccess(t, stores[0], "at-"+family, "app", u.ID, family, "s1")
		var ok, reused, gone atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		nexts := make([][]byte, n)
		for i := range n {
			next := sha256.Sum256(fmt.Appendf(nil, "%s-%d", family, i))
			nexts[i] = next[:]
			o := stores[i%len(stores)]
			wg.Go(func() {
				<-start
				err := o.RotateRefreshToken(ctx, old[:], oidcstate.RefreshToken{Hash: next[:], Created: t0, Expires: t0.Add(time.Hour)}, t0)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, oidcstate.ErrReused):
					reused.Add(1)
				case errors.Is(err, mfa.ErrNotFound):
					gone.Add(1)
				default:
					t.Errorf("RotateRefreshToken = %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || reused.Load() < 1 || ok.Load()+reused.Load()+gone.Load() != int32(n) {
			t.Errorf("round %d: %d concurrent rotations on %d store(s): %d succeeded, %d reused, %d not found; want 1, at least 1, the rest",
				round, n, len(stores), ok.Load(), reused.Load(), gone.Load())
		}
		for _, h := range append(nexts, old[:]) {
			if _, err := stores[0].RefreshToken(ctx, h); !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("round %d: RefreshToken(%x) after the race = %v, want the family revoked", round, h[:4], err)
			}
		}
		if _, err := stores[0].AccessToken(ctx, "at-"+family, t0); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("round %d: AccessToken of the family after the race = %v, want it revoked", round, err)
		}
	}
}

// testOIDCCascades: deleting a client removes its requests, tokens and
// session links, of every user; deleting a user removes the user's, of
// every client; the others' stay.
func testOIDCCascades(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	bob := mustUser(t, s, "bob")
	eve := mustUser(t, s, "eve")
	mustClient(t, o, "app")
	mustClient(t, o, "keep")
	// What each (user, client) pair holds, by a tag: a completed request
	// with a code, an access token, a refresh token of a family, a
	// session link.
	type holding struct {
		user   int64
		client string
		b      byte
	}
	holdings := []holding{{bob.ID, "app", 1}, {bob.ID, "keep", 2}, {eve.ID, "app", 3}, {eve.ID, "keep", 4}}
	for _, h := range holdings {
		tag := fmt.Sprint(h.b)
		mustRequest(t, o, "req"+tag, h.client, h.user, hash32(0x80+h.b))
		mustAccess(t, o, "at"+tag, h.client, h.user, "", "sid"+tag)
		mustRefresh(t, o, hash32(h.b), "F"+tag, h.client, h.user, "sid"+tag)
		if err := o.AddSessionClient(ctx, "sid"+tag, h.user, h.client, t0); err != nil {
			t.Fatal(err)
		}
	}
	pending := mustRequest(t, o, "pending", "keep", 0, nil)
	check := func(when string, want map[byte]bool) {
		t.Helper()
		for b, present := range want {
			tag := fmt.Sprint(b)
			_, errReq := o.AuthRequest(ctx, "req"+tag)
			_, errAT := o.AccessToken(ctx, "at"+tag, t0)
			_, errRT := o.RefreshToken(ctx, hash32(b))
			links, errSC := o.SessionClients(ctx, "sid"+tag)
			if errSC != nil {
				t.Errorf("%s: SessionClients = %v", when, errSC)
			}
			for what, got := range map[string]bool{"request": errReq == nil, "access token": errAT == nil, "refresh token": errRT == nil, "session link": len(links) == 1} {
				if got != present {
					t.Errorf("%s: %s of holding %d present = %v, want %v", when, what, b, got, present)
				}
			}
		}
	}
	if err := o.DeleteOIDCClient(ctx, "app"); err != nil {
		t.Fatalf("DeleteOIDCClient = %v", err)
	}
	check("after DeleteOIDCClient(app)", map[byte]bool{1: false, 2: true, 3: false, 4: true})
	if err := s.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatalf("DeleteUser = %v", err)
	}
	check("after DeleteUser(bob)", map[byte]bool{2: false, 4: true})
	if all, err := o.UserSessionClients(ctx, bob.ID); err != nil || len(all) != 0 {
		t.Errorf("UserSessionClients(deleted user) = %v, %v, want none", all, err)
	}
	if _, err := o.AuthRequest(ctx, pending.ID); err != nil {
		t.Errorf("AuthRequest(nobody's yet) after DeleteUser = %v, want it kept", err)
	}
}
