package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidc"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

const clientUsage = `usage: otpgate client <action> [flags] [NAME]

Registers the OpenID Connect clients (relying parties such as Nextcloud,
JupyterHub, Grafana) whose users sign in with otpgate; safe while the
server runs.

actions:
  add NAME          register a client and print its client_id and, for a
                    confidential client, its secret, once: only the
                    secret's hash is stored. Flags:
                      --redirect-uri URL (at least one; repeat for more)
                      --post-logout-redirect-uri URL (repeatable)
                      --backchannel-logout-uri URL
                      --public: no secret, the app must use PKCE
                      --require-second-factor: no ID token is issued to
                        the client for a sign-in without a second factor
  list              list clients: name, type, second factor required,
                    created, redirect URIs
  remove NAME       remove a client: its tokens stop working at once

Redirect URIs are compared exactly with those the client sends: https, or
http on 127.0.0.1, [::1] or localhost; a public client (a native app) may
use a scheme of its own named by a reversed domain (com.example.app:/cb).
No fragment, no user@.

Settings (as for "otpgate serve"):
`

// stringList is a flag that may be given more than once, each value
// appended.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " ") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// clientFlags are the flags of "client add".
type clientFlags struct {
	redirect, postLogout        stringList
	backChannel                 string
	public, requireSecondFactor bool
}

func (f *clientFlags) declare(fs *flag.FlagSet) {
	fs.Var(&f.redirect, "redirect-uri", "add: a redirect `URL` the client may use (repeatable; at least one)")
	fs.Var(&f.postLogout, "post-logout-redirect-uri", "add: a `URL` the client may send users to after sign-out (repeatable)")
	fs.StringVar(&f.backChannel, "backchannel-logout-uri", "", "add: the client's back-channel logout `URL`, told when a session ends")
	fs.BoolVar(&f.public, "public", false, "add: a public client (no secret; PKCE required)")
	fs.BoolVar(&f.requireSecondFactor, "require-second-factor", false, "add: issue the client no ID token for a sign-in without a second factor")
}

// set reports whether any of the flags was given.
func (f *clientFlags) set() bool {
	return len(f.redirect) > 0 || len(f.postLogout) > 0 || f.backChannel != "" || f.public || f.requireSecondFactor
}

func runClient(ctx context.Context, e env) error {
	action, err := commandAction(e, "client", clientUsage, "add", "list", "remove")
	if action == "" {
		return err
	}
	var c Config
	fs := newFlagSet("client "+action, clientUsage, &c)
	var f clientFlags
	f.declare(fs)
	names, err := actionNames(fs, &c, e, "client", action, "client")
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if f.set() && action != "add" {
		return exitError{code: 2, msg: "client " + action + ": --redirect-uri and the other client flags belong to add"}
	}
	if action == "add" && len(f.redirect) == 0 {
		return exitError{code: 2, msg: "client add: want at least one --redirect-uri"}
	}
	store, err := openOIDCStore(ctx, &c)
	if err != nil {
		return err
	}
	defer store.Close()
	switch action {
	case "list":
		return listClients(ctx, store, e.stdout)
	case "add":
		name := mfa.NormalizeName(names[0])
		secret, err := oidc.AddClient(ctx, store, oidc.ClientSpec{Name: name, RedirectURIs: f.redirect, PostLogoutRedirectURIs: f.postLogout,
			BackChannelLogoutURI: f.backChannel, Public: f.public, RequireSecondFactor: f.requireSecondFactor}, rand.Reader, time.Now())
		if err != nil {
			return clientError(err)
		}
		if f.public {
			fmt.Fprintf(e.stdout, "client %s added (public: no secret, the app must use PKCE)\n\nclient_id: %s\n", name, name)
			return nil
		}
		fmt.Fprintf(e.stdout, "client %s added (confidential); its secret, shown this once (only its hash is stored):\n\n", name)
		fmt.Fprintf(e.stdout, "client_id:     %s\nclient_secret: %s\n\n", name, secret)
		fmt.Fprintln(e.stdout, "Give both to the client's configuration (client_secret_basic or client_secret_post).")
	case "remove":
		name := mfa.NormalizeName(names[0])
		if err := oidc.RemoveClient(ctx, store, name); err != nil {
			return clientError(err)
		}
		fmt.Fprintf(e.stdout, "client %s removed; its tokens no longer work\n", name)
	}
	return nil
}

// oidcStore is a store with the OpenID Connect provider's state.
type oidcStore interface {
	oidcstate.Store
	Close() error
}

// openOIDCStore opens the store the settings name (creating the data
// directory when needed). Clients need no secret key, and the store is not
// wrapped for metrics.
func openOIDCStore(ctx context.Context, c *Config) (oidcStore, error) {
	if err := privateDir(c.DataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, spec, err := openStore(ctx, c)
	if err != nil {
		return nil, err
	}
	o, ok := store.(oidcStore)
	if !ok {
		store.Close()
		return nil, fmt.Errorf("store %s keeps no OpenID Connect clients", spec)
	}
	return o, nil
}

// clientError turns store error kinds into a clear message and exit
// status 1.
func clientError(err error) error { return kindError(err, "client") }

func listClients(ctx context.Context, store oidcstate.Store, w io.Writer) error {
	clients, err := oidc.ListClients(ctx, store)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tREQUIRE-SECOND-FACTOR\tCREATED\tREDIRECT-URIS")
	for _, c := range clients {
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, kind, yesNo(c.RequireSecondFactor), c.Created.Format("2006-01-02 15:04"), strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}
