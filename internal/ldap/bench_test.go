package ldap

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
)

// benchLDIF holds n users user00000… (password pw-N) and n/100+1
// posixGroup groups, each user in one of them by memberUid.
func benchLDIF(n int) string {
	var b strings.Builder
	groups := n/100 + 1
	members := make([][]string, groups)
	for i := range n {
		uid := fmt.Sprintf("user%05d", i)
		b.WriteString(userLDIF(testUser{uid: uid, password: "pw-" + uid}, i))
		members[i%groups] = append(members[i%groups], uid)
	}
	for g := range groups {
		fmt.Fprintf(&b, "dn: cn=group%03d,ou=groups,%s\nobjectClass: posixGroup\ncn: group%03d\ngidNumber: %d\n",
			g, ldaptest.BaseDN, g, 30000+g)
		for _, m := range members[g] {
			fmt.Fprintf(&b, "memberUid: %s\n", m)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func startBench(b *testing.B, users int) *ldaptest.Server {
	b.Helper()
	start := time.Now()
	srv := ldaptest.Start(b, benchLDIF(users))
	b.Logf("slapd with %d users ready in %v", users, time.Since(start).Round(time.Millisecond))
	return srv
}

// benchSignIns signs users in one after another, cycling through n.
func benchSignIns(b *testing.B, d *Directory, n int) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		uid := fmt.Sprintf("user%05d", (i*7919)%n) // spread over the directory
		i++
		if _, err := d.Authenticate(ctx, uid, "pw-"+uid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticatePool compares sign-ins on pooled connections with
// a new connection (and, over TLS, handshake) per search and bind.
func BenchmarkAuthenticatePool(b *testing.B) {
	const users = 100
	srv := startBench(b, users)
	for _, tr := range []struct {
		name     string
		url      string
		startTLS bool
	}{{"plain", srv.URL, false}, {"starttls", srv.URL, true}, {"ldaps", srv.LDAPSURL, false}} {
		for _, pooled := range []bool{true, false} {
			name := tr.name + "/pooled"
			if !pooled {
				name = tr.name + "/conn-per-sign-in"
			}
			b.Run(name, func(b *testing.B) {
				cfg := searchConfig(b, srv, tr.url)
				cfg.StartTLS = tr.startTLS
				d := newDirectory(b, cfg)
				d.searches.keepIdle, d.binds.keepIdle = pooled, pooled
				benchSignIns(b, d, users)
			})
		}
	}
}

// BenchmarkAuthenticateDirectorySize compares sign-ins against a
// directory of 100 users and one of 10,000 (indexed on uid and
// memberUid, as a site's should be), with the group lookup on and off.
func BenchmarkAuthenticateDirectorySize(b *testing.B) {
	for _, users := range []int{100, 10000} {
		srv := startBench(b, users)
		for _, groups := range []bool{true, false} {
			name := fmt.Sprintf("users=%d/groups", users)
			if !groups {
				name = fmt.Sprintf("users=%d/no-groups", users)
			}
			b.Run(name, func(b *testing.B) {
				cfg := searchConfig(b, srv)
				if !groups {
					cfg.GroupFilter = None
				}
				logStart := len(srv.Log())
				benchSignIns(b, newDirectory(b, cfg), users)
				// The server's own time per search (slapd's etime), apart
				// from the client and the machine's other load.
				if p50, ok := searchEtimeP50(srv.Log()[logStart:]); ok {
					b.ReportMetric(p50, "server-µs/search")
				}
			})
		}
		srv.Stop()
	}
}

// BenchmarkRefusal compares the refusals a client must not tell apart: a
// wrong password, an unknown name, a locked and an expired account, with
// a sign-in that succeeds.
func BenchmarkRefusal(b *testing.B) {
	srv := startFixture(b)
	d := newDirectory(b, searchConfig(b, srv))
	for _, c := range []struct{ name, user, password string }{
		{"right-password", "alice", "alice-pw"},
		{"wrong-password", "alice", "wrong"},
		{"unknown-user", "zoe", "wrong"},
		{"locked", "lena", "lena-pw"},
		{"expired", "ed", "ed-pw"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, err := d.Authenticate(ctx, c.user, c.password)
				if (err == nil) != (c.name == "right-password") {
					b.Fatal(err)
				}
			}
		})
	}
}

var etimeRE = regexp.MustCompile(`SEARCH RESULT .*etime=([0-9.]+)`)

// searchEtimeP50 returns the median etime, in µs, of the searches that
// slapd logged (log level stats).
func searchEtimeP50(log string) (float64, bool) {
	var us []float64
	for _, m := range etimeRE.FindAllStringSubmatch(log, -1) {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			us = append(us, f*1e6)
		}
	}
	if len(us) == 0 {
		return 0, false
	}
	slices.Sort(us)
	return us[len(us)/2], true
}
