package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/qr"
)

const enrolUsage = `usage: otpgate enrol [flags]

Sets up TOTP for your account from a terminal, with the otpgate server: it
asks for your user name and password, shows a QR code to scan with your
authenticator app (and the key, to type in by hand), asks for a code from
the app to confirm, and prints your recovery codes once. The secret is kept
only by the server, never written to a file in your home directory.

If your second factor so far is a ~/.google_authenticator file, you are
asked for a current code from it first; afterwards otpgate uses the new
authenticator, and the file can be removed.

Scripts give the password as the first line of standard input
(--password-stdin), then, one a line, the codes asked for.
Exit status: 0 set up, 1 refused or not confirmed, 2 bad usage.

flags:
`

// maxLine bounds a line read from standard input.
const maxLine = 4096

// runEnrol is "otpgate enrol".
func runEnrol(ctx context.Context, e env) error {
	fs := flag.NewFlagSet("enrol", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), enrolUsage)
		fs.PrintDefaults()
	}
	def := e.getenv("OTPGATE_BASE_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	server := fs.String("server", def, "the otpgate server's `URL` (default from OTPGATE_BASE_URL)")
	name := fs.String("user", "", "your user `name` (default: asked on a terminal, else the current account's name)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parseFlags(fs, e.args, e); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("enrol: unexpected argument %q", fs.Arg(0))}
	}
	base, err := url.Parse(strings.TrimSuffix(*server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return exitError{code: 2, msg: fmt.Sprintf("enrol: -server %q: want an http or https URL", *server)}
	}
	if base.Scheme == "http" && !loopback(base.Hostname()) {
		fmt.Fprintf(e.stderr, "otpgate: warning: %s is plain HTTP: your password and the new secret cross the network unencrypted\n", base.Host)
	}
	en := enroller{base: base.String(), client: &http.Client{Timeout: 30 * time.Second},
		in: lineReader{e.stdin}, out: e.stdout}
	tty, interactive := terminal(e.stdin)

	if *name == "" {
		current := ""
		if u, err := user.Current(); err == nil {
			current = u.Username
		}
		*name = current
		if interactive {
			line, err := en.ask(fmt.Sprintf("User name [%s]: ", current))
			if err != nil {
				return err
			}
			if line = strings.TrimSpace(line); line != "" {
				*name = line
			}
		}
		if *name == "" {
			return exitError{code: 2, msg: "enrol: who are you? give -user"}
		}
	}
	var password string
	switch {
	case *fromStdin:
		if password, err = en.in.line(); err != nil || password == "" {
			return exitError{code: 1, msg: "enrol: no password on standard input"}
		}
	case interactive:
		fmt.Fprint(e.stdout, "Password: ")
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(e.stdout)
		if err != nil {
			return err
		}
		password = string(p)
	default:
		return exitError{code: 2, msg: "enrol: standard input is not a terminal: use --password-stdin"}
	}
	return en.run(ctx, *name, password, e.stdout)
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// terminal returns r as a file when it is a terminal.
func terminal(r io.Reader) (*os.File, bool) {
	f, ok := r.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// lineReader reads lines one byte at a time, so that nothing after a line
// is taken from standard input (a terminal's password read comes next).
type lineReader struct{ r io.Reader }

// line returns the next line without its end; io.EOF when there is none.
func (l lineReader) line() (string, error) {
	var b []byte
	c := make([]byte, 1)
	for len(b) <= maxLine {
		n, err := l.r.Read(c)
		if n == 1 {
			if c[0] == '\n' {
				return strings.TrimSuffix(string(b), "\r"), nil
			}
			b = append(b, c[0])
			continue
		}
		if err != nil {
			if len(b) > 0 && errors.Is(err, io.EOF) {
				return strings.TrimSuffix(string(b), "\r"), nil
			}
			return "", err
		}
	}
	return "", fmt.Errorf("a line longer than %d bytes", maxLine)
}

// enroller talks to the server's enrol endpoints.
type enroller struct {
	base   string
	client *http.Client
	in     lineReader
	out    io.Writer
}

// ask prints a prompt and reads the answer.
func (en enroller) ask(prompt string) (string, error) {
	fmt.Fprint(en.out, prompt)
	line, err := en.in.line()
	if errors.Is(err, io.EOF) {
		fmt.Fprintln(en.out)
		return "", exitError{code: 1, msg: "enrol: no answer (end of input); nothing was set up"}
	}
	return line, err
}

// post sends one JSON request and decodes the answer.
func (en enroller) post(ctx context.Context, path string, body any) (api.EnrolResponse, error) {
	var a api.EnrolResponse
	b, err := json.Marshal(body)
	if err != nil {
		return a, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, en.base+path, bytes.NewReader(b))
	if err != nil {
		return a, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := en.client.Do(req)
	if err != nil {
		return a, exitError{code: 1, msg: fmt.Sprintf("enrol: the server: %v", err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return a, exitError{code: 1, msg: fmt.Sprintf("enrol: the server's answer: %v", err)}
	}
	if err := json.Unmarshal(data, &a); err != nil || (a.Outcome == "" && a.Error == "") {
		return a, exitError{code: 1, msg: fmt.Sprintf("enrol: %s%s answered %s, not otpgate's JSON", en.base, path, resp.Status)}
	}
	if a.Error != "" {
		return a, exitError{code: 1, msg: "enrol: the server refused the request: " + a.Error}
	}
	return a, nil
}

// run starts the setup, shows the key and confirms it with a code.
func (en enroller) run(ctx context.Context, name, password string, stdout io.Writer) error {
	req := api.EnrolRequest{Username: name, Password: password}
	a, err := en.post(ctx, "/api/v1/enrol", req)
	if err != nil {
		return err
	}
	if a.Outcome == "code_required" {
		code, err := en.ask("Your second factor so far is your google-authenticator file.\nEnter a current code from it: ")
		if err != nil {
			return err
		}
		req.OTP = strings.TrimSpace(code)
		if a, err = en.post(ctx, "/api/v1/enrol", req); err != nil {
			return err
		}
	}
	if a.Outcome != "ok" {
		return exitError{code: 1, msg: "enrol: " + a.Message}
	}

	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(en.out, "Scan this QR code with your authenticator app:")
		if err := qr.Terminal(en.out, a.URI, qr.ANSI); err != nil {
			fmt.Fprintf(en.out, "Cannot draw the QR code (%v): type the key into the app instead.\n", err)
		}
	}
	fmt.Fprintf(en.out, "Your new secret key, to type into the app by hand: %s\n", a.Key)
	fmt.Fprintf(en.out, "(This setup expires in %d minutes.)\n", a.ExpiresIn/60)

	for {
		code, err := en.ask("Enter the code the app shows now: ")
		if err != nil {
			return err
		}
		c, err := en.post(ctx, "/api/v1/enrol/confirm", api.EnrolConfirmRequest{Username: name, ID: a.ID, Code: strings.TrimSpace(code)})
		if err != nil {
			return err
		}
		switch c.Outcome {
		case "ok":
			fmt.Fprintln(en.out, "Code confirmed.", c.Message)
			if c.Clock != "" {
				fmt.Fprintln(en.out, c.Clock)
			}
			if len(c.RecoveryCodes) > 0 {
				fmt.Fprintln(en.out, "Your recovery codes, each good for one sign-in without your phone. They are shown only now: keep them somewhere safe.")
				for _, rc := range c.RecoveryCodes {
					fmt.Fprintf(en.out, "  %s\n", rc)
				}
			}
			return nil
		case "code_wrong":
			fmt.Fprintln(en.out, "That is not the app's code. Check that the phone's clock is right, and try again.")
		default:
			return exitError{code: 1, msg: "enrol: " + c.Message}
		}
	}
}
