package gafile

import (
	"bytes"
	"encoding/base32"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDecodeSecret(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means an error
	}{
		{"JBSWY3DPEB3W64TMMQXC4LQA", "Hello world...\x00"},
		{"jbswy3dpeb3w64tmmqxc4lqa", "Hello world...\x00"},
		{"JBSW Y3DP-EB3W\t64TM MQXC 4LQA\r", "Hello world...\x00"},
		{"J8SWY3DPE83W64TMMQXC41QA", "Hello world...\x00"},                           // 8 is B, 1 is L
		{"MZXW6YTB0I", "foobar"},                                                     // 0 is O
		{"MFRGGZDFMZTWQ21KNNWG23TPOBYXE43UOV3HO6DZPI", "abcdefghijklmnopqrstuvwxyz"}, // 1 is L
		{"AB", "\x00"},
		{"A", ""},
		{"", ""},
		{" - ", ""},
		{"JBSWY3DPEB3W64TMMQXC4LQA====", ""},
		{"JBSWY3DP9", ""},
		{"JBSWY3DP\"", ""},
	}
	for _, tc := range tests {
		got, err := decodeSecret([]byte(tc.in))
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrUnusable) {
				t.Errorf("decodeSecret(%q) = %x, %v; want an ErrUnusable error", tc.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("decodeSecret(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestDecodeSecretRoundTrip is upstream's tests/base32_test.sh: random
// data of random size, encoded without padding, decodes to itself.
func TestDecodeSecretRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range 150 {
		data := make([]byte, 1+rng.IntN(200))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		got, err := decodeSecret([]byte(enc.EncodeToString(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decodeSecret(encode(%x)) = %x, %v", data, got, err)
		}
	}
}

func TestStrtoul(t *testing.T) {
	tests := []struct {
		in       string
		v        uint64
		end      int
		overflow bool
	}{
		{"123", 123, 3, false},
		{"  \t42 x", 42, 5, false},
		{"+7", 7, 2, false},
		{"-1", ^uint64(0), 2, false},
		{"x", 0, 0, false},
		{"", 0, 0, false},
		{"-", 0, 0, false},
		{"\n12345678", 12345678, 9, false},
		{"18446744073709551615", ^uint64(0), 20, false},
		{"18446744073709551616", ^uint64(0), 20, true},
		{"99999999999999999999999", ^uint64(0), 23, true},
	}
	for _, tc := range tests {
		v, end, overflow := strtoul([]byte(tc.in))
		if v != tc.v || end != tc.end || overflow != tc.overflow {
			t.Errorf("strtoul(%q) = %d, %d, %v; want %d, %d, %v", tc.in, v, end, overflow, tc.v, tc.end, tc.overflow)
		}
	}
}

func TestStrtol(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"5", 5},
		{" -1000 x", -1000},
		{"x", 0},
		{"", 0},
		{"9223372036854775808", 1<<63 - 1},
		{"-9223372036854775809", -1 << 63},
	}
	for _, tc := range tests {
		if got := strtol([]byte(tc.in)); got != tc.want {
			t.Errorf("strtol(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

const secretLine = "2SH3V3GDW7ZNMGYE\n"

func TestSetOption(t *testing.T) {
	tests := []struct {
		name, in, key, val, want string
	}{
		{"insert after line 1", secretLine + "\" TOTP_AUTH\n", "TIME_SKEW", "2",
			secretLine + "\" TIME_SKEW 2\n\" TOTP_AUTH\n"},
		{"insert after blank lines", secretLine + "\n\r\n\" TOTP_AUTH\n", "TIME_SKEW", "2",
			secretLine + "\n\r\n\" TIME_SKEW 2\n\" TOTP_AUTH\n"},
		{"replace in place", secretLine + "\" A\n\" TIME_SKEW 1\n\" B\n", "TIME_SKEW", "-3",
			secretLine + "\" A\n\" TIME_SKEW -3\n\" B\n"},
		{"CR and blank lines swallowed", secretLine + "\" TIME_SKEW 1\r\n\r\n\n\" B\r\n", "TIME_SKEW", "4",
			secretLine + "\" TIME_SKEW 4\n\" B\r\n"},
		{"duplicates deleted", secretLine + "\" TIME_SKEW 1\n12345678\n\" TIME_SKEW 2\n\" TIME_SKEW\n", "TIME_SKEW", "3",
			secretLine + "\" TIME_SKEW 3\n12345678\n"},
		{"empty value", secretLine + "\" RESETTING_TIME_SKEW 1+1\n", "RESETTING_TIME_SKEW", "",
			secretLine + "\" RESETTING_TIME_SKEW \n"},
		{"longer names are other options", secretLine + "\" TIME_SKEWED 1\n", "TIME_SKEW", "2",
			secretLine + "\" TIME_SKEW 2\n\" TIME_SKEWED 1\n"},
		{"last line without LF", secretLine + "\" HOTP_COUNTER 1", "HOTP_COUNTER", "2",
			secretLine + "\" HOTP_COUNTER 2\n"},
		{"line 1 alone", "2SH3V3GDW7ZNMGYE", "TIME_SKEW", "2",
			"2SH3V3GDW7ZNMGYE\" TIME_SKEW 2\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &File{buf: []byte(tc.in)}
			f.SetOption(tc.key, tc.val)
			if got := string(f.Bytes()); got != tc.want {
				t.Errorf("SetOption(%q, %q) on %q = %q, want %q", tc.key, tc.val, tc.in, got, tc.want)
			}
		})
	}
}

func TestOption(t *testing.T) {
	f, err := Parse([]byte(secretLine + "12345678\n\" RATE_LIMIT \t3 30 \r\n\" DISALLOW_REUSE\n\" RATE_LIMIT 1 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"RATE_LIMIT", "3 30 ", true},
		{"DISALLOW_REUSE", "", true},
		{"DISALLOW", "", false},
		{"TOTP_AUTH", "", false},
	}
	for _, tc := range tests {
		if got, ok := f.Option(tc.name); got != tc.want || ok != tc.ok {
			t.Errorf("Option(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestScratchCodes(t *testing.T) {
	tests := []struct {
		name, in string
		want     []int
	}{
		{"plain", secretLine + "\" TOTP_AUTH\n11111111\n22222222\n", []int{11111111, 22222222}},
		{"options and blank lines between", secretLine + "11111111\n\n\" X\r\n22222222\r\n", []int{11111111, 22222222}},
		{"a short number ends the list", secretLine + "11111111\n1234567\n22222222\n", []int{11111111}},
		{"a 9-digit number ends the list", secretLine + "111111111\n22222222\n", nil},
		{"leading zero and blanks are read", secretLine + "  011111111\n+22222222\n", []int{11111111, 22222222}},
		{"trailing text ends the list", secretLine + "11111111 \n22222222\n", nil},
		{"no line break at the end", secretLine + "11111111", []int{11111111}},
		{"line 1 ends at LF only", "2SH3V3GDW7ZNMGYE\r11111111\n22222222\n", []int{22222222}},
	}
	for _, tc := range tests {
		f := &File{buf: []byte(tc.in)}
		if got := f.ScratchCodes(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ScratchCodes(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestUseScratchCode(t *testing.T) {
	f := &File{buf: []byte(secretLine + "11111111\r\n\r\n22222222\n\" TOTP_AUTH\n33333333")}
	for _, step := range []struct {
		code int
		ok   bool
		want string
	}{
		{11111111, true, secretLine + "22222222\n\" TOTP_AUTH\n33333333"},
		{11111111, false, secretLine + "22222222\n\" TOTP_AUTH\n33333333"},
		{33333333, true, secretLine + "22222222\n\" TOTP_AUTH\n"},
		{22222222, true, secretLine + "\" TOTP_AUTH\n"},
	} {
		if ok := f.useScratchCode(step.code); ok != step.ok || string(f.buf) != step.want {
			t.Errorf("useScratchCode(%d) = %v, file %q; want %v, %q", step.code, ok, f.buf, step.ok, step.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "gafile: unusable file: size 0 bytes, want 1 to 65536"},
		{"too big", secretLine + string(bytes.Repeat([]byte{'\n'}, MaxSize)), "gafile: unusable file: size 65553 bytes, want 1 to 65536"},
		{"NUL", secretLine + "\" TOTP_AUTH\n\x00", "gafile: unusable file: line 3: NUL byte"},
		{"padding", "2SH3V3GDW7ZNMGYE=\n", "gafile: unusable file: line 1: secret is not base32 (character 17)"},
		{"no secret", "\n\" TOTP_AUTH\n", "gafile: unusable file: line 1: no secret"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrUnusable) {
			t.Errorf("%s: Parse = %v, want %q", tc.name, err, tc.want)
		}
	}
}
