// Package gafile reads, verifies against and rewrites the state file of
// Google's pam_google_authenticator module (~/.google_authenticator),
// byte-compatible with the module Debian 12 ships (upstream 1.08), so that
// the stock module and otpgate can take turns on the same file and neither
// can tell which one last wrote it.
//
// A [File] keeps the file's bytes and edits them as the module does: option
// lines are found anywhere (the first occurrence wins) and rewritten in
// place, new ones go right after line 1, used scratch codes lose their
// line, and everything else, unknown and blank lines and CRLF endings
// included, stays as it was. [File.Verify] checks one answer in the
// module's order (rate limit, grace period, scratch codes, HOTP, TOTP with
// window, reuse list and skew learning) and says why an attempt failed with
// an error that wraps one of the Err values. [VerifyFile] does the same on
// disk with the module's file checks, an advisory lock and an atomic
// replacement. Codes are computed with package otp: HMAC-SHA-1, 6 digits,
// the file's STEP_SIZE. [New] makes a new file with the lines in the order
// Google's google-authenticator command writes them, and [Create] writes
// it to disk as that command does.
//
// Section numbers (§) refer to the behaviour specification of the stock
// tools (specs/google-authenticator.md).
//
// # Where Debian's module is knowingly not followed
//
// Grace periods (§5.8). Module 1.08 records a successful login of a host
// in a LASTn line but saves that line only when something else changed the
// file in the same login, so with a plain TOTP file the grace period never
// takes effect (upstream issue 193, fixed in 1.10). gafile saves the record
// after every successful login when Options.GracePeriod is set, as 1.10 and
// later do; the file format is the same, and the stock module reads such
// records. gafile also looks at LASTn lines only when a grace period is
// configured: module 1.08 checks them on every attempt, so that a record
// dated in the future admits its host without a code even where no grace
// period was ever configured.
//
// Counter codes for time-based secrets (§2.2). With -C, the stock
// google-authenticator command prints "your verification code for code 1",
// which is the HOTP value for counter 1 even for a time-based secret,
// where it means nothing. That concerns the command, not the file: gafile
// verifies a time-based file with TOTP only, and the HOTP value for counter
// 1 of a time-based secret is an ordinary wrong code here, as it is for the
// module.
//
// Secrets longer than 1024 bytes (more than 1638 base32 characters) are
// read but cannot be verified (package otp's limit); the module accepts
// them. Such an attempt fails with ErrUnusable.
package gafile
