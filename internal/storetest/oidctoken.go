package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// mustAccess stores an access token valid until t0+5min.
func mustAccess(t *testing.T, o oidcstate.Store, id, client string, user int64, family, sid string) oidcstate.AccessToken {
	t.Helper()
	a := oidcstate.AccessToken{ID: id, ClientID: client, UserID: user, Scopes: []string{"openid", "groups"}, Audience: []string{client},
		RefreshFamily: family, SessionID: sid, Expires: t0.Add(5 * time.Minute)}
	if err := o.CreateAccessToken(context.Background(), a); err != nil {
		t.Fatalf("CreateAccessToken(%s) = %v", id, err)
	}
	return a
}

// mustRefresh stores the first refresh token of a family, valid until
// t0+24h.
func mustRefresh(t *testing.T, o oidcstate.Store, hash []byte, family, client string, user int64, sid string) oidcstate.RefreshToken {
	t.Helper()
	r := oidcstate.RefreshToken{Hash: hash, Family: family, ClientID: client, UserID: user, Scopes: []string{"openid", "offline_access"},
		Audience: []string{client}, AMR: []string{"pwd", "otp"}, AuthTime: t0.Add(-time.Minute), SessionID: sid, Created: t0, Expires: t0.Add(24 * time.Hour)}
	if err := o.CreateRefreshToken(context.Background(), r); err != nil {
		t.Fatalf("CreateRefreshToken(%s) = %v", family, err)
	}
	return r
}

// checkTokens checks which of the access tokens (by ID) and refresh tokens
// (by the byte of hash32) named are in the store at t0: those mapped to
// true, and not those mapped to false.
func checkTokens(t *testing.T, o oidcstate.Store, when string, access map[string]bool, refresh map[byte]bool) {
	t.Helper()
	ctx := context.Background()
	for id, want := range access {
		_, err := o.AccessToken(ctx, id, t0)
		if err != nil && !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("%s: AccessToken(%s) = %v", when, id, err)
		}
		if got := err == nil; got != want {
			t.Errorf("%s: access token %s present = %v, want %v", when, id, got, want)
		}
	}
	for b, want := range refresh {
		_, err := o.RefreshToken(ctx, hash32(b))
		if err != nil && !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("%s: RefreshToken(%#x) = %v", when, b, err)
		}
		if got := err == nil; got != want {
			t.Errorf("%s: refresh token %#x present = %v, want %v", when, b, got, want)
		}
	}
}

func testOIDCAccessTokens(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	u := mustUser(t, s, "bob")
	mustClient(t, o, "app")
	a := mustAccess(t, o, "at1", "app", u.ID, "", "sid-1")
	wantErr(t, "CreateAccessToken(ID taken)", o.CreateAccessToken(ctx, a), mfa.ErrConflict)
	bad := a
	bad.ID, bad.ClientID = "at2", "unknown"
	wantErr(t, "CreateAccessToken(unknown client)", o.CreateAccessToken(ctx, bad), mfa.ErrNotFound)
	bad = a
	bad.ID, bad.UserID = "at3", 999999
	wantErr(t, "CreateAccessToken(unknown user)", o.CreateAccessToken(ctx, bad), mfa.ErrNotFound)
	got, err := o.AccessToken(ctx, "at1", a.Expires.Add(-time.Microsecond))
	if err != nil {
		t.Fatalf("AccessToken(just before expiry) = %v", err)
	}
	if diff := cmp.Diff(a, got, equateEmpty); diff != "" {
		t.Errorf("AccessToken mismatch (-want +got):\n%s", diff)
	}
	_, err = o.AccessToken(ctx, "at1", a.Expires)
	wantErr(t, "AccessToken(at expiry)", err, mfa.ErrNotFound)
	_, err = o.AccessToken(ctx, "at2", t0)
	wantErr(t, "AccessToken(unknown)", err, mfa.ErrNotFound)
	if err := o.DeleteAccessToken(ctx, "at1"); err != nil {
		t.Errorf("DeleteAccessToken = %v", err)
	}
	_, err = o.AccessToken(ctx, "at1", t0)
	wantErr(t, "AccessToken(deleted)", err, mfa.ErrNotFound)
	if err := o.DeleteAccessToken(ctx, "at1"); err != nil {
		t.Errorf("DeleteAccessToken(absent) = %v, want nil", err)
	}
}

