package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// testTrustedBrowsers: a trusted browser is found by its token's hash,
// touched, listed per user newest first, forgotten one by one or all, and
// gone with its user.
func testTrustedBrowsers(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "bob")
	other := mustUser(t, s, "eve")
	mk := func(user int64, tag byte, created time.Time) mfa.TrustedBrowser {
		t.Helper()
		b := mfa.TrustedBrowser{TokenHash: bytes.Repeat([]byte{tag}, 32), UserID: user, Created: created, Expires: created.Add(30 * 24 * time.Hour),
			LastUsed: created, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", Addr: "192.0.2.7"}
		if err := s.CreateTrustedBrowser(ctx, b); err != nil {
			t.Fatalf("CreateTrustedBrowser(%d) = %v", tag, err)
		}
		return b
	}
	a := mk(u.ID, 1, t0)
	mk(u.ID, 2, t0.Add(time.Hour))
	mk(other.ID, 3, t0)
	wantErr(t, "CreateTrustedBrowser(same hash)", s.CreateTrustedBrowser(ctx, a), mfa.ErrConflict)
	wantErr(t, "CreateTrustedBrowser(no user)", s.CreateTrustedBrowser(ctx, mfa.TrustedBrowser{TokenHash: bytes.Repeat([]byte{9}, 32), UserID: 999999,
		Created: t0, Expires: t0, LastUsed: t0}), mfa.ErrNotFound)
	got, err := s.TrustedBrowser(ctx, a.TokenHash)
	if err != nil || got.UserID != u.ID || !got.Expires.Equal(a.Expires) || got.UserAgent != a.UserAgent || got.Addr != a.Addr {
		t.Errorf("TrustedBrowser = %+v, %v, want %+v", got, err, a)
	}
	_, err = s.TrustedBrowser(ctx, bytes.Repeat([]byte{7}, 32))
	wantErr(t, "TrustedBrowser(unknown)", err, mfa.ErrNotFound)
	if err := s.TouchTrustedBrowser(ctx, a.TokenHash, t0.Add(2*time.Hour), "198.51.100.1"); err != nil {
		t.Errorf("TouchTrustedBrowser = %v", err)
	}
	list, err := s.TrustedBrowsers(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].TokenHash[0] != 2 || list[1].Addr != "198.51.100.1" || !list[1].LastUsed.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("TrustedBrowsers = %+v, %v", list, err)
	}
	// Expired ones go, by expiry or by the site's maximum.
	mk(u.ID, 4, t0.Add(-40*24*time.Hour))
	mk(u.ID, 5, t0.Add(-10*24*time.Hour))
	if err := s.DeleteExpiredTrustedBrowsers(ctx, t0, t0.Add(-5*24*time.Hour)); err != nil {
		t.Errorf("DeleteExpiredTrustedBrowsers = %v", err)
	}
	for tag, want := range map[byte]bool{1: true, 2: true, 3: true, 4: false, 5: false} {
		_, err := s.TrustedBrowser(ctx, bytes.Repeat([]byte{tag}, 32))
		if (err == nil) != want {
			t.Errorf("after DeleteExpiredTrustedBrowsers: browser %d present = %v", tag, err == nil)
		}
	}
	wantErr(t, "DeleteTrustedBrowser(another user's)", s.DeleteTrustedBrowser(ctx, other.ID, a.TokenHash), mfa.ErrNotFound)
	if err := s.DeleteTrustedBrowser(ctx, u.ID, a.TokenHash); err != nil {
		t.Errorf("DeleteTrustedBrowser = %v", err)
	}
	if err := s.DeleteTrustedBrowsers(ctx, u.ID); err != nil {
		t.Errorf("DeleteTrustedBrowsers = %v", err)
	}
	if list, _ := s.TrustedBrowsers(ctx, u.ID); len(list) != 0 {
		t.Errorf("after DeleteTrustedBrowsers: %d left", len(list))
	}
	if list, _ := s.TrustedBrowsers(ctx, other.ID); len(list) != 1 {
		t.Errorf("another user's browsers: %d, want 1 untouched", len(list))
	}
	if err := s.DeleteUser(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.TrustedBrowser(ctx, bytes.Repeat([]byte{3}, 32))
	wantErr(t, "TrustedBrowser(of a deleted user)", err, mfa.ErrNotFound)
}
