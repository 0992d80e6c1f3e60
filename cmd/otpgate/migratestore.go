package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/migrate"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
)

const migrateStoreUsage = `usage: otpgate migrate-store -from sqlite:PATH (-to postgres://... | -to-file FILE)

Copies every row of a SQLite store into an empty PostgreSQL database (the
schema is created first), then reads the copy back: it prints the counts
per table and the checksum of the source and of the target, and exits with
status 0 only when they agree. Stop the servers on the SQLite store first:
what they change during the copy is not moved. The instances on PostgreSQL
need the secret key file the SQLite store was used with.

Flags:
`

func runMigrateStore(ctx context.Context, e env) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	from := fs.String("from", "", "the SQLite store: sqlite:PATH or a file path")
	to := fs.String("to", "", "the PostgreSQL database: a postgres:// URL (its password shows in the process list: prefer -to-file)")
	toFile := fs.String("to-file", "", "`file` holding the PostgreSQL URL, as -db-file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), migrateStoreUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e.args, e); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("migrate-store: unexpected argument %q", fs.Arg(0))}
	}
	if *from == "" || (*to == "") == (*toFile == "") {
		return exitError{code: 2, msg: "migrate-store: want -from and one of -to or -to-file"}
	}
	src, err := parseStore(*from)
	if err != nil || src.sqlitePath == "" {
		return exitError{code: 2, msg: "migrate-store: -from: want sqlite:PATH or a file path"}
	}
	var dst storeSpec
	if *toFile != "" {
		dst, err = readDBFile(*toFile)
	} else {
		dst, err = parseStore(*to)
	}
	if err == nil && dst.dsn == "" {
		err = errors.New("want a postgres:// URL")
	}
	if err != nil {
		return exitError{code: 2, msg: "migrate-store: target: " + err.Error()}
	}

	// sqlite.Open would make an empty store of a mistyped path.
	if _, err := os.Stat(src.sqlitePath); err != nil {
		return fmt.Errorf("migrate-store: -from: %w", err)
	}
	source, err := sqlite.Open(ctx, src.sqlitePath)
	if err != nil {
		return fmt.Errorf("store %s: %w", src, err)
	}
	defer source.Close()
	target, err := postgres.Open(ctx, dst.dsn, postgres.Options{})
	if err != nil {
		return fmt.Errorf("store %s: %w", dst, err)
	}
	defer target.Close()
	begin := time.Now()
	r, err := migrate.Copy(ctx, source, target)
	if r.Source.Checksum != "" {
		printSummary(e, "source "+src.String(), r.Source)
	}
	if r.Target.Checksum != "" {
		printSummary(e, "target "+dst.String(), r.Target)
	}
	switch {
	case errors.Is(err, mfa.ErrConflict):
		return exitError{code: 1, msg: fmt.Sprintf("migrate-store: target %s is not empty (%v); nothing was copied", dst, err)}
	case errors.Is(err, migrate.ErrDiffers):
		return exitError{code: 1, msg: "migrate-store: the target differs from the source: check the database before use"}
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "ok: source and target agree (%v)\n", time.Since(begin).Round(time.Millisecond))
	return nil
}

func printSummary(e env, what string, s migrate.Summary) {
	fmt.Fprintf(e.stdout, "%s:\n  users %d\n  authenticators %d\n  recovery_codes %d\n  sessions %d\n  setup_tokens %d\n  throttle %d\n  hosts %d\n"+
		"  oidc_clients %d\n  oidc_signing_keys %d\n  sha256 %s\n",
		what, s.Users, s.Authenticators, s.RecoveryCodes, s.Sessions, s.SetupTokens, s.ThrottleKeys, s.Hosts, s.OIDCClients, s.SigningKeys, s.Checksum)
}
