package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
)

// TestGateAttackNginx and TestGateAttackCaddy replay the attack run of
// issue 10 through the real proxy with the shipped configuration: a rule
// with a port must decide on the port the proxy listens on whatever Host
// the client sends, and no spelling of a restricted path may reach the app
// for a user the rule keeps out.
func TestGateAttackNginx(t *testing.T) {
	nginx := testenv.LookPath(t, "nginx")
	g := newAttackRun(t)
	g.proxy = startNginx(t, nginx, g)
	g.attack(t, "nginx")
}

func TestGateAttackCaddy(t *testing.T) {
	caddy := testenv.LookPath(t, "caddy")
	g := newAttackRun(t)
	g.proxy = startCaddy(t, caddy, g)
	g.attack(t, "caddy")
}

// newAttackRun prepares otpgate with two users in its store, alice (group
// admins) and carol (group staff), both with TOTP, and the echo app as the
// upstream of both the notebook's and the echo app's server blocks. The
// rules are written by attack, once the proxy's port is known.
func newAttackRun(t *testing.T) *gateRun {
	t.Helper()
	dir := t.TempDir()
	g := &gateRun{dir: dir, password: "correct horse battery staple"}
	g.cert, g.key, g.roots = gateCert(t, dir)
	g.gate = prepareGate(t, dir, "-access-rules", filepath.Join(dir, "access-rules"))
	g.echo = echoUpstream(t)
	g.jupyter = g.echo
	return g
}

func (g *gateRun) attack(t *testing.T, proxyName string) {
	_, port, _ := net.SplitHostPort(g.proxy)
	// The README's rules of the attack run, on the test's hosts: the echo
	// app on the proxy's port for alice only; on the notebook's host a
	// deny rule and a group rule; everyone else everywhere else.
	rules := fmt.Sprintf("host %[1]s:%[2]s users alice\n"+
		"host %[3]s path /private deny\n"+
		"host %[3]s path /admin groups admins\n"+
		"host *.%[4]s users *\n", echoHost, port, notebookHost, gateDomain)
	if err := os.WriteFile(filepath.Join(g.dir, "access-rules"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, closeStore := g.gate.service(t)
	aliceKey := storeUser(t, svc, mfa.NewUser{Name: "alice", Password: g.password, DisplayName: "Alice", Groups: []string{"admins"}})
	carolKey := storeUser(t, svc, mfa.NewUser{Name: "carol", Password: g.password, DisplayName: "Carol", Groups: []string{"staff"}})
	closeStore()
	g.logPath = filepath.Join(g.dir, "otpgate.log")
	g.gate.start(t, g.logPath)

	nb := "https://" + notebookHost
	clients := map[string]*http.Client{}
	for name, code := range map[string]string{"alice": aliceKey.TOTP(time.Now()), "carol": carolKey.TOTP(time.Now())} {
		c := g.client()
		if r, body := signIn(t, c, nb+"/start", name, g.password, code); r.StatusCode != 200 || r.Request.URL.Host != notebookHost {
			t.Fatalf("%s did not sign in through %s: %s\n%.300s", name, proxyName, describe(r), body)
		}
		clients[name] = noFollow(c)
	}

	t.Run("port rules", func(t *testing.T) {
		for _, host := range []string{echoHost, echoHost + ":" + port, strings.ToUpper(echoHost), echoHost + ".",
			echoHost + ".:" + port, echoHost + ":0" + port, "Echo.Example.Test:" + port, echoHost + ":443"} {
			for _, tc := range []struct {
				user string
				want int
			}{{"carol", 403}, {"alice", 200}} {
				st, who := g.rawGet(t, clients[tc.user], "https://"+echoHost+"/page", host)
				switch {
				case tc.want == 200 && (st != 200 || who != tc.user):
					t.Errorf("%s with Host %q: %d, app saw %q; want 200 as %s", tc.user, host, st, who, tc.user)
				case tc.want == 403 && who != "":
					t.Errorf("%s with Host %q: %d, and the app saw %q: the port rule was bypassed", tc.user, host, st, who)
				case tc.want == 403 && st != 403:
					t.Errorf("%s with Host %q: %d, want 403", tc.user, host, st)
				}
			}
		}
	})

	t.Run("path spellings", func(t *testing.T) {
		for _, p := range []string{"/private", "/private;x", "/PRIVATE", "/priv%2561te", "/Private/x", "/private;x=1",
			"/admin;jsessionid=1", "/admin%3B/x", "/private.", "/private%20", "/%252e%252e/private", "/%C0%AEadmin",
			"/private%2e", "/pr%69vate", "/%EF%BD%90rivate", "/private::$DATA", "/PRIVAT~1", "/x/..;/private",
			"/admin%2f", "/ADMIN/users", "/private/", "//private", "/private%3Fx"} {
			st, who := g.rawGet(t, clients["carol"], nb+p, "")
			if who != "" {
				t.Errorf("carol on %s: %d, and the app saw the request as %q", p, st, who)
			} else if st != 403 && st != 400 {
				t.Errorf("carol on %s: %d, want 403 (or the proxy's own 400)", p, st)
			}
		}
		// So that the test can fail: carol reaches the rest, alice the
		// admin pages, in a spelling the app may read as /admin.
		for _, tc := range []struct{ user, path string }{{"carol", "/page"}, {"carol", "/privateer"}, {"carol", "/Page;x"},
			{"alice", "/admin"}, {"alice", "/ADMIN;x"}} {
			if st, who := g.rawGet(t, clients[tc.user], nb+tc.path, ""); st != 200 || who != tc.user {
				t.Errorf("%s on %s: %d, app saw %q; want 200", tc.user, tc.path, st, who)
			}
		}
	})
}

// rawGet sends GET target through c with the path as written (not
// cleaned or re-escaped) and Host replaced when host is set, and returns
// the status and the Remote-User the echo app saw ("" when the request did
// not reach it).
func (g *gateRun) rawGet(t *testing.T, c *http.Client, target, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(target[len("https://"):], "/"); i >= 0 {
		req.URL.Opaque = "//" + req.URL.Host + target[len("https://")+i:]
	}
	if host != "" {
		req.Host = host
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %q): %v", target, host, err)
	}
	defer r.Body.Close()
	var e echoed
	if r.StatusCode == 200 && json.NewDecoder(r.Body).Decode(&e) == nil {
		return r.StatusCode, e.Headers.Get("Remote-User")
	}
	return r.StatusCode, ""
}
