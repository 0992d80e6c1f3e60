package mfa_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
)

// TestSessionEnded: every way a session ends before its time tells the
// hook which sessions ended (one, by its token's hash, or all of the
// user's), after they are gone; an unknown token tells nothing.
func TestSessionEnded(t *testing.T) {
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
	var ended []mfa.SessionEnd
	svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: time.Now,
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits),
		SessionEnded: func(ctx context.Context, e mfa.SessionEnd) {
			// The sessions are gone when the hook hears of them.
			if e.TokenHash != nil {
				if _, err := store.Session(ctx, e.TokenHash); err == nil {
					t.Errorf("hook told of session still in the store")
				}
			}
			ended = append(ended, e)
		}}, mfa.Options{})
	u, err := svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"})
	if err != nil {
		t.Fatal(err)
	}
	newSession := func() string {
		tok, err := svc.NewSession(ctx, u.ID, mfa.LevelNoSecondFactor)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name string
		end  func(token string) error
		one  bool // one session, by its hash
	}{
		{"sign out", func(tok string) error { return svc.EndSession(ctx, tok) }, true},
		{"sign out everywhere", func(string) error { return svc.EndAllSessions(ctx, u.ID) }, false},
		{"admin ends one", func(tok string) error { return svc.EndUserSession(ctx, u.ID, mfa.HashToken(tok)) }, true},
		{"admin ends all", func(string) error { return svc.EndUserSessions(ctx, u.ID) }, false},
		{"new password", func(string) error { return svc.SetPassword(ctx, u.ID, "another password") }, false},
		{"reset", func(string) error { return svc.ResetTOTP(ctx, u.ID) }, false},
		{"disabled", func(string) error { return svc.SetDisabled(ctx, u.ID, true) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := svc.SetDisabled(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
			tok := newSession()
			ended = nil
			if err := tc.end(tok); err != nil {
				t.Fatal(err)
			}
			if len(ended) != 1 || ended[0].UserID != u.ID {
				t.Fatalf("hook heard %+v, want one end of user %d", ended, u.ID)
			}
			if tc.one != (ended[0].TokenHash != nil) || tc.one && !bytes.Equal(ended[0].TokenHash, mfa.HashToken(tok)) {
				t.Errorf("hook heard token hash %x, want one session: %v", ended[0].TokenHash, tc.one)
			}
			if _, _, err := svc.Session(ctx, tok); err == nil {
				t.Errorf("session still valid")
			}
		})
	}
	ended = nil
	if err := svc.EndSession(ctx, "no such token"); err != nil || len(ended) != 0 {
		t.Errorf("EndSession(unknown) = %v, hook heard %d, want nil and nothing", err, len(ended))
	}
	if err := svc.SetDisabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	newSession()
	if err := svc.DeleteUser(ctx, u.ID); err != nil || len(ended) != 1 || ended[0].UserID != u.ID || ended[0].TokenHash != nil {
		t.Errorf("DeleteUser = %v, hook heard %+v, want every session of user %d", err, ended, u.ID)
	}
}