// testOIDCRefreshTokens rotates a refresh token, refuses what must be
// refused without changing anything, and revokes the family on a reuse.
func testOIDCRefreshTokens(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	u := mustUser(t, s, "bob")
	mustClient(t, o, "app")
	mustClient(t, o, "other")
	first := mustRefresh(t, o, hash32(1), "F1", "app", u.ID, "s1")
	mustAccess(t, o, "at1", "app", u.ID, "F1", "s1")
	mustRefresh(t, o, hash32(2), "F2", "app", u.ID, "s1")
	mustAccess(t, o, "at2", "app", u.ID, "F2", "s1")

	again := first
	again.Hash = hash32(3)
	wantErr(t, "CreateRefreshToken(family exists)", o.CreateRefreshToken(ctx, again), mfa.ErrConflict)
	again = first
	again.Family = "F3"
	wantErr(t, "CreateRefreshToken(hash taken)", o.CreateRefreshToken(ctx, again), mfa.ErrConflict)
	again.Hash = hash32(3)
	if err := o.CreateRefreshToken(ctx, again); err != nil {
		t.Errorf("CreateRefreshToken(the family of a refused one) = %v, want nil: a refused create leaves nothing", err)
	}
	again.Family, again.Hash = "", hash32(4)
	wantErr(t, "CreateRefreshToken(no family)", o.CreateRefreshToken(ctx, again), mfa.ErrInvalid)
	again.Family, again.ClientID = "F4", "unknown"
	wantErr(t, "CreateRefreshToken(unknown client)", o.CreateRefreshToken(ctx, again), mfa.ErrNotFound)
	again.ClientID, again.UserID = "app", 999999
	wantErr(t, "CreateRefreshToken(unknown user)", o.CreateRefreshToken(ctx, again), mfa.ErrNotFound)
	got, err := o.RefreshToken(ctx, first.Hash)
	if diff := cmp.Diff(first, got, equateEmpty); err != nil || diff != "" {
		t.Errorf("RefreshToken = %v, mismatch (-want +got):\n%s", err, diff)
	}
	_, err = o.RefreshToken(ctx, hash32(0xee))
	wantErr(t, "RefreshToken(unknown)", err, mfa.ErrNotFound)

	// A rotation: the family's fields left zero are filled in; the scopes
	// may narrow.
	next := oidcstate.RefreshToken{Hash: hash32(5), Scopes: []string{"openid"}, Audience: []string{"app"}, AMR: first.AMR,
		AuthTime: first.AuthTime, Created: t0.Add(time.Hour), Expires: t0.Add(25 * time.Hour)}
	if err := o.RotateRefreshToken(ctx, first.Hash, next, t0.Add(time.Hour)); err != nil {
		t.Fatalf("RotateRefreshToken = %v", err)
	}
	if got, err := o.RefreshToken(ctx, first.Hash); err != nil || !got.Used {
		t.Errorf("RefreshToken(rotated) = %+v, %v, want it used", got, err)
	}
	want := next
	want.Family, want.ClientID, want.UserID, want.SessionID = "F1", "app", u.ID, "s1"
	got, err = o.RefreshToken(ctx, next.Hash)
	if diff := cmp.Diff(want, got, equateEmpty); err != nil || diff != "" {
		t.Errorf("RefreshToken(next) = %v, mismatch (-want +got):\n%s", err, diff)
	}

	// Refusals that change nothing: the token stays unused.
	n2 := oidcstate.RefreshToken{Hash: hash32(6), Created: t0.Add(2 * time.Hour), Expires: t0.Add(26 * time.Hour)}
	for _, tc := range []struct {
		name string
		next oidcstate.RefreshToken
		now  time.Time
		want error
	}{
		{"another client", func() oidcstate.RefreshToken { n := n2; n.ClientID = "other"; return n }(), t0.Add(2 * time.Hour), mfa.ErrInvalid},
		{"another user", func() oidcstate.RefreshToken { n := n2; n.UserID = u.ID + 1; return n }(), t0.Add(2 * time.Hour), mfa.ErrInvalid},
		{"another family", func() oidcstate.RefreshToken { n := n2; n.Family = "F2"; return n }(), t0.Add(2 * time.Hour), mfa.ErrInvalid},
		{"another session", func() oidcstate.RefreshToken { n := n2; n.SessionID = "s2"; return n }(), t0.Add(2 * time.Hour), mfa.ErrInvalid},
		{"next hash taken", func() oidcstate.RefreshToken { n := n2; n.Hash = hash32(2); return n }(), t0.Add(2 * time.Hour), mfa.ErrConflict},
		{"at its expiry", n2, want.Expires, mfa.ErrNotFound},
	} {
		wantErr(t, "RotateRefreshToken("+tc.name+")", o.RotateRefreshToken(ctx, next.Hash, tc.next, tc.now), tc.want)
		if got, err := o.RefreshToken(ctx, next.Hash); err != nil || got.Used {
			t.Errorf("after RotateRefreshToken(%s): RefreshToken = %+v, %v, want it there and unused", tc.name, got, err)
		}
	}
	wantErr(t, "RotateRefreshToken(unknown)", o.RotateRefreshToken(ctx, hash32(0xee), n2, t0), mfa.ErrNotFound)
	checkTokens(t, o, "after the refusals", map[string]bool{"at1": true, "at2": true}, map[byte]bool{6: false})

	// The first token again: its family goes, refresh and access tokens;
	// the other family stays.
	wantErr(t, "RotateRefreshToken(used token)", o.RotateRefreshToken(ctx, first.Hash, n2, t0.Add(2*time.Hour)), oidcstate.ErrReused)
	checkTokens(t, o, "after a reuse", map[string]bool{"at1": false, "at2": true}, map[byte]bool{1: false, 5: false, 6: false, 2: true, 3: true})
	wantErr(t, "RotateRefreshToken(of a revoked family)", o.RotateRefreshToken(ctx, next.Hash, n2, t0.Add(2*time.Hour)), mfa.ErrNotFound)
}

