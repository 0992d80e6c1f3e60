// Command otpgate is the otpgate server and the operator's commands.
//
// Usage:
//
//	otpgate <command> [flags]
//
// Run "otpgate help" for the list of commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "otpgate:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "otpgate:", err)
		os.Exit(1)
	}
}

// env is what a command receives from run: its arguments and the process's
// surroundings, injected so that tests can run commands in-process.
type env struct {
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of otpgate.
type command struct {
	summary string
	run     func(ctx context.Context, e env) error
}

// commands lists every subcommand; each lives in a file of its own.
var commands = map[string]command{
	"verify-file":                 {"verify a code against a ~/.google_authenticator file", runVerifyFile},
	"version":                     {"print the version", runVersion},
	"serve":                       {"run the server (otpgate serve -h lists every setting)", runServe},
	"user":                        {"manage users: add, passwd, list, disable, enable, delete, reset-totp", runUser},
	"host":                        {"register the hosts of the PAM module: add, list, remove", runHost},
	"client":                      {"register the OpenID Connect clients: add, list, remove", runClient},
	"import-google-authenticator": {"copy users' ~/.google_authenticator files into the store", runImportGA},
	"enrol":                       {"set up TOTP from a terminal, with the server (otpgate enrol -h)", runEnrol},
	"migrate-store":               {"copy a SQLite store into an empty PostgreSQL database, checked by counts and checksum", runMigrateStore},
	"seed":                        {"benchmarks only: create N accounts with TOTP, secrets derived from a seed", runSeed},
	"ldap":                        {"check a user against the -ldap-* directory: otpgate ldap check USER", runLDAP},
	"keys":                        {"the OpenID provider's signing keys: rotate, list", runKeys},
}

// exitError ends the process with a given status; msg, if not empty, goes to
// standard error.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit status %d: %s", e.code, e.msg) }

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return exitError{code: 2}
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		what := "command"
		if strings.HasPrefix(name, "-") {
			what = "flag"
		}
		return exitError{code: 2, msg: fmt.Sprintf("unknown %s %q\nusage: otpgate <command> [flags]; \"otpgate -h\" lists the commands", what, name)}
	}
	return cmd.run(ctx, env{args: args[1:], getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: otpgate <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-32s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-32s %s\n", "help", "show this list")
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "otpgate <command> -h" for a command's flags.`)
}

func runVersion(_ context.Context, e env) error {
	fmt.Fprintln(e.stdout, "otpgate", version)
	return nil
}
