package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/otpgate/otpgate/internal/oidc"
)

const keysUsage = `usage: otpgate keys <action> [flags]

Manages the OpenID provider's signing keys (RS256 and ES256, sealed with
the secret key in the store, which every instance reads again each minute);
safe while the server runs.

actions:
  rotate            add the next keys: published at once (in the JWKS), they
                    sign from -publish-for later, so that applications that
                    cache the JWKS have them first; the keys they replace stay
                    published until every token they signed has expired
                    (-oidc-token-ttl after the next keys sign, and 5 minutes),
                    then the server removes them. Refused while the keys of a
                    rotation do not sign yet
  list              list the keys: ID (kid), algorithm, state (next, current,
                    previous, retired), when made, when they sign, when they
                    are no longer published

Settings (as for "otpgate serve"):
`

func runKeys(ctx context.Context, e env) error {
	action, err := commandAction(e, "keys", keysUsage, "rotate", "list")
	if action == "" {
		return err
	}
	var c Config
	fs := newFlagSet("keys "+action, keysUsage, &c)
	publishFor := fs.Duration("publish-for", 24*time.Hour, "rotate: how long the next keys are published before they sign (`duration`; 0 signs at once, for a key that leaked)")
	names, err := parseWithNames(fs, &c, e, e.args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("keys %s: unexpected argument %q", action, names[0])}
	}
	if *publishFor < 0 {
		return exitError{code: 2, msg: "keys rotate: -publish-for must not be negative"}
	}
	_, store, err := openService(ctx, &c, c.newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	run := c.OIDC.run
	if run.store == nil {
		return errNoOIDCStore
	}
	now := time.Now()
	var keys []oidc.KeyInfo
	if action == "rotate" {
		keys, err = oidc.RotateKeys(ctx, run.store, run.cipher, rand.Reader, now, *publishFor, c.OIDC.TokenTTL)
		if errors.Is(err, oidc.ErrRotationPending) {
			return exitError{code: 1, msg: "keys rotate: " + err.Error()}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "next keys added: published now, signing from %s\n\n", now.Add(*publishFor).Format(keyTime))
	} else if keys, err = oidc.ListKeys(ctx, run.store, now); err != nil {
		return err
	}
	return listKeys(e.stdout, keys)
}

// keyTime is how the keys command writes times.
const keyTime = "2006-01-02 15:04:05 MST"

func listKeys(w io.Writer, keys []oidc.KeyInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tPUBLISHED UNTIL")
	for _, k := range keys {
		until := "-"
		if !k.RetireAt.IsZero() {
			until = k.RetireAt.Local().Format(keyTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, k.Created.Local().Format(keyTime),
			k.SignFrom.Local().Format(keyTime), until)
	}
	return tw.Flush()
}
