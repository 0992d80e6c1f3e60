// Package otp computes and verifies one-time passwords: HOTP (RFC 4226) and
// TOTP (RFC 6238) with HMAC-SHA-1, HMAC-SHA-256 and HMAC-SHA-512, 6 to 8
// digits and any period in whole seconds, T0 = 0.
//
// A [Key] is a plain value whose zero fields mean the RFC defaults (SHA-1,
// 6 digits, 30 seconds). The caller says what time it is and where
// randomness comes from, so every result is reproducible:
//
//	key := otp.Key{Secret: secret}
//	code := key.TOTP(now)
//	step, err := key.Verify(input, now, otp.Skew(1))
//
// [Key.Verify] reports which time step matched, so that a caller can refuse
// a code that was already used (RFC 6238 §5.2: "the verifier MUST NOT accept
// the second attempt of the OTP after the successful validation has been
// issued for the first OTP") and can measure the drift of a client's clock.
// Comparison is in constant time, and input that is not exactly the
// configured number of ASCII digits is refused with [ErrMalformedCode].
//
// Secrets are bytes; base32 (RFC 4648) appears only at the edges, through
// [DecodeSecret] and [Secret.Base32]. Key URIs in the otpauth:// format that
// authenticator apps read are built and parsed by [URI] and [ParseURI].
//
// Secrets never appear in errors, in String methods or in log values: a
// [Secret], a [Key] and a [URI] print and log themselves redacted.
//
// The package uses the standard library only.
package otp
