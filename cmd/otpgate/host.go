package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/otpgate/otpgate/internal/mfa"
)

const hostUsage = `usage: otpgate host <action> [flags] [NAME]

Registers the machines whose PAM module (pam_otpgate) asks the server for
second-factor checks; safe while the server runs.

actions:
  add NAME          register a host and print its token, once: only its
                    hash is stored (--allow-password lets the host have
                    passwords checked here too, for PAM services whose stack
                    has no other password module)
  list              list hosts: name, allow-password, created
  remove NAME       remove a host: its token stops working at once

The token goes into a file on that host that only root can read, which the
module reads (its token_file argument), e.g. /etc/otpgate/host.token, mode
0600. A token can do nothing but ask the PAM endpoints.

Settings (as for "otpgate serve"):
`

// hostTokenFile is where the printed instructions suggest putting a
// host's token.
const hostTokenFile = "/etc/otpgate/host.token"

func runHost(ctx context.Context, e env) error {
	action, err := commandAction(e, "host", hostUsage, "add", "list", "remove")
	if action == "" {
		return err
	}
	var c Config
	fs := newFlagSet("host "+action, hostUsage, &c)
	allowPassword := fs.Bool("allow-password", false, "add: let the host have passwords checked here too")
	names, err := actionNames(fs, &c, e, "host", action, "host")
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *allowPassword && action != "add" {
		return exitError{code: 2, msg: "host " + action + ": --allow-password belongs to add"}
	}
	svc, store, err := openService(ctx, &c, c.newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	switch action {
	case "list":
		return listHosts(ctx, svc, e.stdout)
	case "add":
		name := mfa.NormalizeName(names[0])
		token, err := svc.AddHost(ctx, name, *allowPassword)
		if err != nil {
			return hostError(err)
		}
		what := "second-factor checks"
		if *allowPassword {
			what = "second-factor and password checks"
		}
		fmt.Fprintf(e.stdout, "host %s added (%s); its token, shown this once:\n\n%s\n\n", name, what, token)
		fmt.Fprintf(e.stdout, "Put it on %s in a file only root can read (mode 0600), which pam_otpgate reads (token_file=%s):\n", name, hostTokenFile)
		fmt.Fprintf(e.stdout, "  install -d -m 0755 %s && (umask 077 && cat > %s)   # as root: paste the token, then Ctrl-D\n", hostTokenDir(), hostTokenFile)
	case "remove":
		name := mfa.NormalizeName(names[0])
		if err := svc.RemoveHost(ctx, name); err != nil {
			return hostError(err)
		}
		fmt.Fprintf(e.stdout, "host %s removed; its token no longer works\n", name)
	}
	return nil
}

// hostTokenDir is the directory of hostTokenFile.
func hostTokenDir() string { return hostTokenFile[:strings.LastIndexByte(hostTokenFile, '/')] }

// hostError turns store error kinds into a clear message and exit status 1.
func hostError(err error) error { return kindError(err, "host") }

func listHosts(ctx context.Context, svc *mfa.Service, w io.Writer) error {
	hosts, err := svc.Hosts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tALLOW-PASSWORD\tCREATED")
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Name, yesNo(h.AllowPassword), h.Created.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}
