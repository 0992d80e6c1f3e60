package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// oidcExamples is where the relying parties' examples are.
const oidcExamples = "../../examples/oidc"

// clientAddLine returns the arguments after "otpgate" of the one
// `otpgate client add` command in an example file, in a comment or not,
// continued over lines ending in a backslash.
func clientAddLine(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var found [][]string
	var cur []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
		if cur == nil && !strings.HasPrefix(line, "otpgate client add ") {
			continue
		}
		more := strings.HasSuffix(line, "\\")
		cur = append(cur, strings.Fields(strings.TrimSuffix(line, "\\"))...)
		if !more {
			found = append(found, cur[1:])
			cur = nil
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d otpgate client add commands, want 1", path, len(found))
	}
	return found[0]
}

// clientAdd is an `otpgate client add` command line, parsed.
type clientAdd struct {
	name                         string
	redirectURIs, postLogoutURIs []string
	backChannelLogoutURI         string
	public, requireSecondFactor  bool
}

// parseClientAdd reads the arguments clientAddLine returned.
func parseClientAdd(t *testing.T, args []string) clientAdd {
	t.Helper()
	if len(args) < 3 || args[0] != "client" || args[1] != "add" {
		t.Fatalf("not a client add command: %q", args)
	}
	c := clientAdd{name: args[2]}
	for i := 3; i < len(args); i++ {
		next := func() string {
			t.Helper()
			if i+1 >= len(args) {
				t.Fatalf("%s without a value in %q", args[i], args)
			}
			i++
			return args[i]
		}
		switch args[i] {
		case "--redirect-uri":
			c.redirectURIs = append(c.redirectURIs, next())
		case "--post-logout-redirect-uri":
			c.postLogoutURIs = append(c.postLogoutURIs, next())
		case "--backchannel-logout-uri":
			c.backChannelLogoutURI = next()
		case "--public":
			c.public = true
		case "--require-second-factor":
			c.requireSecondFactor = true
		default:
			t.Fatalf("unknown argument %q in %q", args[i], args)
		}
	}
	return c
}

// directive returns the value of the one Apache directive name in conf.
func directive(t *testing.T, conf, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*`+name+`\s+"?([^"\n]*?)"?\s*$`).FindAllStringSubmatch(conf, -1)
	if len(m) != 1 {
		t.Fatalf("examples/oidc/apache: %d %s directives, want 1", len(m), name)
	}
	return m[0][1]
}

