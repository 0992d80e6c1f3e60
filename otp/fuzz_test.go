package otp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/otpgate/otpgate/otp"
)

func FuzzDecodeSecret(f *testing.F) {
	for _, s := range []string{"JBSWY3DPEB3W64TMMQXC4LQA", "jbsw y3dp-eb3w", "MFRGG===", "MY======", "", "M", "A=B", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := otp.DecodeSecret(s)
		if err != nil {
			return
		}
		again, err := otp.DecodeSecret(sec.Base32())
		if err != nil || !bytes.Equal(sec, again) {
			t.Fatalf("DecodeSecret(Base32(DecodeSecret(%q))) = %x, %v; want %x", s, []byte(again), err, []byte(sec))
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
		"otpauth://hotp/X:bob?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=X&digits=8&counter=7&image=https%3A%2F%2Fx%2Fi.png",
		"otpauth://totp/A%20B%3A%20c?secret=jbswy3dp&algorithm=sha512&period=60",
		"otpauth://totp/Al%20ice%26b%3Dc%3Fd%25e@x/y:z?secret=2SH3V3GDW7ZNMGYE&issuer=Al%20ice%26b%3Dc%3Fd%25e@x/y",
		"otpauth://totp/a:b:c?secret=X", "otpauth://totp/?", "otpauth://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := otp.ParseURI(s)
		if err != nil {
			return
		}
		back, err := otp.ParseURI(u.Encode())
		if err != nil {
			t.Fatalf("ParseURI(%q) ok, but its encoding %q does not parse: %v", s, u.String(), err)
		}
		if diff := cmp.Diff(u, back); diff != "" {
			t.Fatalf("round trip of %q changed it (-first +second):\n%s", s, diff)
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, s := range []string{"050548", "50548", "0050548", "", "abcdef", "12345678", "１２３４５６", "05054\x00"} {
		f.Add(s, int64(300000), uint8(3))
	}
	key := otp.Key{Secret: otp.Secret("\xd4\x8f\xb5\xec\xc3\xb7\xf2\xd6\x1b\x04")}
	f.Fuzz(func(t *testing.T, code string, unix int64, window uint8) {
		w := otp.GoogleWindow(int(window))
		step, err := key.Verify(code, time.Unix(unix, 0), w)
		switch {
		case err == nil:
			if key.HOTP(step) != code {
				t.Fatalf("Verify(%q) matched step %d, whose code is %s", code, step, key.HOTP(step))
			}
		case errors.Is(err, otp.ErrMalformedCode), errors.Is(err, otp.ErrWrongCode):
		case unix < 0:
		default:
			t.Fatalf("Verify(%q, %d, %+v) = unexpected error %v", code, unix, w, err)
		}
	})
}
