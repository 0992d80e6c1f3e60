package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/pamauth/pamtest"
)

// TestServePAM runs the server with the system's accounts as the first
// factor (-first-factors pam,local) through a real PAM stack with
// pam_unix: a user made with useradd and chpasswd signs in with the
// system password, gets a record of source pam with the system's groups,
// is refused with a wrong password and, once locked with passwd -l, with
// the right one, always with the answer of a wrong password; a local
// administrator still signs in beside it.
func TestServePAM(t *testing.T) {
	a := pamtest.NewAccount(t)
	helper := pamtest.HelperPath(t)
	data := t.TempDir()
	srv := startServer(t, data, "-first-factors", "pam,local", "-pam-helper", helper, "-pam-service", a.Service)
	defer srv.stop()
	if out, code := runStdin("admin password\n", append([]string{"user", "add", "--admin", "--password-stdin", "admin", "-data-dir", data}, fastFlags...)...); code != 0 {
		t.Fatalf("user add: %s", out)
	}
	if got := apiVerify(t, srv.url, a.Name, a.Password, ""); got != "ok" {
		t.Fatalf("%s with the system password = %s, want ok\n%s", a.Name, got, srv.stderr)
	}
	if got := apiVerify(t, srv.url, "admin", "admin password", ""); got != "ok" {
		t.Errorf("the local administrator = %s, want ok", got)
	}
	if got := apiVerify(t, srv.url, a.Name, "wrong password", ""); got != "credentials_wrong" {
		t.Errorf("%s with a wrong password = %s, want credentials_wrong", a.Name, got)
	}
	if got := apiVerify(t, srv.url, "nosuchuser"+pamtest.RandomHex(3), "whatever", ""); got != "credentials_wrong" {
		t.Errorf("an unknown user = %s, want credentials_wrong", got)
	}
	out, _, err := runCmd(t, "user", "list", "-data-dir", data)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(regexp.QuoteMeta(a.Name) + `\s+pam\s+no\s+no\s+no\s+\S+ \S+\s+\S*` + regexp.QuoteMeta(a.Group)).MatchString(out) {
		t.Errorf("user list lacks %s from pam with group %s:\n%s", a.Name, a.Group, out)
	}
	pamtest.Run(t, "", "passwd", "-l", a.Name)
	if got := apiVerify(t, srv.url, a.Name, a.Password, ""); got != "credentials_wrong" {
		t.Errorf("a locked account with its password = %s, want credentials_wrong", got)
	}
	if strings.Contains(srv.stderr.String(), a.Password) {
		t.Errorf("the server logged the password")
	}
}
