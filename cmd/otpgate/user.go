package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/otpgate/otpgate/internal/mfa"
)

const userUsage = `usage: otpgate user <action> [flags] NAME

Manages accounts in the server's store; safe while the server runs.

actions:
  add NAME          create a user (-admin for an administrator; optional
                    --display-name "Full Name" and --groups a,b)
  set NAME          change a user's --display-name and/or --groups (an
                    empty value clears it); sessions stay, and a running
                    server sees the change within its -session-cache-ttl
  passwd NAME       set a user's password (ends the user's sessions)
  list              list users: name, source (local, ldap, pam), admin, disabled, TOTP, display name, groups
  disable NAME      refuse the user's sign-ins and end its sessions
  enable NAME       allow a disabled user again
  delete NAME       delete the user and all its data
  reset-totp NAME   remove the user's authenticators and recovery codes (lost phone)

Passwords are read from the terminal (asked twice, not echoed) or, with
--password-stdin, from the first line of standard input; never from
arguments.

Settings (as for "otpgate serve"):
`

func runUser(ctx context.Context, e env) error {
	action, err := commandAction(e, "user", userUsage, "add", "set", "passwd", "list", "disable", "enable", "delete", "reset-totp")
	if action == "" {
		return err
	}
	var c Config
	fs := newFlagSet("user "+action, userUsage, &c)
	admin := fs.Bool("admin", false, "add: make the user an administrator")
	stdinPassword := fs.Bool("password-stdin", false, "add, passwd: read the password from the first line of standard input")
	var displayName, groupList, mail *string
	fs.Func("mail", "add, set: the user's e-mail address, for notifications of changes to the second factor", func(v string) error {
		mail = &v
		return nil
	})
	fs.Func("display-name", "add, set: the user's display name (sent to protected apps as Remote-Name)", func(v string) error {
		displayName = &v
		return nil
	})
	fs.Func("groups", "add, set: the user's groups, comma-separated (for access rules; sent as Remote-Groups)", func(v string) error {
		groupList = &v
		return nil
	})
	names, err := actionNames(fs, &c, e, "user", action, "user")
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = mfa.WithClient(ctx, mfa.Client{Path: mfa.PathCommand})
	svc, store, err := openService(ctx, &c, c.newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	defer c.Audit.close()
	// Disabling a user, a new password, a reset end the user's sessions:
	// their applications' logout tokens go out before the command ends.
	defer c.OIDC.close()
	if action == "list" {
		return listUsers(ctx, svc, e.stdout)
	}
	name := mfa.NormalizeName(names[0])
	if (displayName != nil || groupList != nil || mail != nil) && action != "add" && action != "set" {
		return exitError{code: 2, msg: fmt.Sprintf("user %s: --display-name and --groups belong to add and set", action)}
	}
	var groups *[]string
	if groupList != nil {
		g, err := mfa.ParseGroups(*groupList)
		if err != nil {
			return userError(err)
		}
		groups = &g
	}
	if action == "add" {
		nu := mfa.NewUser{Name: name, Admin: *admin}
		if displayName != nil {
			nu.DisplayName = *displayName
		}
		if groups != nil {
			nu.Groups = *groups
		}
		if mail != nil {
			nu.Mail = *mail
		}
		// Check the profile before asking for a password.
		if err := mfa.ValidateDisplayName(nu.DisplayName); err != nil {
			return userError(err)
		}
		password, err := readPassword(e, *stdinPassword)
		if err != nil {
			return err
		}
		nu.Password = password
		u, err := svc.CreateUser(ctx, nu)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "user %s added\n", u.Name)
		return nil
	}
	u, err := store.UserByName(ctx, name)
	if err != nil {
		return userError(err)
	}
	switch action {
	case "set":
		if displayName == nil && groups == nil && mail == nil {
			return exitError{code: 2, msg: "user set: give --display-name, --groups or both"}
		}
		u, err = svc.SetProfile(ctx, u.ID, mfa.Profile{DisplayName: displayName, Groups: groups, Mail: mail})
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "user %s: display name %q, groups %q\n", u.Name, u.DisplayName, strings.Join(u.Groups, ","))
	case "passwd":
		password, err := readPassword(e, *stdinPassword)
		if err != nil {
			return err
		}
		err = svc.SetPassword(ctx, u.ID, password)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "password of %s changed; its sessions have ended\n", u.Name)
	case "disable", "enable":
		if err := svc.SetDisabled(ctx, u.ID, action == "disable"); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "user %s %sd\n", u.Name, action)
	case "delete":
		if err := store.DeleteUser(ctx, u.ID); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "user %s deleted\n", u.Name)
	case "reset-totp":
		if err := svc.ResetTOTP(ctx, u.ID); err != nil {
			return userError(err)
		}
		fmt.Fprintf(e.stdout, "TOTP of %s removed (authenticators and recovery codes); the user can set it up again after signing in with the password\n", u.Name)
	}
	return nil
}

// userError turns store error kinds into a clear message and exit status 1.
func userError(err error) error { return kindError(err, "user") }

// kindError turns the store error kinds of an operator's command on a
// thing ("user", "host") into a clear message and exit status 1.
func kindError(err error, thing string) error {
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return exitError{code: 1, msg: "no such " + thing}
	case errors.Is(err, mfa.ErrConflict):
		return exitError{code: 1, msg: "a " + thing + " of that name exists already"}
	case errors.Is(err, mfa.ErrInvalid):
		return exitError{code: 1, msg: strings.TrimPrefix(err.Error(), mfa.ErrInvalid.Error()+": ")}
	}
	return err
}

func listUsers(ctx context.Context, svc *mfa.Service, w io.Writer) error {
	users, err := svc.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tADMIN\tDISABLED\tTOTP\tCREATED\tGROUPS\tDISPLAY NAME")
	for _, u := range users {
		has, err := svc.HasTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		source := u.Source
		if u.IsLocal() {
			source = mfa.SourceLocal
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, source, yesNo(u.Admin), yesNo(u.Disabled), yesNo(has),
			u.Created.Format("2006-01-02 15:04"), orDash(strings.Join(u.Groups, ",")), orDash(u.DisplayName))
	}
	return tw.Flush()
}

// orDash shows an empty column as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// readPassword reads a new password from standard input's first line, or
// from the terminal without echo, asked twice.
func readPassword(e env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := stdinPassword(e)
		if err == nil && line == "" {
			return "", exitError{code: 1, msg: "no password on standard input"}
		}
		return line, err
	}
	if !isTerminal(e) {
		return "", exitError{code: 2, msg: "standard input is not a terminal: use --password-stdin"}
	}
	p1, err := hiddenLine(e, "New password: ")
	if err != nil {
		return "", err
	}
	p2, err := hiddenLine(e, "Again: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", exitError{code: 1, msg: "the passwords differ"}
	}
	return p1, nil
}

// stdinPassword reads a password from standard input's first line,
// without its line end; "" when there is none.
func stdinPassword(e env) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, mfa.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// isTerminal reports whether standard input is a terminal.
func isTerminal(e env) bool {
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// hiddenLine asks prompt on standard error and reads a line from the
// terminal on standard input without echo.
func hiddenLine(e env, prompt string) (string, error) {
	f := e.stdin.(*os.File)
	fmt.Fprint(e.stderr, prompt)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	return string(p), err
}
