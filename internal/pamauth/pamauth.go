package pamauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Defaults of Options.
const (
	// DefaultHelper is where pam/README-section.md installs the helper.
	DefaultHelper = "/usr/local/libexec/otpgate-pam-check"
	// DefaultService is the PAM service asked: /etc/pam.d/otpgate.
	DefaultService = "otpgate"
	// DefaultTimeout bounds one run of the helper.
	DefaultTimeout = 5 * time.Second
)

// waitDelay is how long a helper that has exited (or been killed) may keep
// its output open through a child before the pipes are closed under it.
const waitDelay = 500 * time.Millisecond

// Options configure a Stack.
type Options struct {
	// Helper is the absolute path of otpgate-pam-check; empty means
	// DefaultHelper. It is not looked up in PATH, and not checked until
	// it is run: a missing helper makes each check ErrUnavailable.
	Helper string
	// Service is the PAM service: "otpgate" or a name starting with
	// "otpgate-", of a-z, 0-9, '.', '_' and '-', at most 64 bytes, with
	// its own file in /etc/pam.d; empty means DefaultService.
	Service string
	// Timeout bounds one check, helper start included; zero means
	// DefaultTimeout. It must exceed any delay the stack adds on failure
	// (pam_unix without nodelay sleeps about 2 s).
	Timeout time.Duration
}

// Stack is the "pam" first factor: an mfa.FirstFactor that asks the
// system's PAM stack through the helper. It is safe for concurrent use;
// each check runs one helper process.
type Stack struct {
	helper  string
	service string
	timeout time.Duration
	log     *slog.Logger
}

var _ mfa.FirstFactor = (*Stack)(nil)

// New returns a Stack for opts, or an error naming the Options field at
// fault. log gets a warning when an account's gecos is not a display
// name; nil discards it. What the helper says on standard error when it
// fails is in the error returned.
func New(opts Options, log *slog.Logger) (*Stack, error) {
	s := &Stack{helper: opts.Helper, service: opts.Service, timeout: opts.Timeout, log: log}
	if s.helper == "" {
		s.helper = DefaultHelper
	}
	if s.service == "" {
		s.service = DefaultService
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case !filepath.IsAbs(s.helper):
		return nil, fmt.Errorf("pamauth: Helper: %q is not an absolute path", s.helper)
	case !validService(s.service):
		return nil, fmt.Errorf("pamauth: Service: %q is not otpgate or otpgate-NAME of at most %d bytes of a-z, 0-9, '.', '_', '-'", s.service, maxService)
	case s.timeout < 0:
		return nil, fmt.Errorf("pamauth: Timeout: %v is negative", s.timeout)
	}
	return s, nil
}

// Name returns "pam".
func (s *Stack) Name() string { return "pam" }

// Authenticate checks name's password with pam_authenticate and
// pam_acct_mgmt; see the package documentation for what each answer
// gives.
func (s *Stack) Authenticate(ctx context.Context, name, password string) (mfa.Identity, error) {
	if err := checkName(name); err != nil {
		return mfa.Identity{}, err
	}
	switch {
	case password == "":
		return mfa.Identity{}, fmt.Errorf("pamauth: empty password: %w", mfa.ErrBadCredentials)
	case len(password) > maxPassword:
		return mfa.Identity{}, fmt.Errorf("pamauth: password longer than %d bytes: %w", maxPassword, mfa.ErrBadCredentials)
	case bytes.IndexByte([]byte(password), 0) >= 0:
		return mfa.Identity{}, fmt.Errorf("pamauth: password holds NUL: %w", mfa.ErrBadCredentials)
	}
	pw := []byte(password)
	defer clear(pw)
	return s.check(ctx, name, pw)
}

// Lookup returns name's identity without a password: pam_acct_mgmt and the
// shadow lock decide whether the account may still sign in.
func (s *Stack) Lookup(ctx context.Context, name string) (mfa.Identity, error) {
	if err := checkName(name); err != nil {
		return mfa.Identity{}, err
	}
	return s.check(ctx, name, nil)
}

