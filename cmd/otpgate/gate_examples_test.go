package main

import (
	"encoding/json"
	"flag"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/access"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/testenv"
)

// TestGateExampleSettings loads examples/otpgate/otpgate.conf as the
// server does, with the example rules file, and checks that the rules
// decide as their comments say.
func TestGateExampleSettings(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFlags(fs, &c)
	if _, err := loadConfig(fs, []string{"-config", "../../examples/otpgate/otpgate.conf",
		"-access-rules", "../../examples/otpgate/access-rules"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the example settings are refused: %v", err)
	}
	if c.BaseURL != "https://auth.example.org" || c.CookieDomain != "example.org" || c.TrustedProxies == "" || c.UserFile == "" {
		t.Errorf("example settings not read: %+v", c)
	}
	if c.rules == nil {
		t.Fatal("no rules parsed")
	}
	alice := mfa.User{Name: "alice", Groups: []string{"jupyter", "staff"}}
	carol := mfa.User{Name: "carol", Groups: []string{"staff"}}
	admin := mfa.User{Name: "root", Groups: []string{"admins"}}
	guest := mfa.User{Name: "guest"}
	for _, tc := range []struct {
		host, path string
		user       mfa.User
		allowed    bool
		optional   bool
	}{
		{"notebook.example.org", "/tree", alice, true, false},
		{"notebook.example.org", "/api/kernels", carol, false, false},
		{"wiki.example.org", "/page", carol, true, true},
		{"wiki.example.org", "/admin/users", carol, false, false},
		{"wiki.example.org", "/admin/users", admin, true, false},
		{"wiki.example.org", "/ADMIN;x=1", carol, false, false},
		{"files.example.org", "/Public/x", guest, true, false},
		{"files.example.org", "/PUBLIC", guest, true, false},
		{"files.example.org", "/other", guest, false, false},
		{"files.example.org", "/other", carol, true, false},
		{"status.example.org", "/", admin, false, false},
		{"other.example.org", "/", admin, false, false},
	} {
		p, err := access.ParsePath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		v := c.rules.Check(access.Request{Host: tc.host, Port: "443", Path: p}, tc.user)
		if v.Pass != tc.allowed || v.Pass && (v.SecondFactor == access.Optional) != tc.optional {
			t.Errorf("%s%s for %s: %+v, want allowed %v optional %v", tc.host, tc.path, tc.user.Name, v, tc.allowed, tc.optional)
		}
	}
}

// TestGateTraefikExample checks the Traefik example for syntax and for the
// keys the gate needs, reading the YAML with Debian's python3-yaml. It is
// not run through Traefik itself, which is not a Debian package.
func TestGateTraefikExample(t *testing.T) {
	py := testenv.Python(t, "yaml")
	load := func(path string) map[string]any {
		t.Helper()
		out, err := exec.Command(py, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s is not valid YAML: %v\n%s", path, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	static := load("../../examples/traefik/traefik.yml")
	dyn := load("../../examples/traefik/dynamic.yml")

	get := func(m any, path ...string) any {
		for _, k := range path {
			mm, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = mm[k]
		}
		return m
	}
	if ep, _ := get(static, "entryPoints", "websecure", "address").(string); ep == "" {
		t.Error("traefik.yml: entry point websecure has no address")
	}
	if v := get(static, "entryPoints", "websecure", "forwardedHeaders", "insecure"); v != false {
		t.Errorf("traefik.yml: forwardedHeaders.insecure = %v, want false (clients' X-Forwarded-* replaced)", v)
	}
	if f, _ := get(static, "providers", "file", "filename").(string); !strings.HasSuffix(f, "dynamic.yml") {
		t.Errorf("traefik.yml: the file provider does not read dynamic.yml: %q", f)
	}

	// Keys Traefik's forwardAuth middleware knows (v2 and v3).
	known := []string{"address", "tls", "trustForwardHeader", "authResponseHeaders", "authResponseHeadersRegex",
		"authRequestHeaders", "addAuthCookiesToResponse", "headerField", "forwardBody", "maxBodySize", "preserveLocationHeader", "preserveRequestMethod"}
	mws, _ := get(dyn, "http", "middlewares").(map[string]any)
	fa, _ := get(mws, "otpgate", "forwardAuth").(map[string]any)
	if fa == nil {
		t.Fatal("dynamic.yml: no forwardAuth middleware named otpgate")
	}
	for k := range fa {
		if !slices.Contains(known, k) {
			t.Errorf("dynamic.yml: forwardAuth has unknown key %q", k)
		}
	}
	if a, _ := fa["address"].(string); !strings.HasSuffix(a, "/auth/redirect") {
		t.Errorf("forwardAuth address %q: want otpgate's /auth/redirect", a)
	}
	if fa["trustForwardHeader"] != true {
		t.Error("forwardAuth: trustForwardHeader must be true (Traefik's own X-Forwarded-* carry the original URL)")
	}
	var copied []string
	hs, _ := fa["authResponseHeaders"].([]any)
	for _, h := range hs {
		s, _ := h.(string)
		copied = append(copied, s)
	}
	slices.Sort(copied)
	if !slices.Equal(copied, []string{"Remote-Groups", "Remote-Name", "Remote-User"}) {
		t.Errorf("authResponseHeaders = %v, want exactly Remote-User, Remote-Name, Remote-Groups", copied)
	}
	strip, _ := get(mws, "otpgate-strip-identity", "headers", "customRequestHeaders").(map[string]any)
	for _, h := range []string{"Remote-User", "Remote-Name", "Remote-Groups", "X-Original-URL", "X-Real-IP"} {
		if v, ok := strip[h]; !ok || v != "" {
			t.Errorf("the strip middleware does not remove a client's %s", h)
		}
	}
	// Traefik's own X-Forwarded-Port is the port in the client's Host: the
	// middleware must set the entry point's.
	_, epPort, _ := strings.Cut(get(static, "entryPoints", "websecure", "address").(string), ":")
	if v, _ := strip["X-Forwarded-Port"].(string); v == "" || v != epPort {
		t.Errorf("the strip middleware sets X-Forwarded-Port %q, want the entry point's port %q", v, epPort)
	}
	chain, _ := get(mws, "otpgate-gate", "chain", "middlewares").([]any)
	if !slices.Equal(chain, []any{"otpgate-strip-identity", "otpgate"}) {
		t.Errorf("otpgate-gate chain = %v, want the strip middleware, then otpgate", chain)
	}

	routers, _ := get(dyn, "http", "routers").(map[string]any)
	services, _ := get(dyn, "http", "services").(map[string]any)
	for name, r := range routers {
		if s, _ := get(r, "service").(string); services[s] == nil {
			t.Errorf("router %s: service %q not defined", name, s)
		}
		ms, _ := get(r, "middlewares").([]any)
		for _, m := range ms {
			if mws[m.(string)] == nil {
				t.Errorf("router %s: middleware %v not defined", name, m)
			}
		}
		if rule, _ := get(r, "rule").(string); strings.Contains(rule, "notebook.") && !slices.Contains(ms, any("otpgate-gate")) {
			t.Errorf("router %s (%s) is not behind the gate", name, rule)
		}
		if rule, _ := get(r, "rule").(string); strings.Contains(rule, "auth.") && !strings.Contains(rule, "!PathPrefix(`/auth/`)") {
			t.Errorf("router %s (%s) lets clients reach the forward-auth endpoints", name, rule)
		}
	}
	for name, s := range services {
		servers, _ := get(s, "loadBalancer", "servers").([]any)
		if len(servers) == 0 || get(servers[0], "url") == nil {
			t.Errorf("service %s: no server url", name)
		}
	}
}
