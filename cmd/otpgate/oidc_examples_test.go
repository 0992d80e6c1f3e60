package main

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
