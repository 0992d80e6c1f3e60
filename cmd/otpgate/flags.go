package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args with fs, whose Usage writes the command's full
// help to fs.Output(). For -h and -help it writes the help to standard
// output and returns flag.ErrHelp, which commands take for success. For a
// mistake it returns exit status 2 with the error, then the help's first
// line (the usage) and where the rest is: the whole help after the error
// would push the error off the screen.
func parseFlags(fs *flag.FlagSet, args []string, e env) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package would print the help on every error
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return err
	}
	var help strings.Builder
	fs.SetOutput(&help)
	fs.Usage()
	fs.SetOutput(io.Discard)
	first, _, _ := strings.Cut(help.String(), "\n")
	return exitError{code: 2, msg: fmt.Sprintf("%s: %v\n%s; \"otpgate %s -h\" shows every flag", fs.Name(), err, first, fs.Name())}
}
