package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/seed"
)

const seedUsage = `usage: otpgate seed -accounts N -seed TEXT [flags]

An operator's command for benchmarks and load tests, never for a store that
serves real users: creates N accounts named <prefix>0 ... <prefix>N-1, each
with a confirmed TOTP authenticator, in the store the settings name (SQLite
or PostgreSQL), after its largest user ID. Every account gets the password
read from the terminal or, with --password-stdin, from standard input,
hashed once with argon2id. TOTP secrets (and, with -sessions, session
tokens) are derived from -seed with HMAC-SHA-256, so that a benchmark that
knows the seed computes valid codes: whoever knows the seed can sign in as
any of these accounts. Rows go in by batches, one transaction each.

Settings (as for "otpgate serve", plus the flags of this command):
`

func runSeed(ctx context.Context, e env) error {
	var c Config
	fs := newFlagSet("seed", seedUsage, &c)
	accounts := fs.Int("accounts", 0, "`number` of accounts to create (required)")
	seedText := fs.String("seed", "", "`text` the TOTP secrets and session tokens derive from (required)")
	prefix := fs.String("prefix", "seed", "`prefix` of the account names")
	sessions := fs.Bool("sessions", false, "also give every account a signed-in session (token derived from -seed)")
	batch := fs.Int("batch", 10000, "accounts per transaction")
	stdinPassword := fs.Bool("password-stdin", false, "read the accounts' password from the first line of standard input")
	args, err := parseConfig(fs, &c, e)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case len(args) > 0:
		return exitError{code: 2, msg: fmt.Sprintf("seed: unexpected argument %q", args[0])}
	case *accounts < 1:
		return exitError{code: 2, msg: "seed: -accounts: at least 1"}
	case *seedText == "":
		return exitError{code: 2, msg: "seed: -seed is required"}
	case *batch < 1:
		return exitError{code: 2, msg: "seed: -batch: at least 1"}
	}
	password, err := readPassword(e, *stdinPassword)
	if err != nil {
		return err
	}
	if err := mfa.ValidatePassword(password); err != nil {
		return userError(err)
	}
	// openService checks the key against the store; the cipher seals with
	// the same key.
	_, store, err := openService(ctx, &c, c.newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	bulk, ok := store.(seed.Store)
	if !ok {
		return fmt.Errorf("seed: the store cannot be seeded")
	}
	key, err := loadOrCreateKey(c.keyPath())
	if err != nil {
		return err
	}
	cipher, err := mfa.NewCipher(key, rand.Reader)
	if err != nil {
		return err
	}
	hash, err := mfa.NewHasher(c.Argon2, rand.Reader, mfa.HashLimits{Concurrent: 1}).Hash(ctx, password)
	if err != nil {
		return err
	}
	spec, _ := c.store()
	res, err := seed.Run(ctx, bulk, seed.Options{Accounts: *accounts, Prefix: *prefix, Seed: []byte(*seedText),
		PasswordHash: hash, Sessions: *sessions, Now: time.Now(), Batch: *batch, Cipher: cipher})
	if err != nil {
		return userError(err)
	}
	last := seed.Name(*prefix, res.Accounts-1)
	fmt.Fprintf(e.stdout, "seeded %d accounts (%s to %s, user IDs %d to %d), each with a confirmed TOTP authenticator",
		res.Accounts, seed.Name(*prefix, 0), last, res.FirstID, res.FirstID+int64(res.Accounts)-1)
	if *sessions {
		fmt.Fprint(e.stdout, " and a session")
	}
	fmt.Fprintf(e.stdout, ", into %s in %v (%.0f accounts/s)\n", spec, res.Elapsed.Round(time.Millisecond),
		float64(res.Accounts)/res.Elapsed.Seconds())
	return nil
}
