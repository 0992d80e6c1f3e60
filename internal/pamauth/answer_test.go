package pamauth

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodeAnswer writes a the way the helper does.
func encodeAnswer(a answer) []byte {
	var b bytes.Buffer
	if a.kind != kindOK {
		b.WriteString(a.kind + " " + a.reason + "\n")
		return b.Bytes()
	}
	b.WriteString("ok " + strconv.FormatUint(uint64(a.uid), 10) + " " + strconv.Itoa(len(a.groups)) + "\n")
	for _, f := range append([]string{a.user, a.display}, a.groups...) {
		b.WriteString(strconv.Itoa(len(f)) + ":" + f + "\n")
	}
	return b.Bytes()
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name, in string
		want     answer
		err      string // a part of the error; "" for none
	}{
		{"ok", "ok 1001 2\n5:alice\n11:Alice Smith\n5:alice\n3:hpc\n",
			answer{kind: kindOK, uid: 1001, user: "alice", display: "Alice Smith", groups: []string{"alice", "hpc"}}, ""},
		{"ok no groups", "ok 0 0\n4:root\n0:\n", answer{kind: kindOK, user: "root"}, ""},
		{"largest uid", "ok 4294967295 0\n1:a\n0:\n", answer{kind: kindOK, uid: 1<<32 - 1, user: "a"}, ""},
		{"display with newline", "ok 1 0\n1:a\n3:a\nb\n", answer{kind: kindOK, uid: 1, user: "a", display: "a\nb"}, ""},
		{"refused", "refused PAM_AUTH_ERR\n", answer{kind: kindRefused, reason: "PAM_AUTH_ERR"}, ""},
		{"unavailable", "unavailable NSS_ERROR\n", answer{kind: kindUnavailable, reason: "NSS_ERROR"}, ""},

		{"empty", "", answer{}, "byte 0: no newline"},
		{"no newline", "refused PAM_AUTH_ERR", answer{}, "no newline"},
		{"unknown kind", "yes\n", answer{}, "want ok, refused or unavailable"},
		{"refused without reason", "refused\n", answer{}, "want refused and a reason"},
		{"lower-case reason", "refused pam_auth_err\n", answer{}, "reason"},
		{"long reason", "refused " + strings.Repeat("A", 33) + "\n", answer{}, "reason"},
		{"two spaces", "refused  PAM_AUTH_ERR\n", answer{}, "want refused and a reason"},
		{"trailing bytes", "refused PAM_AUTH_ERR\nx", answer{}, "byte 21: more after the answer"},
		{"ok alone", "ok\n", answer{}, "want ok, a uid"},
		{"uid too big", "ok 4294967296 0\n1:a\n0:\n", answer{}, "uid"},
		{"uid leading zero", "ok 01 0\n1:a\n0:\n", answer{}, "uid"},
		{"uid negative", "ok -1 0\n1:a\n0:\n", answer{}, "uid"},
		{"too many groups", "ok 1 1025\n1:a\n0:\n", answer{}, "number of groups"},
		{"missing group", "ok 1 1\n1:a\n0:\n", answer{}, "group: want <length>:"},
		{"extra group", "ok 1 0\n1:a\n0:\n1:g\n", answer{}, "more after the answer"},
		{"short field", "ok 1 0\n5:a\n0:\n", answer{}, "user: want 5 bytes and a newline"},
		{"field without newline", "ok 1 0\n1:ab0:\n", answer{}, "user: want 1 bytes"},
		{"field length leading zero", "ok 1 0\n01:a\n0:\n", answer{}, "user: length"},
		{"user too long", "ok 1 0\n257:" + strings.Repeat("a", 257) + "\n0:\n", answer{}, "user: length not a decimal up to 256"},
		{"empty user", "ok 1 0\n0:\n0:\n", answer{}, "user empty"},
		{"user with space", "ok 1 0\n3:a b\n0:\n", answer{}, "user empty, or"},
		{"user with colon", "ok 1 0\n3:a:b\n0:\n", answer{}, "user empty, or"},
		{"group not UTF-8", "ok 1 1\n1:a\n0:\n1:\xff\n", answer{}, "group empty, not UTF-8"},
		{"group with newline", "ok 1 1\n1:a\n0:\n3:a\nb\n", answer{}, "group empty, not UTF-8 or with a control"},
		{"empty group", "ok 1 1\n1:a\n0:\n0:\n", answer{}, "group empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseAnswer(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseAnswer(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(answer{})); diff != "" {
				t.Errorf("parseAnswer(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// FuzzParseAnswer: any output of a helper gives an error or an answer that
// the helper would write the same way, byte for byte, and that is well
// formed.
func FuzzParseAnswer(f *testing.F) {
	files, err := filepath.Glob("testdata/answers/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("ok 1 1\n1:a\n0:\n1:\xff\n"))
	f.Add([]byte("ok 99999999999999999999 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := parseAnswer(in)
		if err != nil {
			return
		}
		switch a.kind {
		case kindOK:
			if a.reason != "" || !validUser([]byte(a.user)) || len(a.user) > maxUser || len(a.display) > maxDisplay || len(a.groups) > maxGroups {
				t.Fatalf("parseAnswer(%q) = %+v: not well formed", in, a)
			}
			for _, g := range a.groups {
				if !validGroup([]byte(g)) || len(g) > maxGroup {
					t.Fatalf("parseAnswer(%q): group %q not well formed", in, g)
				}
			}
		case kindRefused, kindUnavailable:
			if !validReason([]byte(a.reason)) || a.user != "" || a.groups != nil {
				t.Fatalf("parseAnswer(%q) = %+v: not well formed", in, a)
			}
		default:
			t.Fatalf("parseAnswer(%q) = kind %q", in, a.kind)
		}
		if out := encodeAnswer(a); !bytes.Equal(out, in) {
			t.Fatalf("parseAnswer(%q) = %+v, which encodes as %q", in, a, out)
		}
	})
}

func BenchmarkParseAnswer(b *testing.B) {
	in := []byte("ok 1001 3\n5:alice\n11:Alice Smith\n5:alice\n3:hpc\n5:staff\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseAnswer(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name     string
		password []byte
		want     string
	}{
		{"auth", []byte("pw with\nnewline:"), "otpgate-pam-check/1 auth\n7:otpgate\n5:alice\n16:pw with\nnewline:\n"},
		{"lookup", nil, "otpgate-pam-check/1 lookup\n7:otpgate\n5:alice\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(request("otpgate", "alice", tc.password)); got != tc.want {
				t.Errorf("request(%q) = %q, want %q", tc.password, got, tc.want)
			}
		})
	}
}

func TestValidService(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"otpgate", true},
		{"otpgate-test-0a1b", true},
		{"otpgate-a.b_c", true},
		{"otpgate-", false},
		{"otpgatex", false},
		{"sshd", false},
		{"other", false},
		{"otpgate-../sshd", false},
		{"otpgate-A", false},
		{"otpgate-" + strings.Repeat("a", 57), false},
		{"otpgate-" + strings.Repeat("a", 56), true},
	}
	for _, tc := range tests {
		if got := validService(tc.s); got != tc.want {
			t.Errorf("validService(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
