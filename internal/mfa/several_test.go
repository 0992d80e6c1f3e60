package mfa_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// TestSharedStepAcceptedOnce: two authenticators whose codes agree at one
// time step (here the same key, as when one QR code is added twice) accept
// that code once between them, on the one form and on the second step.
func TestSharedStepAcceptedOnce(t *testing.T) {
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
	now := time.Date(2027, 1, 4, 0, 0, 15, 0, time.UTC)
	svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)},
		mfa.Options{Window: otp.Skew(1)})
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
		if err := store.CreateAuthenticator(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ConfirmAuthenticator(ctx, u.ID, id, key.Step(now)-2, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	code := key.TOTP(now)
	login := func() mfa.Result {
		res, err := svc.Login(ctx, mfa.LoginAttempt{Name: "alice", Password: "alice password", Code: code})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := login(); res.Outcome != mfa.OK {
		t.Fatalf("first use = %v (%v), want OK", res.Outcome, res.Reason)
	}
	if res := login(); res.Outcome != mfa.BadCode || res.Reason != mfa.ReasonCodeReused {
		t.Errorf("second use on the one form = %v (%v), want BadCode (code already used)", res.Outcome, res.Reason)
	}
	res, err := svc.SecondFactor(ctx, u.ID, code)
	if err != nil || res.Outcome != mfa.BadCode || res.Reason != mfa.ReasonCodeReused {
		t.Errorf("second use on the second step = %v (%v), %v, want BadCode (code already used)", res.Outcome, res.Reason, err)
	}
}
