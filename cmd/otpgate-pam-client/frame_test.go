package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRequest(t *testing.T) {
	good := request{Op: "authenticate", User: "alice", Code: "123456", Service: "sshd", RHost: "192.0.2.7", TTY: "ssh"}
	withPassword := good
	withPassword.Password, withPassword.HasPassword = "pass word", true
	for _, tc := range []struct {
		name    string
		in      string
		want    request
		wantErr string
	}{
		{"authenticate", string(encodeRequest(good)), good, ""},
		{"with password", string(encodeRequest(withPassword)), withPassword, ""},
		{"empty", "", request{}, "header"},
		{"other version", strings.Replace(string(encodeRequest(good)), "otpgate-pam 1", "otpgate-pam 2", 1), request{}, "header"},
		{"leading zero", strings.Replace(string(encodeRequest(good)), "user 5\n", "user 05\n", 1), request{}, "bad length"},
		{"length sign", strings.Replace(string(encodeRequest(good)), "user 5\n", "user +5\n", 1), request{}, "bad length"},
		{"five digits", strings.Replace(string(encodeRequest(good)), "user 5\nalice", "user 10000\nalice", 1), request{}, "bad length"},
		{"over the field limit", strings.Replace(string(encodeRequest(good)), "user 5\nalice", "user 1025\nalice", 1), request{}, "more than 1024"},
		{"short value", strings.Replace(string(encodeRequest(good)), "user 5\n", "user 6\n", 1), request{}, "no newline"},
		{"fields out of order", strings.Replace(string(encodeRequest(good)), "user 5\nalice\ncode 6\n123456\n", "code 6\n123456\nuser 5\nalice\n", 1), request{}, "want field user"},
		{"no end", strings.TrimSuffix(string(encodeRequest(good)), "end\n"), request{}, "after tty"},
		{"bytes after end", string(encodeRequest(good)) + "x", request{}, "bytes after end"},
		{"two requests", string(encodeRequest(good)) + string(encodeRequest(good)), request{}, "bytes after end"},
		{"unknown op", string(encodeRequest(request{Op: "chauthtok", User: "alice"})), request{}, "unknown op"},
		{"a megabyte", strings.Repeat("x", 1<<20), request{}, "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readRequest(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readRequest(%.40q) error = %v, want one with %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readRequest(%.40q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("readRequest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestCheck(t *testing.T) {
	ok := request{Op: "authenticate", User: "alice", Code: "123456"}
	for _, tc := range []struct {
		name    string
		edit    func(*request)
		wantErr string
	}{
		{"good", func(*request) {}, ""},
		{"64-byte user", func(r *request) { r.User = strings.Repeat("u", 64) }, ""},
		{"UTF-8 user", func(r *request) { r.User = "zoë" }, ""},
		{"empty user", func(r *request) { r.User = "" }, "empty user"},
		{"65-byte user", func(r *request) { r.User = strings.Repeat("u", 65) }, "user longer than 64"},
		{"user with NUL", func(r *request) { r.User = "al\x00ice" }, "user has a NUL"},
		{"user not UTF-8", func(r *request) { r.User = "al\xffice" }, "user is not UTF-8"},
		{"user with newline", func(r *request) { r.User = "al\nice" }, "user has a control"},
		{"33-byte code", func(r *request) { r.Code = strings.Repeat("1", 33) }, "code longer than 32"},
		{"code with NUL", func(r *request) { r.Code = "123\x00456" }, "code has a NUL"},
		{"code not UTF-8", func(r *request) { r.Code = "123\xc3" }, "code is not UTF-8"},
		{"rhost too long", func(r *request) { r.RHost = strings.Repeat("h", 256) }, "rhost longer"},
		{"service too long", func(r *request) { r.Service = strings.Repeat("s", 65) }, "service longer than 64"},
		{"tty too long", func(r *request) { r.TTY = strings.Repeat("t", 65) }, "tty longer than 64"},
		{"password with NUL", func(r *request) { r.Password = "a\x00" }, "password has a NUL"},
		{"password with a space and tab", func(r *request) { r.Password = "a b\tc" }, ""},
		{"account with a code", func(r *request) { r.Op = "account" }, "account request with a code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			err := r.check()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("check() = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("check() = %v, want an error with %q", err, tc.wantErr)
			}
			if err != nil && r.Code != "" && strings.Contains(err.Error(), r.Code) {
				t.Errorf("check() = %v names the code", err)
			}
		})
	}
}

// FuzzReadRequest: any input is read or refused without a panic; what is
// read encodes back to the same bytes.
func FuzzReadRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.req")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := readRequest(strings.NewReader(string(in)))
		if err != nil {
			return
		}
		if out := encodeRequest(req); string(out) != string(in) {
			t.Fatalf("readRequest(%q) = %+v, which encodes as %q", in, req, out)
		}
		_ = req.check()
	})
}
