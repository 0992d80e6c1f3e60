package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// commandAction reads the action of an operator's command (user, host,
// client, keys): its first argument, one of actions. For help it prints
// usage and returns ""; for none or an unknown one, an exitError (code 2).
func commandAction(e env, command, usage string, actions ...string) (string, error) {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return "", exitError{code: 2}
	}
	action := e.args[0]
	switch {
	case action == "help" || action == "-h" || action == "-help" || action == "--help":
		fmt.Fprint(e.stdout, usage)
		return "", nil
	case slices.Contains(actions, action):
		return action, nil
	}
	return "", exitError{code: 2, msg: fmt.Sprintf("%s: unknown action %q (%s)", command, action, strings.Join(actions, ", "))}
}

// actionNames parses the flags and arguments of an operator command's
// action: one name (noun) for each action but list, which takes none. Help
// comes back as flag.ErrHelp, as from parseWithNames.
func actionNames(fs *flag.FlagSet, c *Config, e env, command, action, noun string) ([]string, error) {
	names, err := parseWithNames(fs, c, e, e.args[1:])
	if err != nil {
		return nil, err
	}
	want := 1
	if action == "list" {
		want = 0
	}
	if len(names) != want {
		return nil, exitError{code: 2, msg: fmt.Sprintf("%s %s: want %d %s name argument(s), got %d", command, action, want, noun, len(names))}
	}
	return names, nil
}
