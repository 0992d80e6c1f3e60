package otp_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// readVectors returns the fields of every line of a testdata file that is
// neither blank nor a comment.
func readVectors(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, strings.Fields(line))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestRFC4226(t *testing.T) {
	var key otp.Key
	n := 0
	for _, f := range readVectors(t, "rfc4226.txt") {
		if f[0] == "secret" {
			key.Secret = otp.Secret(f[1])
			continue
		}
		counter, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := f[1]
		if got := key.HOTP(counter); got != want {
			t.Errorf("HOTP(%d) = %q, want %q", counter, got, want)
		}
		got, err := key.VerifyCounter(want, counter, otp.Window{})
		if err != nil || got != counter {
			t.Errorf("VerifyCounter(%q, %d) = %d, %v; want %d, nil", want, counter, got, err, counter)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("read %d RFC 4226 vectors, want 10", n)
	}
}

func TestRFC6238(t *testing.T) {
	seeds := map[otp.Algorithm]otp.Secret{}
	n := 0
	for _, f := range readVectors(t, "rfc6238.txt") {
		if f[0] == "seed" {
			alg, err := otp.ParseAlgorithm(f[1])
			if err != nil {
				t.Fatal(err)
			}
			seeds[alg] = otp.Secret(f[2])
			continue
		}
		sec, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		alg, err := otp.ParseAlgorithm(f[1])
		if err != nil {
			t.Fatal(err)
		}
		key := otp.Key{Secret: seeds[alg], Algorithm: alg, Digits: 8}
		now := time.Unix(sec, 0)
		want := f[2]
		if got := key.TOTP(now); got != want {
			t.Errorf("%v TOTP(%d) = %q, want %q", alg, sec, got, want)
		}
		step, err := key.Verify(want, now, otp.Skew(1))
		if err != nil || step != uint64(sec)/30 {
			t.Errorf("%v Verify(%q, %d) = %d, %v; want %d, nil", alg, want, sec, step, err, sec/30)
		}
		n++
	}
	if n != 18 {
		t.Fatalf("read %d RFC 6238 vectors, want 18", n)
	}
}
