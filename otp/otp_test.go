package otp_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// googleKey is the secret of the google-authenticator specification's
// vectors: 2SH3V3GDW7ZNMGYE.
func googleKey(t testing.TB) otp.Key {
	s, err := otp.DecodeSecret("2SH3V3GDW7ZNMGYE")
	if err != nil {
		t.Fatal(err)
	}
	return otp.Key{Secret: s}
}

func TestGoogleVectors(t *testing.T) {
	k := googleKey(t)
	if got := k.TOTP(time.Unix(300000, 0)); got != "050548" {
		t.Errorf("TOTP(300000) = %q, want 050548", got)
	}
	if got := k.HOTP(1); got != "293240" {
		t.Errorf("HOTP(1) = %q, want 293240", got)
	}
	if got := k.HOTP(5); got != "932068" {
		t.Errorf("HOTP(5) = %q, want 932068", got)
	}
	if got := otp.Secret("Hello world...\x00").Base32(); got != "JBSWY3DPEB3W64TMMQXC4LQA" {
		t.Errorf("Base32 = %q, want JBSWY3DPEB3W64TMMQXC4LQA", got)
	}
}

func TestDecodeSecret(t *testing.T) {
	tests := []struct {
		in      string
		want    string // base32 of the result
		wantErr string
	}{
		{"JBSWY3DPEB3W64TMMQXC4LQA", "JBSWY3DPEB3W64TMMQXC4LQA", ""},
		{"jbsw y3dp-eb3w 64tm\tmqxc\r\n4lqa", "JBSWY3DPEB3W64TMMQXC4LQA", ""},
		{"2SH3V3GDW7ZNMGYE", "2SH3V3GDW7ZNMGYE", ""},
		{"MFRGG===", "MFRGG", ""},
		{"MFRGG", "MFRGG", ""},
		{"MFRGGZA=", "MFRGGZA", ""},
		{"MY======", "MY", ""},
		{"", "", "empty"},
		{" - ", "", "empty"},
		{"MFRG!", "", `invalid base32 character '!' at character 5`},
		{"MFRG1", "", `invalid base32 character '1' at character 5`},
		{"MFRG\x00", "", `invalid base32 character 0x00 at character 5`},
		{"MF=RG", "", "padding before the end"},
		{"MFRGG=", "", "wrong padding"},
		{"M", "", "not a whole number of bytes"},
		{"MFR", "", "not a whole number of bytes"},
		{strings.Repeat("A", 5000), "", "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := otp.DecodeSecret(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DecodeSecret(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeSecret(%q) error = %v", tc.in, err)
			}
			if got := s.Base32(); got != tc.want {
				t.Errorf("DecodeSecret(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	s, err := otp.NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 20 || len(s.Base32()) != 32 {
		t.Errorf("NewSecret(0) = %d bytes, %d base32 characters; want 20, 32", len(s), len(s.Base32()))
	}
	if _, err := otp.NewSecret(bytes.NewReader(nil), 0); err == nil {
		t.Error("NewSecret from an empty reader succeeded")
	}
	if _, err := otp.NewSecret(bytes.NewReader(make([]byte, 64)), 10); err == nil {
		t.Error("NewSecret(10) succeeded, want a refusal below 128 bits")
	}
}

func TestRedaction(t *testing.T) {
	k := googleKey(t)
	u := otp.URI{Issuer: "Example", Account: "alice", Key: k}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("x", "key", k, "secret", k.Secret, "uri", u)
	outs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %d", k, k, k, k.Secret, k.Secret, k.Secret),
		fmt.Sprintf("%#v %v", k.Secret, []any{k.Secret}), u.String(), logged.String(),
	}
	for _, out := range outs {
		if strings.Contains(out, "2SH3V3GDW7ZNMGYE") || strings.Contains(out, "d48fb") || strings.Contains(out, "[212") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(u.String(), "secret=REDACTED") {
		t.Errorf("URI.String() = %q, want secret=REDACTED", u.String())
	}
	if !strings.Contains(u.Encode(), "secret=2SH3V3GDW7ZNMGYE") {
		t.Errorf("URI.Encode() = %q, want the secret", u.Encode())
	}
}

func TestValidate(t *testing.T) {
	sec := otp.Secret("12345678901234567890")
	tests := []struct {
		name string
		key  otp.Key
		ok   bool
	}{
		{"defaults", otp.Key{Secret: sec}, true},
		{"8 digits sha512 60s", otp.Key{Secret: sec, Algorithm: otp.SHA512, Digits: 8, Period: time.Minute}, true},
		{"no secret", otp.Key{}, false},
		{"5 digits", otp.Key{Secret: sec, Digits: 5}, false},
		{"9 digits", otp.Key{Secret: sec, Digits: 9}, false},
		{"half second", otp.Key{Secret: sec, Period: 1500 * time.Millisecond}, false},
		{"negative period", otp.Key{Secret: sec, Period: -time.Second}, false},
		{"bad algorithm", otp.Key{Secret: sec, Algorithm: 7}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.key.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				if got := tc.key.HOTP(0); got != "" {
					t.Errorf("HOTP on an invalid key = %q, want empty", got)
				}
				if _, err := tc.key.Verify("123456", time.Unix(0, 0), otp.Window{}); err == nil {
					t.Error("Verify on an invalid key succeeded")
				}
			}
		})
	}
}

