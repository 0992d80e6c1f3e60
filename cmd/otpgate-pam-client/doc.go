// Command otpgate-pam-client is the helper that pam_otpgate.so runs for
// each PAM call (see package github.com/otpgate/otpgate/pam for the
// design). It reads one length-prefixed request from stdin, checks it
// (user at most 64 bytes, code at most 32, every field valid UTF-8 without
// NUL bytes), reads the host token from -tokenfile (refused when group or
// others may read it, or, run as root, when root does not own it), posts
// the request to the otpgate server at -url (https, with -cafile's CAs if
// given; http only to loopback) within -timeout, and writes one answer
// line to stdout:
//
//	ok | no_second_factor | code_required | code_wrong | denied MESSAGE |
//	throttled MESSAGE | invalid WHY | unavailable WHY
//
// It never reads users' files or secrets, never follows a redirect or a
// proxy from the environment, and is built with CGO_ENABLED=0, so that
// it is one static binary with no loader or library surprises inside
// sshd's or login's process tree.
package main
