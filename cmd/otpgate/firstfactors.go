package main

import (
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/otpgate/otpgate/internal/ldap"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/pamauth"
)

// firstFactorFlags declares -first-factors and the settings of the PAM
// first factor on fs (the LDAP ones are in ldap.go).
func firstFactorFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.FirstFactors, "first-factors", "local", "comma-separated `sources` of passwords, asked in order: local (otpgate's own argon2id passwords), ldap (the -ldap-* directory) and pam (the system's accounts, through -pam-helper); the first that knows the name decides, e.g. ldap,local")
	fs.StringVar(&c.PAM.Helper, "pam-helper", pamauth.DefaultHelper, "absolute `path` of otpgate-pam-check (scripts/build-pam builds it), which checks passwords with the PAM stack")
	fs.StringVar(&c.PAM.Service, "pam-service", pamauth.DefaultService, "PAM `service` (a file in /etc/pam.d): otpgate or otpgate-*")
	fs.DurationVar(&c.PAM.Timeout, "pam-timeout", pamauth.DefaultTimeout, "limit of one check by the PAM stack")
}

// Names of first factors in -first-factors.
const (
	factorLocal = "local"
	factorLDAP  = "ldap"
	factorPAM   = "pam"
)

// firstFactors builds the chain of -first-factors, in order, and returns
// what closes it when the server stops.
func (c *Config) firstFactors(log *slog.Logger) ([]mfa.FirstFactor, func(), error) {
	names, err := c.firstFactorList()
	if err != nil {
		return nil, nil, err
	}
	var ffs []mfa.FirstFactor
	var closers []func() error
	closeAll := func() {
		for _, f := range closers {
			f()
		}
	}
	for _, n := range names {
		switch n {
		case factorLocal:
			ffs = append(ffs, mfa.LocalPasswords)
		case factorLDAP:
			// The Directory connects when first asked: a directory down at
			// start delays no start, and its users get 503 until it answers.
			d, err := ldap.New(c.LDAP, log.With("first_factor", factorLDAP), time.Now)
			if err != nil {
				closeAll()
				return nil, nil, ldapConfigError(err)
			}
			closers = append(closers, d.Close)
			ffs = append(ffs, d.FirstFactor())
		case factorPAM:
			st, err := pamauth.New(c.PAM, log.With("first_factor", factorPAM))
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("pam: %w", err)
			}
			ffs = append(ffs, st)
		}
	}
	return ffs, closeAll, nil
}

// firstFactorList parses -first-factors: known names, each once.
func (c *Config) firstFactorList() ([]string, error) {
	var names []string
	for _, n := range strings.Split(c.FirstFactors, ",") {
		n = strings.TrimSpace(n)
		switch n {
		case factorLocal, factorLDAP, factorPAM:
		case "":
			return nil, fmt.Errorf("first-factors: an empty name in %q", c.FirstFactors)
		default:
			return nil, fmt.Errorf("first-factors: unknown source %q (local, ldap, pam)", n)
		}
		if slices.Contains(names, n) {
			return nil, fmt.Errorf("first-factors: %s given twice", n)
		}
		names = append(names, n)
	}
	return names, nil
}

// validateFirstFactors checks -first-factors and, when ldap is one of
// them or -ldap-url is set (otpgate ldap check), the -ldap-* settings.
func (c *Config) validateFirstFactors() []error {
	names, err := c.firstFactorList()
	if err != nil {
		return []error{err}
	}
	if slices.Contains(names, factorPAM) {
		if _, err := pamauth.New(c.PAM, nil); err != nil {
			return []error{pamConfigError(err)}
		}
	}
	if !slices.Contains(names, factorLDAP) && len(c.LDAP.URLs) == 0 {
		return nil
	}
	if err := c.LDAP.Validate(); err != nil {
		return []error{ldapConfigError(err)}
	}
	return nil
}

// pamConfigError names the flag of the pamauth.Options field at fault.
func pamConfigError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "pamauth: ")
	for field, flag := range map[string]string{"Helper: ": "pam-helper: ", "Service: ": "pam-service: ", "Timeout: ": "pam-timeout: "} {
		if strings.HasPrefix(msg, field) {
			return fmt.Errorf("%s%s", flag, strings.TrimPrefix(msg, field))
		}
	}
	return err
}
