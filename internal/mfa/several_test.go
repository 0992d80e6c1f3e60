package mfa_test

import (
	"context"
	"crypto/rand"
	"fmt"
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

// BenchmarkSecondStep measures the second sign-in step (SecondFactor, on
// SQLite) with 1 and 5 confirmed authenticators, the code being the last
// one's, so that every authenticator is tried: the cost per
// authenticator is one sealed secret opened and one ±1 verification.
func BenchmarkSecondStep(b *testing.B) {
	for _, n := range []int{1, 5} {
		b.Run(fmt.Sprintf("authenticators=%d", n), func(b *testing.B) {
			ctx := context.Background()
			store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "otpgate.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			cipher, _ := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
			now := time.Date(2027, 1, 4, 0, 0, 15, 0, time.UTC)
			svc := mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
				Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)},
				mfa.Options{Window: otp.Skew(1)})
			u, err := svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"})
			if err != nil {
				b.Fatal(err)
			}
			var last otp.Key
			for range n {
				_, e, err := svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: now}})
				if err != nil {
					b.Fatal(err)
				}
				if res, _, err := svc.ConfirmEnrolment(ctx, u, e.ID, e.URI.Key.TOTP(now)); err != nil || res.Outcome != mfa.OK {
					b.Fatalf("confirm = %v, %v", res.Outcome, err)
				}
				last = e.URI.Key
				now = now.Add(time.Second)
			}
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(30 * time.Second)
				res, err := svc.SecondFactor(ctx, u.ID, last.TOTP(now))
				if err != nil || res.Outcome != mfa.OK {
					b.Fatalf("SecondFactor = %v (%v), %v", res.Outcome, res.Reason, err)
				}
			}
		})
	}
}

// TestPolicyChangeBreaksNobody: an authenticator keeps the parameters it
// was enrolled with when the site's policy changes.
func TestPolicyChangeBreaksNobody(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cipher, _ := mfa.NewCipher(make([]byte, mfa.KeySize), rand.Reader)
	now := time.Date(2027, 1, 4, 0, 0, 15, 0, time.UTC)
	service := func(p mfa.EnrolPolicy) *mfa.Service {
		return mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return now },
			Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)},
			mfa.Options{Window: otp.Skew(1), Enrol: p})
	}
	before := service(mfa.EnrolPolicy{})
	u, err := before.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"})
	if err != nil {
		t.Fatal(err)
	}
	_, e, err := before.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: now}})
	if err != nil {
		t.Fatal(err)
	}
	if res, _, err := before.ConfirmEnrolment(ctx, u, e.ID, e.URI.Key.TOTP(now)); err != nil || res.Outcome != mfa.OK {
		t.Fatalf("confirm = %v, %v", res.Outcome, err)
	}
	after := service(mfa.EnrolPolicy{Algorithm: otp.SHA512, Digits: 8, Period: time.Minute})
	now = now.Add(30 * time.Second)
	res, err := after.Login(ctx, mfa.LoginAttempt{Name: "alice", Password: "alice password", Code: e.URI.Key.TOTP(now)})
	if err != nil || res.Outcome != mfa.OK {
		t.Errorf("the SHA-1 key's code under an SHA-512 policy = %v (%v), %v, want OK", res.Outcome, res.Reason, err)
	}
	_, e2, err := after.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: now}})
	if err != nil || e2.URI.Key.Algorithm != otp.SHA512 || e2.URI.Key.Digits != 8 || e2.URI.Key.Period != time.Minute {
		t.Errorf("new enrolment under the new policy = %+v, %v", e2.URI.Key, err)
	}
}

// TestEnrolPolicyValidate: values the otp package does not compute, or
// that otpgate does not enrol, are refused.
func TestEnrolPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    mfa.EnrolPolicy
		ok   bool
	}{
		{"default", mfa.EnrolPolicy{}, true},
		{"sha256 8 60", mfa.EnrolPolicy{Algorithm: otp.SHA256, Digits: 8, Period: time.Minute}, true},
		{"unknown algorithm", mfa.EnrolPolicy{Algorithm: otp.Algorithm(9)}, false},
		{"7 digits", mfa.EnrolPolicy{Digits: 7}, false},
		{"negative period", mfa.EnrolPolicy{Period: -time.Second}, false},
		{"45 s", mfa.EnrolPolicy{Period: 45 * time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
