// Package testenv decides, in one place, what a test does when a real
// component it needs (a Debian package, a database, a browser) is missing:
// it skips with a clear message, unless OTPGATE_REQUIRE_INTEGRATION=1 is set
// (scripts/test sets it, and so CI), in which case the skip is a failure.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireVar is the environment variable that turns every integration skip
// into a failure when set to "1".
const RequireVar = "OTPGATE_REQUIRE_INTEGRATION"

// Required reports whether missing components must fail tests.
func Required() bool { return os.Getenv(RequireVar) == "1" }

// SkipOrFail skips the test with the given reason, or fails it when
// integration tests are required.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("integration component missing ("+RequireVar+"=1): "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// LookPath returns the path of the named program, or skips (or fails) the
// test when it is not installed.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, "%s not installed (scripts/test installs it as root)", name)
	}
	return p
}

// Python returns the path of a python3 that can import every named module,
// preferring the system interpreter that Debian's python3-* packages serve.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		args := []string{"-c", "import sys"}
		for _, m := range modules {
			args[1] += "; import " + m
		}
		if exec.Command(path, args...).Run() == nil {
			return path
		}
	}
	SkipOrFail(t, "no python3 with modules %v (scripts/test installs them as root)", modules)
	return ""
}

// Root skips (or fails) the test unless it runs as root, for tests that
// need namespaces or other privileged set-up.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root")
	}
}
