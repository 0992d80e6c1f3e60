package mfa_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// yearlyOdds is the chance of guessing a code within a ±1 window (3
// accepted codes in 10^6) with that many guesses.
func yearlyOdds(guesses int) float64 { return 1 - math.Pow(1-3e-6, float64(guesses)) }

// oddsEnv is a Service on SQLite at a clock the test moves, with alice
// enrolled; the attacker knows her password.
type oddsEnv struct {
	svc   *mfa.Service
	now   time.Time
	key   otp.Key
	start time.Time
}

func newOddsEnv(t *testing.T) *oddsEnv {
	t.Helper()
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
	e := &oddsEnv{now: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)}
	e.start = e.now
	e.svc = mfa.NewService(mfa.Deps{Store: store, Cipher: cipher, Rand: rand.Reader, Now: func() time.Time { return e.now },
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.DefaultHashLimits)},
		mfa.Options{Window: otp.Skew(1)})
	u, err := e.svc.CreateUser(ctx, mfa.NewUser{Name: "alice", Password: "alice password"})
	if err != nil {
		t.Fatal(err)
	}
	_, enr, err := e.svc.BeginEnrolment(ctx, u, mfa.Proof{Session: mfa.Session{Created: e.now}})
	if err != nil {
		t.Fatal(err)
	}
	if res, _, err := e.svc.ConfirmEnrolment(ctx, u, enr.ID, enr.URI.Key.TOTP(e.now)); err != nil || res.Outcome != mfa.OK {
		t.Fatalf("ConfirmEnrolment = %v, %v", res.Outcome, err)
	}
	e.key = enr.URI.Key
	e.now = e.now.Add(time.Minute)
	return e
}

// wrongCode is a code that no step of the window accepts now.
func (e *oddsEnv) wrongCode() string {
	p := e.key.Period
	for c := 0; ; c++ {
		code := fmt.Sprintf("%06d", c)
		if code != e.key.TOTP(e.now.Add(-p)) && code != e.key.TOTP(e.now) && code != e.key.TOTP(e.now.Add(p)) {
			return code
		}
	}
}

// login signs alice in from addr with her password and code.
func (e *oddsEnv) login(t *testing.T, code, addr string) mfa.Result {
	t.Helper()
	res, err := e.svc.Login(context.Background(), mfa.LoginAttempt{Name: "alice", Password: "alice password", Code: code, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCodeBudgetOdds runs the default schedule at a fixed clock for a
// year against an attacker who knows alice's password, while alice signs
// in twice a day: once with the attacker guessing whenever allowed, once
// with the attacker's best burst-then-wait strategy (k quick guesses past
// the free ones, then a wait for the counter to be forgotten). The guesses
// counted give the odds that README states, under 1 % a year; alice's
// sign-ins give the attacker nothing, and she always gets in on the day.
func TestCodeBudgetOdds(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of sign-ins")
	}
	year := 365 * 24 * time.Hour
	for _, tc := range []struct {
		name  string
		burst int // quick guesses past the free ones per cycle; -1: guess whenever allowed
	}{{"greedy", -1}, {"burst 6 then wait", 6}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOddsEnv(t)
			guesses, inCycle, ownerDays, ownerMaxWait := 0, 0, 0, time.Duration(0)
			nextOwner := e.start.Add(9 * time.Hour)
			for e.now.Before(e.start.Add(year)) {
				if !e.now.Before(nextOwner) {
					// alice signs in; if held up, she comes back when told.
					asked := e.now
					for {
						res := e.login(t, e.key.TOTP(e.now), "198.51.100.7")
						if res.Outcome == mfa.OK {
							break
						}
						if res.Outcome != mfa.Throttled {
							t.Fatalf("alice's sign-in at %v = %v (%v)", e.now, res.Outcome, res.Reason)
						}
						e.now = e.now.Add(res.RetryAfter + time.Second)
					}
					ownerMaxWait = max(ownerMaxWait, e.now.Sub(asked))
					ownerDays++
					nextOwner = nextOwner.Add(8 * time.Hour)
					if nextOwner.Hour() == 1 {
						nextOwner = nextOwner.Add(8 * time.Hour)
					}
					e.now = e.now.Add(31 * time.Second) // past her code's step
					continue
				}
				res := e.login(t, e.wrongCode(), "203.0.113.9")
				switch res.Outcome {
				case mfa.Throttled:
					e.now = e.now.Add(min(res.RetryAfter+time.Second, nextOwner.Sub(e.now)+time.Second))
					continue
				case mfa.BadCode:
					guesses++
				default:
					t.Fatalf("wrong code at %v = %v", e.now, res.Outcome)
				}
				inCycle++
				e.now = e.now.Add(time.Second)
				if tc.burst >= 0 && inCycle == mfa.DefaultThrottles.Code.Free+tc.burst {
					// Wait until the counter is forgotten.
					e.now = e.now.Add(mfa.DefaultThrottles.Code.Forget)
					inCycle = 0
				}
			}
			odds := yearlyOdds(guesses)
			t.Logf("%s: %d guesses in a year, odds %.2f%%; alice signed in %d times, waiting at most %v",
				tc.name, guesses, odds*100, ownerDays, ownerMaxWait)
			if odds >= 0.01 {
				t.Errorf("%s: %d guesses a year give odds %.2f%%, want under 1%%", tc.name, guesses, odds*100)
			}
			if ownerMaxWait > mfa.DefaultThrottles.Code.Max+time.Minute {
				t.Errorf("alice waited %v once, want at most the code budget's longest delay %v", ownerMaxWait, mfa.DefaultThrottles.Code.Max)
			}
		})
	}
}
