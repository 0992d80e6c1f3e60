// Package mfa is the core of the otpgate server: the domain types (User,
// Authenticator, Session, recovery codes, throttling state), the small store
// interfaces that every storage backend implements (internal/sqlite, later
// internal/postgres), the error kinds stores return, and Service, which holds
// the rules that must be the same whatever the store: password hashing with
// argon2id, TOTP secrets sealed with AES-256-GCM, a code accepted at most
// once, throttling with growing delays, single-use recovery codes and
// hashed session tokens.
//
// A user's second factor is, in this order: a confirmed authenticator in the
// store; else, when a FileFactor is configured, the user's
// google-authenticator state file; else none, and the password alone
// suffices unless the operator requires a second factor.
//
// The package imports no database driver and no net/http; the stores and the
// web package import it.
//
// # Throttling and the odds it gives
//
// Every sign-in attempt (password, second-step code, JSON verify) first takes
// a slot on two counters, one for the account name and one for the client
// address, and counts as a failure until it succeeds. With the default
// AccountThrottle (5 free failures, then delays of 1s, 2s, 4s ... doubling up
// to 1 hour, forgotten after 24 hours without a failure) an attacker who
// already knows a user's password can try at most 5 + 12 codes in the first
// hour and then one code an hour: about 24 a day, 8 800 a year. A TOTP check
// accepts 3 codes out of 10^6 (window ±1 step), so the chance of guessing
// right is at most 3·10^-6 per try: about 0.007% a day, 0.2% a month and
// 2.6% a year of uninterrupted guessing, during which the real user sees the
// account throttled for up to an hour at a time (never locked for good).
// Recovery codes have 80 bits each and do not change these odds noticeably.
// Operators who want smaller odds raise the maximum delay: with 4 hours the
// yearly chance falls to 0.7%.
package mfa
