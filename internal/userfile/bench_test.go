package userfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/mfa"
)

// benchContent is a typical state file.
const benchContent = testSecret + "\n\" RATE_LIMIT 3 30\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n84182260\n37160582\n"

// BenchmarkVerifyCodeAsOwner: one accepted attempt per iteration, a step
// apart, through Source as root for another account (a thread with its
// file-system ids switched), against BenchmarkVerifyFileAsServer, the
// same attempts with gafile.VerifyFile on a file of the server's own.
func BenchmarkVerifyCodeAsOwner(b *testing.B) {
	ctx := context.Background()
	s, home, uid, _ := nobodyHome(b, Options{})
	writeFile(b, filepath.Join(home, ".google_authenticator"), benchContent, uid, 0o600)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if v := s.VerifyCode(ctx, "alice", code(4*i), testNow.Add(time.Duration(4*i)*30*time.Second)); v != mfa.FileAccepted {
			b.Fatalf("attempt %d: %v", i, v)
		}
	}
}

// BenchmarkVerifyFileAsServer is the peer of BenchmarkVerifyCodeAsOwner.
func BenchmarkVerifyFileAsServer(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "ga")
	writeFile(b, path, benchContent, os.Geteuid(), 0o600)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := gafile.VerifyFile(ctx, path, code(4*i), testNow.Add(time.Duration(4*i)*30*time.Second), gafile.Options{UID: os.Geteuid()}); err != nil {
			b.Fatalf("attempt %d: %v", i, err)
		}
	}
}

// BenchmarkCheckFile: one look at a user's file through Source as root
// for another account (the account looked up in memory): "usable" reads
// and parses it on a thread with the owner's file-system ids, "absent"
// finds none.
func BenchmarkCheckFile(b *testing.B) {
	ctx := context.Background()
	s, home, uid, _ := nobodyHome(b, Options{})
	path := filepath.Join(home, ".google_authenticator")
	b.Run("usable", func(b *testing.B) {
		writeFile(b, path, benchContent, uid, 0o600)
		b.ReportAllocs()
		for b.Loop() {
			if st := s.CheckFile(ctx, "alice"); st != mfa.FileUsable {
				b.Fatalf("CheckFile = %v", st)
			}
		}
	})
	b.Run("absent", func(b *testing.B) {
		os.Remove(path)
		b.ReportAllocs()
		for b.Loop() {
			if st := s.CheckFile(ctx, "alice"); st != mfa.FileAbsent {
				b.Fatalf("CheckFile = %v", st)
			}
		}
	})
}