// testOIDCRevocations deletes grants by family, by user and client, by
// session and by expiry, and nothing else.
func testOIDCRevocations(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	u := mustUser(t, s, "bob")
	eve := mustUser(t, s, "eve")
	mustClient(t, o, "app")
	mustClient(t, o, "other")
	mustRefresh(t, o, hash32(1), "Fa", "app", u.ID, "s1")
	mustAccess(t, o, "a-fam", "app", u.ID, "Fa", "s1")
	mustAccess(t, o, "a-none", "app", u.ID, "", "s1")
	mustRefresh(t, o, hash32(2), "Fb", "other", u.ID, "s2")
	mustAccess(t, o, "b-fam", "other", u.ID, "Fb", "s2")
	mustRefresh(t, o, hash32(3), "Fe", "app", eve.ID, "e1")
	mustAccess(t, o, "e-fam", "app", eve.ID, "Fe", "e1")
	mustRefresh(t, o, hash32(4), "Fn", "other", eve.ID, "")
	mustAccess(t, o, "n-none", "other", eve.ID, "", "")
	mustAccess(t, o, "z-orphan", "other", eve.ID, "Fz", "e1") // its refresh family never stored

	if err := o.DeleteRefreshFamily(ctx, "Fz"); err != nil {
		t.Errorf("DeleteRefreshFamily(access tokens only) = %v", err)
	}
	if err := o.DeleteRefreshFamily(ctx, ""); err != nil {
		t.Errorf("DeleteRefreshFamily(\"\") = %v", err)
	}
	if err := o.DeleteRefreshFamily(ctx, "nope"); err != nil {
		t.Errorf("DeleteRefreshFamily(absent) = %v, want nil", err)
	}
	checkTokens(t, o, "after DeleteRefreshFamily(Fz)", map[string]bool{"z-orphan": false, "a-none": true, "n-none": true}, nil)

	if err := o.DeleteClientGrants(ctx, u.ID, "app"); err != nil {
		t.Fatalf("DeleteClientGrants = %v", err)
	}
	checkTokens(t, o, "after DeleteClientGrants(bob, app)",
		map[string]bool{"a-fam": false, "a-none": false, "b-fam": true, "e-fam": true, "n-none": true},
		map[byte]bool{1: false, 2: true, 3: true, 4: true})

	if err := o.DeleteSessionGrants(ctx, ""); err != nil {
		t.Errorf("DeleteSessionGrants(\"\") = %v", err)
	}
	checkTokens(t, o, "after DeleteSessionGrants(\"\")", map[string]bool{"n-none": true}, map[byte]bool{4: true})
	mustAccess(t, o, "e-none", "other", eve.ID, "", "e1")
	if err := o.DeleteSessionGrants(ctx, "e1"); err != nil {
		t.Fatalf("DeleteSessionGrants = %v", err)
	}
	checkTokens(t, o, "after DeleteSessionGrants(e1)",
		map[string]bool{"e-fam": false, "e-none": false, "b-fam": true, "n-none": true},
		map[byte]bool{3: false, 2: true, 4: true})

	if err := o.DeleteRefreshFamily(ctx, "Fb"); err != nil {
		t.Fatalf("DeleteRefreshFamily = %v", err)
	}
	checkTokens(t, o, "after DeleteRefreshFamily(Fb)", map[string]bool{"b-fam": false, "n-none": true}, map[byte]bool{2: false, 4: true})

	// Expiry: Fx's one token expires, Fy's first is used and expired, its
	// second lives.
	x := mustRefresh(t, o, hash32(7), "Fx", "app", u.ID, "s3")
	y := mustRefresh(t, o, hash32(8), "Fy", "app", u.ID, "s3")
	if err := o.RotateRefreshToken(ctx, y.Hash, oidcstate.RefreshToken{Hash: hash32(9), Created: t0, Expires: t0.Add(48 * time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	long := oidcstate.AccessToken{ID: "long", ClientID: "app", UserID: u.ID, RefreshFamily: "Fy", SessionID: "s3", Expires: t0.Add(time.Hour)}
	if err := o.CreateAccessToken(ctx, long); err != nil {
		t.Fatal(err)
	}
	if err := o.DeleteExpiredTokens(ctx, t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("DeleteExpiredTokens = %v", err)
	}
	checkTokens(t, o, "after DeleteExpiredTokens(+5min)", map[string]bool{"n-none": false, "long": true}, map[byte]bool{7: true, 8: true, 9: true})
	if err := o.DeleteExpiredTokens(ctx, x.Expires); err != nil {
		t.Fatalf("DeleteExpiredTokens = %v", err)
	}
	checkTokens(t, o, "after DeleteExpiredTokens(+24h)", map[string]bool{"long": false}, map[byte]bool{7: false, 8: false, 9: true})
	// Fx is left without a token and is gone; Fy has one and stays.
	if err := o.CreateRefreshToken(ctx, oidcstate.RefreshToken{Hash: hash32(10), Family: "Fx", ClientID: "app", UserID: u.ID,
		Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Errorf("CreateRefreshToken(family emptied by expiry) = %v, want it gone with its last token", err)
	}
	wantErr(t, "CreateRefreshToken(family with a live token)", o.CreateRefreshToken(ctx, oidcstate.RefreshToken{Hash: hash32(11), Family: "Fy",
		ClientID: "app", UserID: u.ID, Created: t0, Expires: t0.Add(time.Hour)}), mfa.ErrConflict)
}
