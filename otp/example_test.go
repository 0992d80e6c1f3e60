package otp_test

import (
	"fmt"
	"time"

	"github.com/otpgate/otpgate/otp"
)

func ExampleKey_TOTP() {
	secret, _ := otp.DecodeSecret("2SH3 V3GD W7ZN MGYE")
	key := otp.Key{Secret: secret} // SHA-1, 6 digits, 30 seconds
	fmt.Println(key.TOTP(time.Unix(1111111111, 0)))
	// Output: 457281
}

func ExampleKey_Verify() {
	secret, _ := otp.DecodeSecret("2SH3V3GDW7ZNMGYE")
	key := otp.Key{Secret: secret}
	now := time.Unix(300000, 0)

	// A phone whose clock runs 30 seconds behind shows the previous code.
	code := key.TOTP(now.Add(-30 * time.Second))
	step, err := key.Verify(code, now, otp.Skew(1))
	fmt.Println(step, key.Step(now), err)

	_, err = key.Verify("12345", now, otp.Skew(1))
	fmt.Println(err)
	// Output:
	// 9999 10000 <nil>
	// otp: malformed code: want 6 digits, got 5 characters
}

func ExampleKey_HOTP() {
	key := otp.Key{Secret: otp.Secret("12345678901234567890")}
	for c := uint64(0); c < 3; c++ {
		fmt.Println(key.HOTP(c))
	}
	// Output:
	// 755224
	// 287082
	// 359152
}

func ExampleURI() {
	secret, _ := otp.DecodeSecret("JBSWY3DPEB3W64TMMQXC4LQA")
	u := otp.URI{Issuer: "CISM Nextcloud", Account: "alice", Key: otp.Key{Secret: secret}}
	fmt.Println(u.Encode())
	fmt.Println(u) // String redacts the secret
	// Output:
	// otpauth://totp/CISM%20Nextcloud:alice?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=CISM%20Nextcloud
	// otpauth://totp/CISM%20Nextcloud:alice?secret=REDACTED&issuer=CISM%20Nextcloud
}

func ExampleParseURI() {
	u, err := otp.ParseURI("otpauth://totp/ACME%20Co:john@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&digits=8&period=60")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Issuer, u.Account, u.Key.Digits, u.Key.Period)
	// Output: ACME Co john@example.com 8 1m0s
}

func ExampleNewSecret() {
	// In production: otp.NewSecret(rand.Reader, 0) with crypto/rand.
	secret, _ := otp.NewSecret(zeros{}, 0)
	fmt.Println(len(secret), secret.Base32())
	// Output: 20 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
}

// zeros is a reader of zero bytes, standing in for a random source.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