// TestOIDCExamplesAgree checks that each example's relying-party settings
// are the ones its `otpgate client add` line registers: the client ID, the
// redirect URI and the page after sign-out, each compared exactly, as the
// provider compares them.
func TestOIDCExamplesAgree(t *testing.T) {
	t.Run("apache", func(t *testing.T) {
		add := parseClientAdd(t, clientAddLine(t, filepath.Join(oidcExamples, "apache", "otpgate-app.conf")))
		b, err := os.ReadFile(filepath.Join(oidcExamples, "apache", "otpgate-app.conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := string(b)
		page, err := os.ReadFile(filepath.Join(oidcExamples, "apache", "www", "index.shtml"))
		if err != nil {
			t.Fatal(err)
		}
		redirect := directive(t, conf, "OIDCRedirectURI")
		m := regexp.MustCompile(`href="([^"]*\?logout=[^"]*)"`).FindStringSubmatch(string(page))
		if m == nil {
			t.Fatal("index.shtml has no logout link")
		}
		logout, err := url.Parse(m[1])
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct{ what, got, want string }{
			{"OIDCClientID", directive(t, conf, "OIDCClientID"), add.name},
			{"OIDCRedirectURI", redirect, one(add.redirectURIs)},
			{"the logout link's path", "https://app.example.org" + logout.Path, redirect},
			{"the logout link's page", logout.Query().Get("logout"), one(add.postLogoutURIs)},
			{"OIDCDefaultLoggedOutURL", directive(t, conf, "OIDCDefaultLoggedOutURL"), one(add.postLogoutURIs)},
			{"OIDCScope", directive(t, conf, "OIDCScope"), "openid profile email groups"},
			{"OIDCPKCEMethod", directive(t, conf, "OIDCPKCEMethod"), "S256"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
	})
	t.Run("nextcloud", func(t *testing.T) {
		path := filepath.Join(oidcExamples, "nextcloud", "setup.sh")
		add := parseClientAdd(t, clientAddLine(t, path))
		if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
			t.Fatalf("sh -n %s: %v\n%s", path, err, out)
		}
		opts := occOptions(t, path)
		checks := []struct{ what, got, want string }{
			{"--clientid", opts["clientid"], add.name},
			{"--postlogouturi", opts["postlogouturi"], one(add.postLogoutURIs)},
			{"the redirect URI", one(add.redirectURIs), "https://cloud.example.org/apps/user_oidc/code"},
			{"the back-channel logout URI", add.backChannelLogoutURI,
				"https://cloud.example.org/apps/user_oidc/backchannel-logout/" + opts["identifier"]},
			{"--discoveryuri", opts["discoveryuri"], "https://auth.example.org/.well-known/openid-configuration"},
			{"--scope", opts["scope"], "openid profile email groups"},
			{"--mapping-groups", opts["mapping-groups"], "groups"},
			{"--mapping-uid", opts["mapping-uid"], "preferred_username"},
			{"--group-provisioning", opts["group-provisioning"], "1"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
		if !add.requireSecondFactor {
			t.Error("Nextcloud asks no second factor of its own after OIDC: its client must require otpgate's")
		}
	})
	t.Run("jupyterhub", func(t *testing.T) {
		path := filepath.Join(oidcExamples, "jupyterhub", "jupyterhub_config.py")
		add := parseClientAdd(t, clientAddLine(t, path))
		hub := jupyterHubSettings(t, path)
		logout, err := url.Parse(hub.LogoutRedirectURL)
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct{ what, got, want string }{
			{"client_id", hub.ClientID, add.name},
			{"oauth_callback_url", hub.OAuthCallbackURL, one(add.redirectURIs)},
			{"logout_redirect_url's client_id", logout.Query().Get("client_id"), add.name},
			{"logout_redirect_url's post_logout_redirect_uri", logout.Query().Get("post_logout_redirect_uri"), one(add.postLogoutURIs)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
	})
}

// one returns the only element of s, or a note that there is not one.
func one(s []string) string {
	if len(s) != 1 {
		return "(" + strings.Join(s, ", ") + ")"
	}
	return s[0]
}

// occOptions returns the options of the `occ user_oidc:provider` command
// in the Nextcloud example, and its identifier argument.
func occOptions(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^\$OCC user_oidc:provider (.*)$`).FindAllStringSubmatch(s, -1)
	if len(m) != 1 {
		t.Fatalf("%s: %d occ user_oidc:provider commands, want 1", path, len(m))
	}
	opts := map[string]string{}
	for _, f := range regexp.MustCompile(`--([a-z-]+)=("[^"]*"|\S+)|(\S+)`).FindAllStringSubmatch(m[0][1], -1) {
		if f[3] != "" {
			opts["identifier"] = f[3]
			continue
		}
		opts[f[1]] = strings.Trim(f[2], `"`)
	}
	return opts
}

// jupyterHub holds the GenericOAuthenticator settings of the JupyterHub
// example, as the file sets them when run.
type jupyterHub struct {
	AuthenticatorClass string   `json:"authenticator_class"`
	ClientID           string   `json:"client_id"`
	OAuthCallbackURL   string   `json:"oauth_callback_url"`
	AuthorizeURL       string   `json:"authorize_url"`
	TokenURL           string   `json:"token_url"`
	UserdataURL        string   `json:"userdata_url"`
	BasicAuth          *bool    `json:"basic_auth"`
	EnablePKCE         *bool    `json:"enable_pkce"`
	Scope              []string `json:"scope"`
	UsernameClaim      string   `json:"username_claim"`
	ManageGroups       *bool    `json:"manage_groups"`
	GroupsKey          string   `json:"auth_state_groups_key"`
	AllowedGroups      []string `json:"allowed_groups"`
	LogoutRedirectURL  string   `json:"logout_redirect_url"`
}

// jupyterHubSettings runs the example as JupyterHub would (with a
// traitlets Config as c) and returns what it set.
func jupyterHubSettings(t *testing.T, path string) jupyterHub {
	t.Helper()
	py := testenv.Python(t, "traitlets")
	const script = `import json, sys
from traitlets.config import Config
c = Config()
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), {"get_config": lambda: c})
out = {k: sorted(v) if isinstance(v, set) else v for k, v in c.GenericOAuthenticator.items()}
out["authenticator_class"] = c.JupyterHub.authenticator_class
json.dump(out, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	var hub jupyterHub
	if err := json.Unmarshal(out, &hub); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, out)
	}
	return hub
}

// discoveryDoc is the part of the discovery document the examples rely on.
type discoveryDoc struct {
	Issuer             string   `json:"issuer"`
	Authorization      string   `json:"authorization_endpoint"`
	Token              string   `json:"token_endpoint"`
	Userinfo           string   `json:"userinfo_endpoint"`
	EndSession         string   `json:"end_session_endpoint"`
	Scopes             []string `json:"scopes_supported"`
	Claims             []string `json:"claims_supported"`
	TokenAuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallenge      []string `json:"code_challenge_methods_supported"`
	BackChannelLogout  bool     `json:"backchannel_logout_supported"`
	BackChannelSession bool     `json:"backchannel_logout_session_supported"`
}

// TestOIDCExamplesDiscovery runs otpgate with the examples' issuer,
// https://auth.example.org, and checks each example against its discovery
// document: the endpoints written out where the relying party does not
// read discovery (JupyterHub), and what each one needs the provider to
// support (scopes, claims, token endpoint authentication, PKCE S256).
func TestOIDCExamplesDiscovery(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "-base-url", "https://auth.example.org")
	defer s.stop()
	resp, err := http.Get(s.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d discoveryDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("discovery: %s, %v", resp.Status, err)
	}
	const discoveryURL = "https://auth.example.org/.well-known/openid-configuration"
	supports := func(t *testing.T, what string, list []string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !slices.Contains(list, w) {
				t.Errorf("the discovery document's %s %q lack %q", what, list, w)
			}
		}
	}
	needs := func(t *testing.T, scopes []string, claims []string, auth string) {
		t.Helper()
		supports(t, "scopes", d.Scopes, scopes...)
		supports(t, "claims", d.Claims, claims...)
		supports(t, "token endpoint methods", d.TokenAuthMethods, auth)
		supports(t, "code challenge methods", d.CodeChallenge, "S256")
	}

	t.Run("apache", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(apacheExample, "otpgate-app.conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := string(b)
		if u := directive(t, conf, "OIDCProviderMetadataURL"); u != discoveryURL {
			t.Errorf("OIDCProviderMetadataURL = %q, want %q", u, discoveryURL)
		}
		// The pages show these claims; the module's default token
		// endpoint authentication is client_secret_basic.
		needs(t, strings.Fields(directive(t, conf, "OIDCScope")),
			[]string{"preferred_username", "name", "email", "groups", "amr", "acr"}, "client_secret_basic")
		if d.EndSession == "" {
			t.Error("no end_session_endpoint: the example's sign-out would not reach otpgate")
		}
	})
	t.Run("nextcloud", func(t *testing.T) {
		opts := occOptions(t, filepath.Join(oidcExamples, "nextcloud", "setup.sh"))
		if opts["discoveryuri"] != discoveryURL {
			t.Errorf("--discoveryuri = %q, want %q", opts["discoveryuri"], discoveryURL)
		}
		// user_oidc uses PKCE only when the document lists S256, and
		// client_secret_post when it is listed.
		needs(t, strings.Fields(opts["scope"]), []string{opts["mapping-uid"], opts["mapping-display-name"],
			opts["mapping-email"], opts["mapping-groups"]}, "client_secret_post")
		if !d.BackChannelLogout || !d.BackChannelSession {
			t.Error("back-channel logout (with sid) not supported: user_oidc's back-channel logout URI would never be called")
		}
	})
	t.Run("jupyterhub", func(t *testing.T) {
		hub := jupyterHubSettings(t, filepath.Join(oidcExamples, "jupyterhub", "jupyterhub_config.py"))
		logout, _, _ := strings.Cut(hub.LogoutRedirectURL, "?")
		for _, c := range []struct{ what, got, want string }{
			{"authenticator_class", hub.AuthenticatorClass, "generic-oauth"},
			{"authorize_url", hub.AuthorizeURL, d.Authorization},
			{"token_url", hub.TokenURL, d.Token},
			{"userdata_url", hub.UserdataURL, d.Userinfo},
			{"logout_redirect_url", logout, d.EndSession},
			{"username_claim", hub.UsernameClaim, "preferred_username"},
			{"auth_state_groups_key", hub.GroupsKey, "oauth_user.groups"},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
		// basic_auth off is client_secret_post; the groups come from the
		// userinfo answer, so manage_groups must be on for allowed_groups.
		if hub.BasicAuth == nil || *hub.BasicAuth || hub.EnablePKCE == nil || !*hub.EnablePKCE ||
			hub.ManageGroups == nil || !*hub.ManageGroups || len(hub.AllowedGroups) == 0 {
			t.Errorf("basic_auth %v, enable_pkce %v, manage_groups %v, allowed_groups %q: want off, on, on, some",
				hub.BasicAuth, hub.EnablePKCE, hub.ManageGroups, hub.AllowedGroups)
		}
		needs(t, hub.Scope, []string{hub.UsernameClaim, "groups"}, "client_secret_post")
	})
}

// TestOIDCExamplesRegister runs each example's `otpgate client add` line
// with the real command: otpgate takes every one, and lists them.
func TestOIDCExamplesRegister(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	files := map[string]string{
		"app":        filepath.Join(apacheExample, "otpgate-app.conf"),
		"nextcloud":  filepath.Join(oidcExamples, "nextcloud", "setup.sh"),
		"jupyterhub": filepath.Join(oidcExamples, "jupyterhub", "jupyterhub_config.py"),
	}
	for name, path := range files {
		var out, errb bytes.Buffer
		args := append(clientAddLine(t, path), "-data-dir", dir)
		if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("otpgate %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		if !regexp.MustCompile(`(?m)^client_id:\s+` + name + `\nclient_secret:\s+\S{43}$`).MatchString(out.String()) {
			t.Errorf("client add %s printed:\n%s", name, out.String())
		}
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"client", "list", "-data-dir", dir}, func(string) string { return "" },
		strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("client list: %v\n%s", err, errb.String())
	}
	for name := range files {
		if !regexp.MustCompile(`(?m)^` + name + `\s+confidential\s+yes\s`).MatchString(out.String()) {
			t.Errorf("client list lacks %s, confidential, second factor required:\n%s", name, out.String())
		}
	}
}