func checkName(name string) error {
	if err := mfa.ValidateName(name); err != nil {
		return fmt.Errorf("pamauth: not a name otpgate asks PAM about (%v): %w", err, mfa.ErrNotFound)
	}
	return nil
}

// check runs the helper and turns its answer into an Identity or an error
// of mfa's kinds.
func (s *Stack) check(ctx context.Context, name string, password []byte) (mfa.Identity, error) {
	a, err := s.run(ctx, name, password)
	if err != nil {
		return mfa.Identity{}, err
	}
	switch a.kind {
	case kindUnavailable:
		return mfa.Identity{}, fmt.Errorf("pamauth: service %s cannot decide (%s): %w", s.service, a.reason, mfa.ErrUnavailable)
	case kindRefused:
		if a.reason == "PAM_USER_UNKNOWN" {
			return mfa.Identity{}, fmt.Errorf("pamauth: service %s: unknown user (%s): %w", s.service, a.reason, mfa.ErrNotFound)
		}
		return mfa.Identity{}, fmt.Errorf("pamauth: service %s refused (%s): %w", s.service, a.reason, mfa.ErrBadCredentials)
	}
	if a.user != name {
		return mfa.Identity{}, fmt.Errorf("pamauth: service %s answered for account %q, not the one asked: %w", s.service, a.user, mfa.ErrBadCredentials)
	}
	id := mfa.Identity{
		Name:        a.user,
		Source:      s.Name(),
		ExternalID:  strconv.FormatUint(uint64(a.uid), 10),
		DisplayName: a.display,
	}
	if err := mfa.ValidateDisplayName(a.display); err != nil {
		s.log.Warn("pam gecos is not a display name; left empty", "user", name, "err", err)
		id.DisplayName = ""
	}
	if len(a.groups) > 0 {
		id.Groups = slices.Compact(slices.Sorted(slices.Values(a.groups)))
	} else {
		id.Groups = []string{}
	}
	return id, nil
}

// run runs the helper once, within the timeout, and parses its answer.
func (s *Stack) run(ctx context.Context, name string, password []byte) (answer, error) {
	in := request(s.service, name, password)
	defer clear(in)
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, s.helper)
	cmd.Env = []string{}
	cmd.Stdin = bytes.NewReader(in)
	stdout := &capped{max: maxAnswer}
	stderr := &capped{max: 512}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	// What the helper said on standard error (never the password: it
	// does not print it) goes into the error, for the log.
	fail := func(format string, args ...any) (answer, error) {
		err := fmt.Errorf(format, args...)
		if msg := bytes.TrimSpace(stderr.buf); len(msg) > 0 {
			err = fmt.Errorf("%w; helper said %q", err, msg)
		}
		return answer{}, err
	}
	switch {
	case ctx.Err() != nil:
		return fail("pamauth: helper: %w: %w", mfa.ErrUnavailable, context.Cause(ctx))
	case rctx.Err() != nil:
		return fail("pamauth: helper gave no answer within %v: %w", s.timeout, mfa.ErrUnavailable)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fail("pamauth: helper failed (%v) after %v: %w", exit.ProcessState, time.Since(start).Round(time.Millisecond), mfa.ErrUnavailable)
		}
		return fail("pamauth: running helper: %w: %w", mfa.ErrUnavailable, err)
	case stdout.over:
		return fail("pamauth: helper wrote more than %d bytes: %w", maxAnswer, mfa.ErrUnavailable)
	}
	a, err := parseAnswer(stdout.buf)
	if err != nil {
		return fail("pamauth: helper: %w: %w", mfa.ErrUnavailable, err)
	}
	return a, nil
}

// capped keeps the first max bytes written and notes whether there were
// more; it never fails, so that a chatty helper is not stopped by a broken
// pipe before it exits.
type capped struct {
	buf  []byte
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := min(len(p), c.max-len(c.buf))
	c.buf = append(c.buf, p[:n]...)
	if n < len(p) {
		c.over = true
	}
	return len(p), nil
}
