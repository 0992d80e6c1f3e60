package otp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/otpgate/otpgate/otp"
)

func TestURIEncode(t *testing.T) {
	sec := otp.Secret("Hello world...\x00")
	tests := []struct {
		name string
		u    otp.URI
		want string
	}{
		{"plain", otp.URI{Issuer: "Example", Account: "alice@example.org", Key: otp.Key{Secret: sec}},
			"otpauth://totp/Example:alice@example.org?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=Example"},
		{"spaces and symbols", otp.URI{Issuer: "CISM Nextcloud", Account: "a b+c&d=e/f?g%", Key: otp.Key{Secret: sec, Algorithm: otp.SHA256, Digits: 8, Period: 60 * time.Second}},
			"otpauth://totp/CISM%20Nextcloud:a%20b%2Bc%26d%3De%2Ff%3Fg%25?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=CISM%20Nextcloud&algorithm=SHA256&digits=8&period=60"},
		{"no issuer", otp.URI{Account: "bob", Key: otp.Key{Secret: sec}},
			"otpauth://totp/bob?secret=JBSWY3DPEB3W64TMMQXC4LQA"},
		{"hotp", otp.URI{Type: "hotp", Issuer: "X", Account: "bob", Key: otp.Key{Secret: sec, Digits: 6}, Counter: 7, Image: "https://x.example/i.png"},
			"otpauth://hotp/X:bob?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=X&digits=6&counter=7&image=https%3A%2F%2Fx.example%2Fi.png"},
		{"unicode", otp.URI{Issuer: "Zürich", Account: "jörg", Key: otp.Key{Secret: sec}},
			"otpauth://totp/Z%C3%BCrich:j%C3%B6rg?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=Z%C3%BCrich"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.u.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			got := tc.u.Encode()
			if got != tc.want {
				t.Fatalf("Encode() =\n%s\nwant\n%s", got, tc.want)
			}
			back, err := otp.ParseURI(got)
			if err != nil {
				t.Fatalf("ParseURI(Encode()) = %v", err)
			}
			if diff := cmp.Diff(tc.u, back); diff != "" && !(tc.u.Type == "" && back.Type == "totp") {
				t.Errorf("ParseURI(Encode()) differs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestURIEncodeLabel checks the form of Google's google-authenticator
// command (spec google-authenticator.md §2.3): the label as given, light
// escaping, no counter.
func TestURIEncodeLabel(t *testing.T) {
	sec := otp.Secret("Hello world...\x00")
	label := func(s string) *string { return &s }
	tests := []struct {
		u    otp.URI
		want string
	}{
		{otp.URI{Issuer: "My Co=1&2", Label: label("Al ice&b=c?d%e@x/y:z"), Key: otp.Key{Secret: sec}},
			"otpauth://totp/Al%20ice%26b%3Dc%3Fd%25e@x/y:z?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=My%20Co%3D1%262"},
		{otp.URI{Type: "hotp", Issuer: "vm", Label: label("root@vm"), Key: otp.Key{Secret: sec}, Counter: 1},
			"otpauth://hotp/root@vm?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=vm"},
		{otp.URI{Label: label(""), Key: otp.Key{Secret: sec, Period: 60 * time.Second}},
			"otpauth://totp/?secret=JBSWY3DPEB3W64TMMQXC4LQA&period=60"},
		{otp.URI{Issuer: "a/b+c#d", Label: label("Example:alice\t\x7fé"), Key: otp.Key{Secret: sec}},
			"otpauth://totp/Example:alice%09%7F%C3%A9?secret=JBSWY3DPEB3W64TMMQXC4LQA&issuer=a/b+c#d"},
	}
	for _, tc := range tests {
		if err := tc.u.Validate(); err != nil {
			t.Errorf("Validate(label %q) = %v", *tc.u.Label, err)
		}
		if got := tc.u.Encode(); got != tc.want {
			t.Errorf("Encode(label %q) =\n%s\nwant\n%s", *tc.u.Label, got, tc.want)
		}
	}
}

func TestParseURI(t *testing.T) {
	sec := "JBSWY3DPEB3W64TMMQXC4LQA"
	tests := []struct {
		name    string
		in      string
		want    otp.URI
		wantErr string
	}{
		{"google wiki example", "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			otp.URI{Type: "totp", Issuer: "Example", Account: "alice@google.com"}, ""},
		{"encoded colon and space", "OTPAUTH://TOTP/ACME%20Co%3A%20john.doe@email.com?secret=" + sec + "&issuer=ACME+Co&algorithm=sha1&digits=6&period=30",
			otp.URI{Type: "totp", Issuer: "ACME Co", Account: "john.doe@email.com"}, ""},
		{"stock google-authenticator", "otpauth://totp/Al%20ice%26b%3Dc%3Fd%25e@x/y:z?secret=" + sec + "&issuer=Al%20ice%26b%3Dc%3Fd%25e@x/y",
			otp.URI{Type: "totp", Issuer: "Al ice&b=c?d%e@x/y", Account: "z"}, ""},
		{"stock hotp without counter", "otpauth://hotp/root@vm?secret=" + sec + "&issuer=vm",
			otp.URI{Type: "hotp", Issuer: "vm", Account: "root@vm"}, ""},
		{"issuer only in parameter", "otpauth://totp/bob?secret=" + sec + "&issuer=Corp",
			otp.URI{Type: "totp", Issuer: "Corp", Account: "bob"}, ""},
		{"padded lower-case secret, unknown parameter", "otpauth://totp/bob?secret=jbswy3dpeb3w64tmmqxc4lqa&lock=true",
			otp.URI{Type: "totp", Account: "bob"}, ""},
		{"other scheme", "https://totp/bob?secret=" + sec, otp.URI{}, "does not start with otpauth://"},
		{"other type", "otpauth://motp/bob?secret=" + sec, otp.URI{}, "type must be totp or hotp"},
		{"no label", "otpauth://totp?secret=" + sec, otp.URI{}, "no label"},
		{"empty account", "otpauth://totp/Corp:?secret=" + sec, otp.URI{}, "empty account"},
		{"empty label", "otpauth://totp/?secret=" + sec, otp.URI{}, "empty account"},
		{"two colons", "otpauth://totp/a:b:c?secret=" + sec, otp.URI{}, "more than one colon"},
		{"no secret", "otpauth://totp/bob?issuer=x", otp.URI{}, "no secret"},
		{"bad secret", "otpauth://totp/bob?secret=AB!C", otp.URI{}, "invalid base32"},
		{"empty secret", "otpauth://totp/bob?secret=", otp.URI{}, "secret is empty"},
		{"issuer mismatch", "otpauth://totp/A:bob?secret=" + sec + "&issuer=B", otp.URI{}, "differs"},
		{"digits 5", "otpauth://totp/bob?secret=" + sec + "&digits=5", otp.URI{}, "digits"},
		{"digits x", "otpauth://totp/bob?secret=" + sec + "&digits=x", otp.URI{}, "digits"},
		{"period 0", "otpauth://totp/bob?secret=" + sec + "&period=0", otp.URI{}, "period"},
		{"period huge", "otpauth://totp/bob?secret=" + sec + "&period=99999999999", otp.URI{}, "period"},
		{"md5", "otpauth://totp/bob?secret=" + sec + "&algorithm=MD5", otp.URI{}, "unknown algorithm"},
		{"twice", "otpauth://totp/bob?secret=" + sec + "&secret=" + sec, otp.URI{}, "given twice"},
		{"counter on totp", "otpauth://totp/bob?secret=" + sec + "&counter=1", otp.URI{}, "hotp only"},
		{"bad counter", "otpauth://hotp/bob?secret=" + sec + "&counter=-1", otp.URI{}, "counter"},
		{"bad escape", "otpauth://totp/b%zzob?secret=" + sec, otp.URI{}, "percent-encoding"},
		{"fragment", "otpauth://totp/bob?secret=" + sec + "#x", otp.URI{}, "fragment"},
		{"control", "otpauth://totp/bo%0Ab?secret=" + sec, otp.URI{}, "control character"},
		{"bad utf-8", "otpauth://totp/bo%FFb?secret=" + sec, otp.URI{}, "UTF-8"},
		{"too long", "otpauth://totp/bob?secret=" + sec + "&x=" + strings.Repeat("a", 5000), otp.URI{}, "longer than"},
		{"too long once encoded", "otpauth://totp/" + strings.Repeat("`", 1500) + "?secret=" + sec, otp.URI{}, "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := otp.ParseURI(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURI(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error %q contains the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI(%q) = %v", tc.in, err)
			}
			got.Key = otp.Key{}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseURI(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
