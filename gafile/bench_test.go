package gafile_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/otp"
)

// typicalFile is what google-authenticator 1.08 writes when every question
// is answered yes but the window: a 26-character secret, rate limiting,
// DISALLOW_REUSE, TOTP and five scratch codes.
const typicalFile = "QRN6OXBEKOJQY6IMIIDS5OWC7Y\n\" RATE_LIMIT 3 30\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n" +
	"84182260\n37160582\n19928367\n60374312\n49511094\n"

// BenchmarkVerifyFile is one full verification on disk: open, lock, check,
// read, verify a right code, rewrite atomically (temp file, fsync, rename,
// directory fsync). Each iteration is one step (30 s) later, so every code
// is accepted.
func BenchmarkVerifyFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ga")
	if err := os.WriteFile(path, []byte(typicalFile), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := gafile.Parse([]byte(typicalFile))
	if err != nil {
		b.Fatal(err)
	}
	key := otp.Key{Secret: f.Secret()}
	opts := gafile.Options{UID: os.Getuid()}
	step := uint64(10000)
	b.ReportAllocs()
	for b.Loop() {
		res, err := gafile.VerifyFile(context.Background(), path, key.HOTP(step), time.Unix(int64(step)*30, 0), opts)
		if err != nil || res.Method != gafile.TimeCode {
			b.Fatalf("step %d: %v, %v", step, res.Method, err)
		}
		step++
	}
}

// BenchmarkVerify is the same verification in memory: parse, verify, and
// the bytes to write.
func BenchmarkVerify(b *testing.B) {
	data := []byte(typicalFile)
	f, _ := gafile.Parse(data)
	key := otp.Key{Secret: f.Secret()}
	step := uint64(10000)
	b.ReportAllocs()
	for b.Loop() {
		f, err := gafile.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Verify(key.HOTP(step), time.Unix(int64(step)*30, 0), gafile.Options{}); err != nil {
			b.Fatal(err)
		}
		data = f.Bytes()
		step++
	}
}

// BenchmarkVerifyWrong is a wrong code, the slow path: the module's skew
// search computes 3000 codes.
func BenchmarkVerifyWrong(b *testing.B) {
	f, _ := gafile.Parse([]byte("QRN6OXBEKOJQY6IMIIDS5OWC7Y\n\" TOTP_AUTH\n"))
	now := time.Unix(300000, 0)
	b.ReportAllocs()
	for b.Loop() {
		f.Verify("000001", now, gafile.Options{})
	}
}
