package ldap

import (
	"errors"
	"fmt"
)

// Error kinds returned by Directory. Callers test them with errors.Is; the
// wrapping text gives the real cause for the log and never contains a
// password. It names no entry of the directory either (no DN, no other
// user), so that it cannot leak the directory's structure if it ever
// reached a page.
var (
	// ErrBadCredentials means the name or the password is wrong, or the
	// account may not sign in (disabled, locked, expired): the client gets
	// one answer for all of them.
	ErrBadCredentials = errors.New("ldap: bad credentials")
	// ErrNotFound means Lookup found no usable account of that name: gone
	// from the directory, or disabled there.
	ErrNotFound = errors.New("ldap: account not found")
	// ErrUnavailable means no configured server answered in time, or the
	// directory refused the service account or a search: nothing was
	// decided and the caller fails closed. The Directory recovers by itself
	// when a server answers again.
	ErrUnavailable = errors.New("ldap: directory unavailable")
)

// ConfigError is returned by Config.Validate and New: Setting names the
// Config field at fault, so that a command can name its own flag for it.
type ConfigError struct {
	Setting string
	Err     error
}

// Error names the setting and says what is wrong with it.
func (e *ConfigError) Error() string { return "ldap: " + e.Setting + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(setting, format string, args ...any) error {
	return &ConfigError{Setting: setting, Err: fmt.Errorf(format, args...)}
}
