package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// discovery fetches the discovery document.
func discovery(t *testing.T, base string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// has reports whether the discovery list k holds v.
func has(d map[string]any, k, v string) bool {
	l, _ := d[k].([]any)
	return slices.Contains(l, any(v))
}

// TestNextcloudExpectations: what Nextcloud's user_oidc needs, configured
// with the discovery URL only (occ user_oidc:provider otpgate
// --discoveryuri=ISSUER/.well-known/openid-configuration ...): the
// authorization, token, userinfo, JWKS and end-session endpoints under the
// issuer, S256 PKCE, the code flow with client_secret_post (how user_oidc
// authenticates), the groups claim in the ID token and userinfo when the
// groups scope is asked (its group provisioning maps it), and a sub that
// stays the same for the user (its user ID mapping) across sign-ins,
// browsers and restarts.
func TestNextcloudExpectations(t *testing.T) {
	addr := freeAddr(t)
	common := []string{"-data-dir", t.TempDir() + "/data", "-base-url", "http://" + addr}
	o := startOIDCOn(t, common, "-addr", addr)
	d := discovery(t, o.url)
	if d["issuer"] != o.url {
		t.Errorf("issuer = %v, want %s", d["issuer"], o.url)
	}
	for k, path := range map[string]string{"authorization_endpoint": "/oidc/authorize", "token_endpoint": "/oidc/token",
		"userinfo_endpoint": "/oidc/userinfo", "jwks_uri": "/oidc/keys", "end_session_endpoint": "/oidc/end_session"} {
		if d[k] != o.url+path {
			t.Errorf("%s = %v, want %s", k, d[k], o.url+path)
		}
	}
	for _, c := range []struct{ k, v string }{
		{"code_challenge_methods_supported", "S256"}, {"response_types_supported", "code"},
		{"token_endpoint_auth_methods_supported", "client_secret_post"}, {"token_endpoint_auth_methods_supported", "client_secret_basic"},
		{"scopes_supported", "groups"}, {"claims_supported", "groups"}, {"id_token_signing_alg_values_supported", "RS256"},
	} {
		if !has(d, c.k, c.v) {
			t.Errorf("discovery %s lacks %s: %v", c.k, c.v, d[c.k])
		}
	}
	o.addUser("alice", "--groups", "nextcloud-users,staff", "--display-name", "Alice L.", "--mail", "alice@example.org")
	o.enrol("alice")
	secret := o.addClient("nextcloud", "--redirect-uri", rpRedirect)
	subs := map[string]bool{}
	signIn := func(o *oidcServer, scopes ...string) (map[string]any, map[string]any) {
		r := newRP(t, o, "nextcloud", secret, scopes...)
		f, code := r.signIn(newOIDCBrowser(t), "alice")
		// user_oidc posts its secret in the body.
		status, v := tokenRequest(t, r.conf.Endpoint.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}, "client_id": {"nextcloud"}, "client_secret": {secret}}, "", "")
		if status != 200 || v["token_type"] != "Bearer" {
			t.Fatalf("token (client_secret_post): %d %v", status, v)
		}
		idt, err := r.verifier.Verify(t.Context(), v["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		idt.Claims(&claims)
		_, info := r.userinfo(v["access_token"].(string))
		subs[idt.Subject] = true
		return claims, info
	}
	claims, info := signIn(o, "openid", "profile", "email", "groups")
	for _, c := range []map[string]any{claims, info} {
		if g, _ := c["groups"].([]any); len(g) != 2 || g[0] != "nextcloud-users" {
			t.Errorf("groups = %v, want [nextcloud-users staff]", c["groups"])
		}
		if c["name"] != "Alice L." || c["email"] != "alice@example.org" || c["preferred_username"] != "alice" {
			t.Errorf("name, email, preferred_username = %v %v %v", c["name"], c["email"], c["preferred_username"])
		}
	}
	claims, info = signIn(o, "openid", "profile")
	if claims["groups"] != nil || info["groups"] != nil || info["email"] != nil {
		t.Errorf("claims of scopes not asked for: %v / %v", claims, info)
	}
	prev := o
	prev.stop()
	o = startOIDCOn(t, common, "-addr", addr)
	o.keys, o.steps = prev.keys, prev.steps
	signIn(o, "openid")
	if len(subs) != 1 {
		t.Errorf("sub changed between sign-ins: %v", subs)
	}
}

// TestJupyterHubExpectations: what JupyterHub's GenericOAuthenticator
// needs with explicit URLs (authorize_url, token_url, userdata_url),
// basic_auth = False and enable_pkce = True: client_secret_post with PKCE
// S256 at the token endpoint, a Bearer token response (access_token,
// token_type, expires_in, id_token), and userinfo (GET, Authorization:
// Bearer) with preferred_username (username_claim) and groups
// (claim_groups_key, for allowed_groups); a refresh with offline_access
// for refresh_user.
func TestJupyterHubExpectations(t *testing.T) {
	o := startOIDC(t)
	o.addUser("jhuser", "--groups", "jupyter")
	secret := o.addClient("jupyterhub", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "jupyterhub", secret, "openid", "profile", "groups", "offline_access")
	f, code := r.signIn(newOIDCBrowser(t), "jhuser")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect},
		"code_verifier": {f.verifier}, "client_id": {"jupyterhub"}, "client_secret": {secret}}
	status, v := tokenRequest(t, o.url+"/oidc/token", form, "", "")
	if status != 200 || v["access_token"] == nil || v["token_type"] != "Bearer" || v["id_token"] == nil || v["refresh_token"] == nil {
		t.Fatalf("token response = %d %v", status, v)
	}
	if e, _ := v["expires_in"].(float64); e < 500 || e > 600 {
		t.Errorf("expires_in = %v, want about 600 (-oidc-token-ttl 10m)", v["expires_in"])
	}
	status, info := r.userinfo(v["access_token"].(string))
	if g, _ := info["groups"].([]any); status != 200 || info["preferred_username"] != "jhuser" || len(g) != 1 || g[0] != "jupyter" {
		t.Errorf("userinfo = %d %v, want preferred_username jhuser and groups [jupyter]", status, info)
	}
	status, v = tokenRequest(t, o.url+"/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {v["refresh_token"].(string)},
		"client_id": {"jupyterhub"}, "client_secret": {secret}}, "", "")
	if status != 200 || v["access_token"] == nil {
		t.Errorf("refresh with client_secret_post: %d %v", status, v)
	}
	// The same code without PKCE's verifier is refused: the check is real.
	_, code = r.signIn(newOIDCBrowser(t), "jhuser")
	form.Set("code", code)
	form.Del("code_verifier")
	if status, v := tokenRequest(t, o.url+"/oidc/token", form, "", ""); status != 400 || v["access_token"] != nil {
		t.Errorf("without the code_verifier: %d %v", status, v)
	}
}
