package seed_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/seed"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// TestRun seeds a SQLite store behind an existing user and signs in as
// seeded accounts through mfa.Service: the derived codes and tokens work,
// a code is not accepted twice, and seeding the same names again changes
// nothing.
func TestRun(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "otpgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	cipher, _ := mfa.NewCipher(key, rand.Reader)
	hasher := mfa.NewHasher(mfa.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, rand.Reader, mfa.HashLimits{Concurrent: 1, Queue: 64})
	now := time.Date(2026, 11, 28, 9, 0, 10, 0, time.UTC)
	svc := mfa.NewService(mfa.Deps{Store: store, Hasher: hasher, Cipher: cipher, Rand: rand.Reader,
		Now: func() time.Time { return now }}, mfa.Options{Window: otp.Skew(1)})
	if _, err := svc.CreateUser(ctx, mfa.NewUser{Name: "admin", Password: "admin password"}); err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash(ctx, "seed password")
	if err != nil {
		t.Fatal(err)
	}
	s := []byte("test seed")
	opts := seed.Options{Accounts: 25, Prefix: "b", Seed: s, PasswordHash: hash, Sessions: true, Now: now, Batch: 10, Cipher: cipher}
	res, err := seed.Run(ctx, store, opts)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if res.FirstID != 2 || res.Accounts != 25 {
		t.Errorf("Run = %+v, want 25 accounts from ID 2", res)
	}
	for _, i := range []int{0, 9, 10, 24} {
		name := seed.Name("b", i)
		r, err := svc.Login(ctx, mfa.LoginAttempt{Name: name, Password: "seed password", Code: seed.Key(s, name).TOTP(now), Addr: "192.0.2.1"})
		if err != nil || r.Outcome != mfa.OK || r.User.ID != res.FirstID+int64(i) {
			t.Errorf("Login(%s) with the derived code = %v %s, %v", name, r.Outcome, r.Reason, err)
		}
		r, err = svc.Login(ctx, mfa.LoginAttempt{Name: name, Password: "seed password", Code: seed.Key(s, name).TOTP(now), Addr: "192.0.2.1"})
		if err != nil || r.Outcome == mfa.OK {
			t.Errorf("Login(%s) with the same code again = %v, %v, want a refusal", name, r.Outcome, err)
		}
		if _, u, err := svc.Session(ctx, seed.Token(s, name)); err != nil || u.Name != name {
			t.Errorf("Session(Token(%s)) = %v, %v", name, u.Name, err)
		}
	}
	if _, err := seed.Run(ctx, store, opts); !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("Run again with the same names = %v, want ErrConflict", err)
	}
	users, _ := store.Users(ctx)
	if len(users) != 26 {
		t.Errorf("%d users after a refused second run, want 26", len(users))
	}
	for _, bad := range []seed.Options{
		{Accounts: 1, Prefix: "-x", Seed: s, Cipher: cipher},
		{Accounts: 1, Cipher: cipher},
		{Accounts: 1, Seed: s},
		{Accounts: -1, Seed: s, Cipher: cipher},
	} {
		if _, err := seed.Run(ctx, store, bad); err == nil {
			t.Errorf("Run(%+v) = nil error", bad)
		}
	}
}
