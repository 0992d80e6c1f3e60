package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
)

// directoryLDIF is the directory the cmd/otpgate tests sign in against:
// posixAccount users alice, bob, tom, lena (locked by ppolicy) and ed
// (expired: shadowExpire 1, in 1970), each with the password
// NAME-dir-pw, and posixGroup groups hpc {alice} and staff {alice, bob}.
func directoryLDIF() string {
	var b strings.Builder
	for i, u := range []struct{ uid, extra string }{
		{"alice", ""}, {"bob", ""}, {"tom", ""},
		{"lena", "pwdAccountLockedTime: 000001010000Z\n"}, {"ed", "shadowExpire: 1\n"},
	} {
		fmt.Fprintf(&b, `dn: uid=%[1]s,ou=people,%[2]s
objectClass: inetOrgPerson
objectClass: posixAccount
objectClass: shadowAccount
uid: %[1]s
cn: %[4]s Example
sn: %[1]s
mail: %[1]s@example.org
uidNumber: %[3]d
gidNumber: 10000
homeDirectory: /home/%[1]s
userPassword: %[5]s
%[6]s
`, u.uid, ldaptest.BaseDN, 10000+i, strings.ToUpper(u.uid[:1])+u.uid[1:], ldaptest.SSHA(u.uid+"-dir-pw"), u.extra)
	}
	for _, g := range []struct {
		cn      string
		members []string
	}{{"hpc", []string{"alice"}}, {"staff", []string{"alice", "bob"}}} {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: posixGroup\ncn: %s\ngidNumber: 2%04d\n", g.cn, ldaptest.BaseDN, g.cn, len(g.cn))
		for _, m := range g.members {
			fmt.Fprintf(&b, "memberUid: %s\n", m)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ldapFlagsFor returns the -ldap-* flags for srv over its ldap:// URL
// with StartTLS, as examples/otpgate/ldap.conf has them with that
// server's names.
func ldapFlagsFor(t testing.TB, srv *ldaptest.Server) []string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "ldap-bind.password")
	if err := os.WriteFile(pw, []byte(ldaptest.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-ldap-url", srv.URL, "-ldap-starttls", "-ldap-ca-file", srv.CAFile,
		"-ldap-base-dn", "ou=people," + ldaptest.BaseDN, "-ldap-group-base-dn", "ou=groups," + ldaptest.BaseDN,
		"-ldap-bind-dn", ldaptest.ServiceDN, "-ldap-bind-password-file", pw,
		"-ldap-connect-timeout", "2s", "-ldap-bind-timeout", "2s", "-ldap-search-timeout", "2s"}
}

func TestLDAPCheck(t *testing.T) {
	srv := ldaptest.Start(t, directoryLDIF())
	flags := ldapFlagsFor(t, srv)
	tests := []struct {
		name, user, password string
		ok                   bool
		want                 []string // lines the output holds
	}{
		{"right password", "alice", "alice-dir-pw", true, []string{
			"mode:          search-then-bind\n",
			"server:        " + srv.URL + "\n",
			"tls:           TLS 1.3\n",
			`search:        base "ou=people,dc=example,dc=org", scope sub` + "\n",
			"filter:        (&(objectClass=posixAccount)(uid=alice))\n",
			"entries:       1\n",
			"dn:            uid=alice,ou=people,dc=example,dc=org\n",
			"state:         ok\n",
			"group filter:  (&(objectClass=posixGroup)(memberUid=alice))\n",
			"groups:        hpc, staff\n",
			"bind:          ok\n",
			"result:        ok: alice may sign in\n",
		}},
		{"wrong password", "alice", "bob-dir-pw", false, []string{"bind:          refused: ", "Invalid Credentials"}},
		{"unknown user", "zoe", "zoe-dir-pw", false, []string{"entries:       0\n", "dn:            none\n", "bind:          not tried\n"}},
		{"hostile name", "*)(uid=*", "x-dir-pw", false, []string{`filter:        (&(objectClass=posixAccount)(uid=\2a\29\28uid=\2a))`, "entries:       0\n"}},
		{"locked", "lena", "lena-dir-pw", false, []string{"state:         account locked (pwdAccountLockedTime)\n", "bind:          not tried\n"}},
		{"expired", "ed", "ed-dir-pw", false, []string{"state:         account expired (shadowExpire)\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append([]string{"ldap", "check"}, flags...), tc.user, "--password-stdin")
			err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(tc.password+"\n"), &out, &errb)
			var ee exitError
			switch {
			case tc.ok && err != nil:
				t.Errorf("ldap check %s = %v, want success\n%s", tc.user, err, out.String())
			case !tc.ok && (!errors.As(err, &ee) || ee.code != 1):
				t.Errorf("ldap check %s = %v, want exit status 1\n%s", tc.user, err, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("ldap check %s output lacks %q:\n%s", tc.user, w, out.String())
				}
			}
			if strings.Contains(out.String()+errb.String()+fmt.Sprint(err), tc.password) {
				t.Errorf("ldap check %s shows the password:\n%s%s", tc.user, out.String(), errb.String())
			}
		})
	}

	t.Run("ldaps", func(t *testing.T) {
		args := append(append([]string{"ldap", "check"}, flags...), "-ldap-url", srv.LDAPSURL, "-ldap-starttls=false", "bob", "--password-stdin")
		var out bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader("bob-dir-pw\n"), &out, &bytes.Buffer{})
		if err != nil || !strings.Contains(out.String(), "server:        "+srv.LDAPSURL+"\n") || !strings.Contains(out.String(), "tls:           TLS 1.") {
			t.Errorf("ldap check over ldaps = %v:\n%s", err, out.String())
		}
	})
	t.Run("server stopped", func(t *testing.T) {
		srv.Stop()
		defer srv.Restart()
		args := append(append([]string{"ldap", "check"}, flags...), "alice", "--password-stdin")
		var out bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader("alice-dir-pw\n"), &out, &bytes.Buffer{})
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out.String(), "server:        none answered\n") ||
			!strings.Contains(out.String(), "directory unavailable") {
			t.Errorf("ldap check with the server stopped = %v, want exit status 1 saying no server answered:\n%s", err, out.String())
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"ldap"}, {"ldap", "check"}, {"ldap", "check", "alice"}, {"ldap", "frob"}} {
			_, _, err := runCmd(t, args...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Errorf("run(%q) = %v, want exit status 2", args, err)
			}
		}
	})
}
