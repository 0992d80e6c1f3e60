// Package pam holds pam_otpgate, the PAM module that asks an otpgate
// server for the second factor (module/pam_otpgate.c), and its tests
// through real PAM stacks. The package has no Go code of its own: the
// module is C, its helper is cmd/otpgate-pam-client.
//
// # Why C, a helper and a pipe
//
// A Go shared library loaded as a PAM module hangs in sshd, su, sudo and
// login: the Go runtime starts threads and signal handlers inside a
// process that forks, changes uid and handles signals itself. So the
// module is a small C file that links only libpam and libc and never
// starts a thread; the HTTPS call lives in a separate, static Go program
// (CGO_ENABLED=0), run fresh for every call:
//
//  1. The module takes PAM_USER, PAM_SERVICE, PAM_RHOST and PAM_TTY, and
//     the code: a hidden (PAM_PROMPT_ECHO_OFF) prompt, prompt= text,
//     default "Verification code: ", or PAM_AUTHTOK with use_first_pass
//     (try_first_pass: prompt only when no earlier module stored one).
//  2. It builds the request in memory, then fork()s and, in the child,
//     only dup2()s the pipes onto stdin and stdout, /dev/null onto stderr,
//     closes every other descriptor, resets signals and execve()s the
//     helper at a fixed absolute path (helper=, default
//     /usr/lib/otpgate/otpgate-pam-client) with an empty environment.
//     Only async-signal-safe calls run between fork and execve.
//  3. The parent writes the request (length-prefixed fields, at most 8 KiB,
//     less than a pipe buffer) with SIGPIPE blocked, and reads one answer
//     line with poll() against one monotonic deadline (timeout=, default
//     3 s) that covers writing, the helper's whole run and reading. When
//     the deadline passes it sends SIGKILL and reaps the child: a helper
//     stuck in DNS, TLS or a silent server cannot hold a login longer
//     than the timeout. The helper gets a deadline a little shorter (a
//     quarter of the timeout less, at most 500 ms), so that it usually
//     answers "unavailable" with a reason before being killed.
//
// The module never blocks without a deadline, never holds a lock across
// fork, and shares no runtime with the application; so it cannot hang
// the way a Go module does.
//
// # Verdicts
//
// The helper answers one line, "RESULT[ MESSAGE]". ok is PAM_SUCCESS;
// no_second_factor is PAM_IGNORE with the optional argument and
// PAM_AUTH_ERR without; code_required, code_wrong, denied and throttled
// are PAM_AUTH_ERR (denied and throttled show the server's message as a
// PAM_ERROR_MSG); invalid (input over the helper's limits) is
// PAM_AUTH_ERR. Everything else (helper missing or killed, a malformed
// line, a bad certificate, a server down or slow, an unknown host token)
// is PAM_AUTHINFO_UNAVAIL with one syslog line saying why, never with
// the code. There is no fail_open argument.
//
// acct_mgmt asks /api/v1/pam/account: ok is PAM_SUCCESS, denied
// PAM_PERM_DENIED, anything else PAM_AUTHINFO_UNAVAIL.
//
// Build with scripts/build-pam-module; install and configure as
// pam/README-module.md says.
package pam