func TestWindows(t *testing.T) {
	tests := []struct {
		size   int
		before int
		after  int
	}{
		{1, 0, 0}, {2, 0, 1}, {3, 1, 1}, {4, 1, 2}, {6, 2, 3}, {17, 8, 8}, {21, 10, 10},
	}
	for _, tc := range tests {
		if got := otp.GoogleWindow(tc.size); got != (otp.Window{Before: tc.before, After: tc.after}) {
			t.Errorf("GoogleWindow(%d) = %+v, want -%d..+%d", tc.size, got, tc.before, tc.after)
		}
	}
	if got := otp.Skew(2); got != (otp.Window{Before: 2, After: 2}) {
		t.Errorf("Skew(2) = %+v", got)
	}
}

func TestVerify(t *testing.T) {
	k := googleKey(t)
	const step = 10000
	now := time.Unix(step*30+12, 0)
	code := func(s uint64) string { return k.HOTP(s) }
	tests := []struct {
		name     string
		code     string
		w        otp.Window
		wantStep uint64
		wantErr  error
	}{
		{"current", code(step), otp.Skew(1), step, nil},
		{"one behind", code(step - 1), otp.Skew(1), step - 1, nil},
		{"one ahead", code(step + 1), otp.Skew(1), step + 1, nil},
		{"two behind", code(step - 2), otp.Skew(1), 0, otp.ErrWrongCode},
		{"two ahead, google 4", code(step + 2), otp.GoogleWindow(4), step + 2, nil},
		{"two behind, google 4", code(step - 2), otp.GoogleWindow(4), 0, otp.ErrWrongCode},
		{"current only", code(step - 1), otp.Window{}, 0, otp.ErrWrongCode},
		{"short", "12345", otp.Skew(1), 0, otp.ErrMalformedCode},
		{"long", "1234567", otp.Skew(1), 0, otp.ErrMalformedCode},
		{"spaces", "123 456", otp.Skew(1), 0, otp.ErrMalformedCode},
		{"sign", "+12345", otp.Skew(1), 0, otp.ErrMalformedCode},
		{"unicode digits", "１２３４５６", otp.Skew(1), 0, otp.ErrMalformedCode},
		{"empty", "", otp.Skew(1), 0, otp.ErrMalformedCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Verify(tc.code, now, tc.w)
			if !errors.Is(err, tc.wantErr) || got != tc.wantStep {
				t.Errorf("Verify(%q, %+v) = %d, %v; want %d, %v", tc.code, tc.w, got, err, tc.wantStep, tc.wantErr)
			}
		})
	}
	if _, err := k.Verify(code(0), time.Unix(-1, 0), otp.Skew(1)); err == nil {
		t.Error("Verify before the epoch succeeded")
	}
	if _, err := k.Verify(code(step), now, otp.Window{Before: -1}); err == nil {
		t.Error("Verify with a negative window succeeded")
	}
	if _, err := k.Verify(code(step), now, otp.Skew(otp.MaxWindow+1)); err == nil {
		t.Error("Verify with an oversized window succeeded")
	}
	// Counters near zero and near the largest value do not wrap.
	if got, err := k.VerifyCounter(k.HOTP(0), 0, otp.Skew(3)); err != nil || got != 0 {
		t.Errorf("VerifyCounter at 0 = %d, %v", got, err)
	}
	max := ^uint64(0)
	if got, err := k.VerifyCounter(k.HOTP(max), max, otp.Skew(3)); err != nil || got != max {
		t.Errorf("VerifyCounter at max = %d, %v", got, err)
	}
	if _, err := k.VerifyCounter(k.HOTP(2), max-1, otp.Skew(3)); !errors.Is(err, otp.ErrWrongCode) {
		t.Errorf("VerifyCounter wrapped around: %v", err)
	}
}

func TestAlgorithmNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want otp.Algorithm
	}{
		{"SHA1", otp.SHA1},
		{"sha1", otp.SHA1},
		{"SHA256", otp.SHA256},
		{"Sha-256", otp.SHA256},
		{"SHA512", otp.SHA512},
		{"sha-512", otp.SHA512},
	} {
		if got, err := otp.ParseAlgorithm(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseAlgorithm(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MD5", "SHA224", "SHA1 "} {
		if _, err := otp.ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded", in)
		}
	}
	if got := otp.SHA256.String(); got != "SHA256" {
		t.Errorf("SHA256.String() = %q", got)
	}
}
