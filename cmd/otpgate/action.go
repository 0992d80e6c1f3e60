package main

import (
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
