package mfa_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/metrics"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// TestCleanupOIDC: Cleanup deletes the OpenID Connect provider's expired
// tokens, and its requests and session links older than the longest
// session, and keeps the others; also through the metrics' wrapper of the
// store, as the server runs with -metrics-addr.
func TestCleanupOIDC(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(map[bool]string{false: "store", true: "metrics wrapper"}[wrapped], func(t *testing.T) {
			ctx := context.Background()
			lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lite.Close() })
			var store mfa.Store = lite
			if wrapped {
				store = metrics.New(metrics.Options{}).Store(lite)
			}
			o, ok := store.(oidcstate.Store)
			if !ok {
				t.Fatalf("%T is no oidcstate.Store", store)
			}
			const sessionMax = 12 * time.Hour
			t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
			now := t0.Add(sessionMax + time.Hour)
			cipher, err := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
				Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)},
				mfa.Options{Window: otp.Skew(1), SessionMax: sessionMax})
			u, err := lite.CreateUser(ctx, mfa.User{Name: "bob", PasswordHash: "h", Created: t0})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.CreateOIDCClient(ctx, oidcstate.Client{ID: "app", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Created: t0}); err != nil {
				t.Fatal(err)
			}
			for _, r := range []oidcstate.AuthRequest{
				{ID: "old", ClientID: "app", MaxAge: -1, Created: t0},
				{ID: "recent", ClientID: "app", MaxAge: -1, Created: now.Add(-time.Minute)},
			} {
				if err := o.CreateAuthRequest(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range []oidcstate.AccessToken{
				{ID: "expired", ClientID: "app", UserID: u.ID, Expires: now},
				{ID: "live", ClientID: "app", UserID: u.ID, Expires: now.Add(time.Minute)},
			} {
				if err := o.CreateAccessToken(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Hour)} {
				if err := o.CreateRefreshToken(ctx, oidcstate.RefreshToken{Hash: bytes.Repeat([]byte{byte(i + 1)}, 32), Family: string(rune('a' + i)),
					ClientID: "app", UserID: u.ID, Created: t0, Expires: exp}); err != nil {
					t.Fatal(err)
				}
			}
			for sid, at := range map[string]time.Time{"s-old": t0, "s-recent": now.Add(-time.Hour)} {
				if err := o.AddSessionClient(ctx, sid, u.ID, "app", at); err != nil {
					t.Fatal(err)
				}
			}

			if err := svc.Cleanup(ctx); err != nil {
				t.Fatalf("Cleanup = %v", err)
			}
			gone := func(what string, err error, want bool) {
				t.Helper()
				if errors.Is(err, mfa.ErrNotFound) != want || (err != nil && !errors.Is(err, mfa.ErrNotFound)) {
					t.Errorf("after Cleanup: %s = %v, want gone %v", what, err, want)
				}
			}
			_, err = o.AuthRequest(ctx, "old")
			gone("AuthRequest(older than SessionMax)", err, true)
			_, err = o.AuthRequest(ctx, "recent")
			gone("AuthRequest(recent)", err, false)
			// Looked up before now: gone means deleted, not refused.
			_, err = o.AccessToken(ctx, "expired", t0)
			gone("AccessToken(expired)", err, true)
			_, err = o.AccessToken(ctx, "live", t0)
			gone("AccessToken(live)", err, false)
			_, err = o.RefreshToken(ctx, bytes.Repeat([]byte{1}, 32))
			gone("RefreshToken(expired)", err, true)
			_, err = o.RefreshToken(ctx, bytes.Repeat([]byte{2}, 32))
			gone("RefreshToken(live)", err, false)
			all, err := o.UserSessionClients(ctx, u.ID)
			if _, old := all["s-old"]; err != nil || old || len(all["s-recent"]) != 1 {
				t.Errorf("after Cleanup: UserSessionClients = %v, %v, want s-recent alone", all, err)
			}
		})
	}
}
