package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// glewlwydSchema is the SQLite schema Debian's glewlwyd package ships for
// dbconfig-common: every table, and the administrator admin/password.
const glewlwydSchema = "/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3"

// glewlwydAdmin is the administrator the shipped schema creates.
const glewlwydAdmin, glewlwydAdminPassword = "admin", "password"

// glewlwydPeer is Debian's glewlwyd, another OpenID provider, running on
// loopback with a database of its own: one user of its database backend
// signed in (session holds the cookie), one confidential client, and its
// OpenID Connect plugin at base/api/oidc.
type glewlwydPeer struct {
	base    string // http://127.0.0.1:port
	flow    oidcFlow
	session *http.Client
}

// startGlewlwyd starts glewlwyd in dir, stopped when the test ends, with
// its OIDC plugin signing with RS256 and rotating refresh tokens on use
// (as otpgate does), a user alice with name, e-mail and groups claims, and
// the client bench (client_secret_basic, redirect URI redirectURI); alice
// is signed in through the login API and has granted the client the
// openid scope (the grant glewlwyd's login page asks for once). It skips
// (or fails) the test when glewlwyd is not installed.
func startGlewlwyd(t testing.TB, dir, redirectURI string) *glewlwydPeer {
	t.Helper()
	bin := testenv.LookPath(t, "glewlwyd")
	schema, err := os.ReadFile(glewlwydSchema)
	if err != nil {
		testenv.SkipOrFail(t, "glewlwyd's schema: %v (the glewlwyd package ships it)", err)
	}
	dbPath := filepath.Join(dir, "glewlwyd.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// The database user backend keeps only the properties its data-format
	// names; groups is the one otpgate's user has besides name and e-mail.
	// Changing it through the admin API means disabling the module, which
	// signs the administrator (one of its users) out, so it is set here,
	// before the start.
	userModule := `{"use-glewlwyd-connection":true,"data-format":{"groups":{"multiple":true,"read":true,"write":true,"profile-read":true,"profile-write":false}}}`
	_, err = db.ExecContext(context.Background(), string(schema))
	if err == nil {
		_, err = db.ExecContext(context.Background(), `UPDATE g_user_module_instance SET gumi_parameters = ? WHERE gumi_name = 'database'`, userModule)
	}
	db.Close()
	if err != nil {
		t.Fatalf("glewlwyd database from %s: %v", glewlwydSchema, err)
	}

	addr := freeAddr(t)
	p := &glewlwydPeer{base: "http://" + addr}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "glewlwyd.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `port=%s
bind_address="127.0.0.1"
external_url="%s"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
log_mode="console"
log_level="WARNING"
cookie_secure=0
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "%s" };
`, port, p.base, dbPath), 0o600); err != nil {
		t.Fatal(err)
	}
	exited := startProcess(t, exec.Command(bin, "-c", conf), filepath.Join(dir, "glewlwyd.log"))
	waitListening(t, addr, "glewlwyd", exited)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	const client, secret = "bench", "bench-client-secret" // glewlwyd does not form-decode Basic credentials
	admin := glewlwydClient()
	p.call(t, admin, "POST", "/api/auth/", map[string]any{"username": glewlwydAdmin, "password": glewlwydAdminPassword})
	p.call(t, admin, "POST", "/api/mod/plugin/", map[string]any{
		"module": "oidc", "name": "oidc", "display_name": "OpenID Connect", "enabled": true,
		"parameters": map[string]any{
			"iss":      p.base + "/api/oidc",
			"jwt-type": "rsa", "jwt-key-size": "256", // RS256
			"key":           string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
			"cert":          string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
			"code-duration": 600, "access-token-duration": 3600, "refresh-token-duration": 1209600,
			"auth-type-code-enabled": true, "auth-type-refresh-enabled": true,
			"pkce-allowed": true, "pkce-method-plain-allowed": false,
			"refresh-token-one-use": "always",
			"allowed-scope":         []string{"openid"},
			"name-claim":            "mandatory", "email-claim": "mandatory",
			"claims": []map[string]any{
				{"name": "preferred_username", "user-property": "username", "mandatory": true},
				{"name": "groups", "user-property": "groups", "mandatory": true},
			},
		},
	})
	// The shipped openid scope needs no password at all; otpgate's
	// sign-in always does.
	p.call(t, admin, "PUT", "/api/scope/openid", map[string]any{
		"display_name": "Open ID", "description": "OpenID Connect", "password_required": true, "password_max_age": 0, "scheme": map[string]any{}})
	const user, password = "alice", "alice password"
	p.call(t, admin, "POST", "/api/user/", map[string]any{
		"username": user, "password": password, "name": "Alice", "email": "alice@example.org",
		"scope": []string{"openid"}, "groups": []string{"jupyter", "staff"}, "enabled": true})
	p.call(t, admin, "POST", "/api/client/", map[string]any{
		"client_id": client, "name": client, "confidential": true, "password": secret, "enabled": true,
		"redirect_uri": []string{redirectURI}, "authorization_type": []string{"code", "refresh_token"},
		"token_endpoint_auth_method": []string{"client_secret_basic"}, "scope": []string{}})

	p.session = glewlwydClient()
	p.call(t, p.session, "POST", "/api/auth/", map[string]any{"username": user, "password": password})
	p.call(t, p.session, "PUT", "/api/auth/grant/"+client, map[string]any{"scope": "openid"})

	p.flow = discover(t, p.base+"/api/oidc", p.session)
	p.flow.client, p.flow.secret, p.flow.redirectURI, p.flow.user = client, secret, redirectURI, user
	// glewlwyd sends every authorization request to its login page, whose
	// script, seeing a valid session and grant, comes back with g_continue;
	// the flow goes straight to that second request.
	p.flow.authExtra = map[string]string{"g_continue": ""}
	// glewlwyd issues a refresh token with every code, without
	// offline_access (not one of its scopes).
	p.flow.scope = "openid"
	return p
}

// glewlwydClient is an HTTP client with a cookie jar of its own that
// does not follow redirects.
func glewlwydClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// call sends body as JSON to glewlwyd's API and fails the test unless it
// answers 200.
func (p *glewlwydPeer) call(t testing.TB, c *http.Client, method, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, p.base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	r, err := c.Do(req)
	if err != nil {
		t.Fatalf("glewlwyd %s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("glewlwyd %s %s = %d %s", method, path, r.StatusCode, out)
	}
}
