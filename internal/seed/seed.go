// Package seed fills a store with many accounts, each with a confirmed TOTP
// authenticator, for benchmarks and load tests: it is what the operator's
// command "otpgate seed" and the scale benchmarks run, so that a site of a
// million accounts is made by a command and not through the web.
//
// It is fast because nothing costly is done per account: one argon2id hash
// is given for all, TOTP secrets, authenticator IDs and session tokens are
// derived from a seed with HMAC-SHA-256 (so that a benchmark computes valid
// codes from the seed alone), and rows go in by batches, one transaction
// each. Anyone who knows the seed knows every secret: never seed a store
// that serves real users.
package seed

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/otp"
)

// Store is what seeding needs of a store, beside nothing else: both otpgate
// stores implement it.
type Store interface {
	// MaxUserID returns the largest user ID in the store, 0 when empty.
	MaxUserID(ctx context.Context) (int64, error)
	// InsertAccounts stores users (with the IDs given), authenticators and
	// sessions in one transaction; a name or ID already taken gives
	// mfa.ErrConflict and stores nothing.
	InsertAccounts(ctx context.Context, users []mfa.User, auths []mfa.Authenticator, sessions []mfa.Session) error
}

// Options say what to seed.
type Options struct {
	// Accounts is how many accounts to create.
	Accounts int
	// Prefix starts every name: account i (from 0) is Name(Prefix, i);
	// empty means "seed".
	Prefix string
	// Seed derives the secrets, authenticator IDs and session tokens (see
	// Secret and Token); it must not be empty.
	Seed []byte
	// PasswordHash is the argon2id hash every account gets (computed once
	// by the caller); empty means the accounts cannot sign in with a
	// password.
	PasswordHash string
	// Sessions gives every account a fully signed-in session whose token
	// is Token(Seed, name).
	Sessions bool
	// Now is when the accounts are created and their authenticators
	// confirmed; the last step used is the one before Now's (30 s steps), so
	// that the current code is accepted.
	Now time.Time
	// Batch is how many accounts go in one transaction; zero means 10000.
	Batch int
	// Cipher seals the TOTP secrets with the server's key.
	Cipher *mfa.Cipher
	// Progress, if not nil, is called after each batch with the number of
	// accounts stored so far.
	Progress func(done int)
}

// Result says what was seeded.
type Result struct {
	// FirstID is the ID of account 0; account i has FirstID+i.
	FirstID int64
	// Accounts is how many were created.
	Accounts int
	// Elapsed is how long it took.
	Elapsed time.Duration
}

// Name is the name of account i.
func Name(prefix string, i int) string {
	if prefix == "" {
		prefix = "seed"
	}
	return fmt.Sprintf("%s%d", prefix, i)
}

func derive(seed []byte, label, name string) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(name))
	return m.Sum(nil)
}

// Key is the TOTP key (SHA-1, 6 digits, 30 s) of the account of that name.
func Key(seed []byte, name string) otp.Key {
	return otp.Key{Secret: otp.Secret(derive(seed, "totp secret", name)[:20])}
}

// Token is the session token of the account of that name (with
// Options.Sessions).
func Token(seed []byte, name string) string {
	return hex.EncodeToString(derive(seed, "session token", name))
}

// authenticatorID is the ID of the account's authenticator: 32 hex digits,
// as the service makes them.
func authenticatorID(seed []byte, name string) string {
	return hex.EncodeToString(derive(seed, "authenticator id", name)[:16])
}

// Run creates o.Accounts accounts after the largest user ID in s. A failed
// batch (a name taken: mfa.ErrConflict) stores nothing, and the batches
// before it stay; nothing else may create users meanwhile.
func Run(ctx context.Context, s Store, o Options) (Result, error) {
	switch {
	case o.Accounts < 0:
		return Result{}, errors.New("seed: negative number of accounts")
	case len(o.Seed) == 0:
		return Result{}, errors.New("seed: empty seed")
	case o.Cipher == nil:
		return Result{}, errors.New("seed: no cipher")
	}
	if o.Accounts > 0 {
		if err := mfa.ValidateName(Name(o.Prefix, o.Accounts-1)); err != nil {
			return Result{}, fmt.Errorf("seed: prefix: %w", err)
		}
	}
	if o.Batch <= 0 {
		o.Batch = 10000
	}
	begin := time.Now()
	last, err := s.MaxUserID(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{FirstID: last + 1}
	now := o.Now.UTC()
	step := uint64(now.Unix()/30) - 1
	for start := 0; start < o.Accounts; start += o.Batch {
		n := min(o.Batch, o.Accounts-start)
		users := make([]mfa.User, 0, n)
		auths := make([]mfa.Authenticator, 0, n)
		var sessions []mfa.Session
		for i := start; i < start+n; i++ {
			name := Name(o.Prefix, i)
			id := res.FirstID + int64(i)
			aid := authenticatorID(o.Seed, name)
			sealed, err := o.Cipher.Seal(Key(o.Seed, name).Secret, id, aid)
			if err != nil {
				return res, err
			}
			users = append(users, mfa.User{ID: id, Name: name, PasswordHash: o.PasswordHash, Created: now})
			auths = append(auths, mfa.Authenticator{ID: aid, UserID: id, Name: "Authenticator app", SealedSecret: sealed,
				Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: now, Confirmed: now, LastUsed: now, LastStep: step})
			if o.Sessions {
				sessions = append(sessions, mfa.Session{TokenHash: mfa.HashToken(Token(o.Seed, name)), UserID: id,
					Level: mfa.LevelFull, Created: now, LastSeen: now})
			}
		}
		if err := s.InsertAccounts(ctx, users, auths, sessions); err != nil {
			return res, fmt.Errorf("seed: accounts %d to %d: %w", start, start+n-1, err)
		}
		res.Accounts += n
		if o.Progress != nil {
			o.Progress(res.Accounts)
		}
	}
	res.Elapsed = time.Since(begin)
	return res, nil
}
