package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/ldap"
)

const ldapUsage = `usage: otpgate ldap check [flags] USER [--password-stdin]

Signs USER in against the directory of the -ldap-* settings, as otpgate
serve would, and prints each step for an operator setting it up: the mode,
the server used and its TLS version, the search (base, scope, filter sent),
how many entries matched, the DN found, the account's state, the group
filter and the groups, and the bind result. The password is read from the
terminal (not echoed) or, with --password-stdin, from the first line of
standard input; it is never printed. The exit status is 0 only when the
user's bind succeeded and the account may sign in.

Settings (as for "otpgate serve"):
`

func runLDAP(ctx context.Context, e env) error {
	if len(e.args) == 0 || e.args[0] != "check" {
		if len(e.args) > 0 && (e.args[0] == "help" || e.args[0] == "-h" || e.args[0] == "-help" || e.args[0] == "--help") {
			fmt.Fprint(e.stdout, ldapUsage)
			return nil
		}
		fmt.Fprint(e.stderr, ldapUsage)
		return exitError{code: 2}
	}
	var c Config
	fs := newFlagSet("ldap check", ldapUsage, &c)
	stdinPassword := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	names, err := parseWithNames(fs, &c, e, e.args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return exitError{code: 2, msg: fmt.Sprintf("ldap check: want one user name argument, got %d", len(names))}
	}
	if len(c.LDAP.URLs) == 0 {
		return exitError{code: 2, msg: "ldap check: -ldap-url is not set (and the other -ldap-* settings, as for serve)"}
	}
	password, err := readCheckPassword(e, *stdinPassword)
	if err != nil {
		return err
	}
	d, err := ldap.New(c.LDAP, c.newLogger(e.stderr), time.Now)
	if err != nil {
		return exitError{code: 2, msg: ldapConfigError(err).Error()}
	}
	defer d.Close()
	r := d.Check(ctx, names[0], password)
	printCheck(e.stdout, r)
	if r.Err != nil || r.Bind != "ok" {
		return exitError{code: 1, msg: "ldap check: " + names[0] + " may not sign in"}
	}
	return nil
}

// printCheck writes what Check did, one step a line.
func printCheck(w io.Writer, r ldap.CheckResult) {
	line := func(k, v string) { fmt.Fprintf(w, "%-15s%s\n", k+":", v) }
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	line("mode", r.Mode)
	line("server", or(r.Server, "none answered"))
	line("tls", or(r.TLS, "none"))
	if r.Filter != "" {
		line("search", fmt.Sprintf("base %q, scope %s", r.BaseDN, r.Scope))
		line("filter", r.Filter)
		entries := fmt.Sprint(r.Entries)
		if r.Entries > 1 {
			entries = "more than one"
		}
		line("entries", entries)
	}
	line("dn", or(r.DN, "none"))
	if r.DN != "" {
		line("state", or(r.State, "ok"))
	}
	if r.GroupFilter != "" {
		line("group filter", r.GroupFilter)
	}
	groups := strings.Join(r.Account.Groups, ", ")
	if r.Err != nil {
		groups = "not read"
	}
	line("groups", or(groups, "none"))
	if r.Account.UniqueID != "" {
		line("unique id", r.Account.UniqueID)
	}
	line("bind", r.Bind)
	if r.Err != nil {
		line("result", "refused: "+r.Err.Error())
	} else {
		line("result", "ok: "+r.Account.Name+" may sign in")
	}
}

// readCheckPassword reads the password once: from standard input's first
// line, or from the terminal without echo.
func readCheckPassword(e env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := stdinPassword(e)
		if err == nil && line == "" {
			return "", exitError{code: 2, msg: "ldap check: no password on standard input"}
		}
		return line, err
	}
	if !isTerminal(e) {
		return "", exitError{code: 2, msg: "ldap check: standard input is not a terminal: use --password-stdin"}
	}
	return hiddenLine(e, "Password: ")
}
