package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// enforceSettings name the file of the rules that require a second factor
// of some groups from a deadline, and hold them once read.
type enforceSettings struct {
	File  string
	rules *mfa.Enforcement
}

func enforceFlags(fs *flag.FlagSet, s *enforceSettings) {
	fs.StringVar(&s.File, "enforce-file", "", "`file` of rules that require a second factor of groups from a date, one a line: \"second factor required for groups hpc, staff from 2027-01-15 [except groups guests]\", \"exempt groups robots\"; dates start at midnight local time; empty means none. Rules set on the admin pages apply with these (see also -require-totp)")
}

// validate reads the rules file; a bad line stops startup, naming it.
func (s *enforceSettings) validate() []error {
	if s.File == "" {
		return nil
	}
	f, err := os.Open(s.File)
	if err != nil {
		return []error{fmt.Errorf("enforce-file: %w", err)}
	}
	defer f.Close()
	if s.rules, err = mfa.ParseEnforcement(s.File, io.LimitReader(f, 1<<20), time.Local); err != nil {
		return []error{fmt.Errorf("enforce-file: %w", err)}
	}
	return nil
}
