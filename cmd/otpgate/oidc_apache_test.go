package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApacheOIDCExampleSyntax checks examples/oidc/apache with Debian's
// apache2 -t and the module loaded, and that the check does look at the
// module's directives: a misspelt one is refused.
func TestApacheOIDCExampleSyntax(t *testing.T) {
	apache := lookApache(t)
	dir := t.TempDir()
	cert, key, _ := gateCert(t, dir)
	site := writeApacheConfig(t, dir, apacheSettings{issuer: "http://127.0.0.1:9", secret: "s", cert: cert, key: key})
	if out, err := apacheCheck(apache, site.conf); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Fatalf("apache2 -t on the example: %v\n%s", err, out)
	}
	vhost := filepath.Join(site.dir, "otpgate-app.conf")
	b, err := os.ReadFile(vhost)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "OIDCPKCEMethod S256", "OIDCPKCEMethods S256", 1)
	if err := os.WriteFile(vhost, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := apacheCheck(apache, site.conf); err == nil {
		t.Errorf("apache2 -t accepts a misspelt directive:\n%s", out)
	}
}

// TestApacheOIDCFailsClosed runs the example with a provider that does not
// answer: the open page is served, the protected ones never are.
func TestApacheOIDCFailsClosed(t *testing.T) {
	apache := lookApache(t)
	dir := t.TempDir()
	cert, key, roots := gateCert(t, dir)
	site := writeApacheConfig(t, dir, apacheSettings{issuer: "http://" + freeAddr(t), secret: "s", cert: cert, key: key})
	startApache(t, apache, site)
	c := noFollow(gateClient(site.addr, roots))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/signed-out.html", http.StatusOK},
		{"/", http.StatusInternalServerError},
		{"/index.shtml", http.StatusInternalServerError},
		{"/staff/", http.StatusInternalServerError},
	} {
		req, _ := http.NewRequest("GET", site.url+tc.path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}
