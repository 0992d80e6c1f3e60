package ldap

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
)

// testNow is the injected clock: after ed's shadowExpire (day 20000,
// 2024-10-04), before 2038.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// testUser is one posixAccount of the fixture.
type testUser struct {
	uid, password string
	extra         string // more LDIF lines
}

var fixtureUsers = []testUser{
	{uid: "alice", password: "alice-pw"},
	{uid: "bob", password: "bob-pw"},
	{uid: "carol", password: "carol-pw"},
	{uid: "lena", password: "lena-pw", extra: "pwdAccountLockedTime: 000001010000Z\n"},
	{uid: "ed", password: "ed-pw", extra: "shadowExpire: 20000\n"},
	{uid: "dora", password: "dora-pw", extra: "shadowExpire: -1\n"},
}

func userLDIF(u testUser, n int) string {
	return fmt.Sprintf(`dn: uid=%[1]s,ou=people,%[2]s
objectClass: inetOrgPerson
objectClass: posixAccount
objectClass: shadowAccount
uid: %[1]s
cn: %[4]s
sn: %[1]s
displayName: %[4]s
mail: %[1]s@example.org
uidNumber: %[3]d
gidNumber: 10000
homeDirectory: /home/%[1]s
userPassword: %[5]s
%[6]s
`, u.uid, ldaptest.BaseDN, 10000+n, strings.ToUpper(u.uid[:1])+u.uid[1:]+" Example", ldaptest.SSHA(u.password), u.extra)
}

// fixtureLDIF holds the users above, posixGroup groups (RFC 2307,
// memberUid) hpc {alice, bob} and staff {carol}.
func fixtureLDIF() string {
	var b strings.Builder
	for i, u := range fixtureUsers {
		b.WriteString(userLDIF(u, i))
	}
	for _, g := range []struct {
		cn      string
		gid     int
		members []string
	}{{"hpc", 20001, []string{"alice", "bob"}}, {"staff", 20002, []string{"carol"}}} {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: posixGroup\ncn: %s\ngidNumber: %d\n", g.cn, ldaptest.BaseDN, g.cn, g.gid)
		for _, m := range g.members {
			fmt.Fprintf(&b, "memberUid: %s\n", m)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// startFixture starts a slapd with the fixture, and adds the groupOfNames
// groups (rfc2307bis) admins {alice} and ops {alice, bob} online, so that
// the memberof overlay fills memberOf.
func startFixture(t testing.TB) *ldaptest.Server {
	t.Helper()
	srv := ldaptest.Start(t, fixtureLDIF())
	admin := srv.Admin()
	for _, g := range []struct {
		cn      string
		members []string
	}{{"admins", []string{"alice"}}, {"ops", []string{"alice", "bob"}}} {
		req := goldap.NewAddRequest("cn="+g.cn+",ou=groups,"+ldaptest.BaseDN, nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{g.cn})
		var dns []string
		for _, m := range g.members {
			dns = append(dns, "uid="+m+",ou=people,"+ldaptest.BaseDN)
		}
		req.Attribute("member", dns)
		if err := admin.Add(req); err != nil {
			t.Fatalf("add group %s: %v", g.cn, err)
		}
	}
	return srv
}

// servicePasswordFile writes the service account's password to a file
// of mode 0600.
func servicePasswordFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(p, []byte(ldaptest.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// searchConfig is a search-then-bind Config for srv over url.
func searchConfig(t testing.TB, srv *ldaptest.Server, urls ...string) Config {
	t.Helper()
	if len(urls) == 0 {
		urls = []string{srv.URL}
	}
	return Config{
		URLs:             urls,
		CAFile:           srv.CAFile,
		BaseDN:           "ou=people," + ldaptest.BaseDN,
		GroupBaseDN:      "ou=groups," + ldaptest.BaseDN,
		BindDN:           ldaptest.ServiceDN,
		BindPasswordFile: servicePasswordFile(t),
		ConnectTimeout:   2 * time.Second,
		BindTimeout:      2 * time.Second,
		SearchTimeout:    2 * time.Second,
	}
}

func newDirectory(t testing.TB, cfg Config) *Directory {
	t.Helper()
	d, err := New(cfg, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
