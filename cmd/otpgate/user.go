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
  add NAME          create a user (-admin for an administrator)
  passwd NAME       set a user's password (ends the user's sessions)
  list              list users: name, admin, disabled, TOTP
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
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, userUsage)
		return exitError{code: 2}
	}
	action := e.args[0]
	switch action {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, userUsage)
		return nil
	case "add", "passwd", "list", "disable", "enable", "delete", "reset-totp":
	default:
		return exitError{code: 2, msg: fmt.Sprintf("user: unknown action %q (add, passwd, list, disable, enable, delete, reset-totp)", action)}
	}
	var c Config
	fs := newFlagSet("user "+action, userUsage, e, &c)
	admin := fs.Bool("admin", false, "add: make the user an administrator")
	stdinPassword := fs.Bool("password-stdin", false, "add, passwd: read the password from the first line of standard input")
	// Flags may come before or after the name.
	var names []string
	args := e.args[1:]
	for {
		rest, err := parseConfig(fs, &c, env{args: args, getenv: e.getenv})
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			break
		}
		names, args = append(names, rest[0]), rest[1:]
	}
	want := 1
	if action == "list" {
		want = 0
	}
	if len(names) != want {
		return exitError{code: 2, msg: fmt.Sprintf("user %s: want %d user name argument(s), got %d", action, want, len(names))}
	}
	svc, store, err := openService(ctx, &c, newLogger(e.stderr, c.LogFormat))
	if err != nil {
		return err
	}
	defer store.Close()
	if action == "list" {
		return listUsers(ctx, svc, e.stdout)
	}
	name := mfa.NormalizeName(names[0])
	if action == "add" {
		password, err := readPassword(e, *stdinPassword)
		if err != nil {
			return err
		}
		u, err := svc.CreateUser(ctx, mfa.NewUser{Name: name, Password: password, Admin: *admin})
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
func userError(err error) error {
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return exitError{code: 1, msg: "no such user"}
	case errors.Is(err, mfa.ErrConflict):
		return exitError{code: 1, msg: "a user of that name exists already"}
	case errors.Is(err, mfa.ErrInvalid):
		return exitError{code: 1, msg: strings.TrimPrefix(err.Error(), mfa.ErrInvalid.Error()+": ")}
	}
	return err
}

func listUsers(ctx context.Context, svc *mfa.Service, w io.Writer) error {
	users, err := svc.Store().Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tTOTP\tCREATED")
	for _, u := range users {
		has, err := svc.HasTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, yesNo(u.Admin), yesNo(u.Disabled), yesNo(has), u.Created.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
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
		line, err := bufio.NewReader(io.LimitReader(e.stdin, mfa.MaxPasswordLength+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return "", exitError{code: 1, msg: "no password on standard input"}
		}
		return line, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", exitError{code: 2, msg: "standard input is not a terminal: use --password-stdin"}
	}
	fmt.Fprint(e.stderr, "New password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Again: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", exitError{code: 1, msg: "the passwords differ"}
	}
	return string(p1), nil
}
