package otp_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"testing"
	"time"

	pquerna "github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/otpgate/otpgate/otp"
)

// The benchmarks compare this package with github.com/pquerna/otp, the most
// used Go library, in the same run, and with the floor of three HMAC-SHA-1
// computations on a reused crypto/hmac state (the work a ±1 window needs).

var (
	benchSecret = otp.Secret("12345678901234567890")
	benchKey    = otp.Key{Secret: benchSecret}
	benchNow    = time.Unix(1234567890, 0)
	benchMiss   = "000000" // matches no step around benchNow (checked below)
	benchOpts   = pqtotp.ValidateOpts{Period: 30, Skew: 1, Digits: pquerna.DigitsSix, Algorithm: pquerna.AlgorithmSHA1}
	sink        string
)

func checkMiss(b *testing.B) {
	if _, err := benchKey.Verify(benchMiss, benchNow, otp.Skew(1)); err == nil {
		b.Fatal("benchMiss matches; pick another")
	}
}

func BenchmarkTOTP(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = benchKey.TOTP(benchNow)
	}
}

func BenchmarkTOTPPquerna(b *testing.B) {
	secret := benchSecret.Base32()
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = pqtotp.GenerateCodeCustom(secret, benchNow, benchOpts)
	}
}

func BenchmarkVerifyMiss(b *testing.B) {
	checkMiss(b)
	b.ReportAllocs()
	for b.Loop() {
		benchKey.Verify(benchMiss, benchNow, otp.Skew(1))
	}
}

func BenchmarkVerifyMissSHA512(b *testing.B) {
	key := otp.Key{Secret: benchSecret, Algorithm: otp.SHA512, Digits: 8}
	b.ReportAllocs()
	for b.Loop() {
		key.Verify("00000000", benchNow, otp.Skew(1))
	}
}

func BenchmarkVerifyMissPquerna(b *testing.B) {
	checkMiss(b)
	secret := benchSecret.Base32()
	b.ReportAllocs()
	for b.Loop() {
		pqtotp.ValidateCustom(benchMiss, secret, benchNow, benchOpts)
	}
}

// BenchmarkThreeHMACFloor is three HMAC-SHA-1 computations on one reused
// crypto/hmac state: the least work a ±1 window can do with the standard
// library.
func BenchmarkThreeHMACFloor(b *testing.B) {
	h := hmac.New(sha1.New, benchSecret)
	var msg [8]byte
	var sum [sha1.Size]byte
	b.ReportAllocs()
	for b.Loop() {
		for c := uint64(41152262); c < 41152265; c++ {
			h.Reset()
			binary.BigEndian.PutUint64(msg[:], c)
			h.Write(msg[:])
			h.Sum(sum[:0])
		}
	}
}
