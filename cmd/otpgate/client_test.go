package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// clientSecretRe finds the secret "client add" prints.
var clientSecretRe = regexp.MustCompile(`\nclient_secret: ([A-Za-z0-9_-]{43})\n`)

func TestClientCommands(t *testing.T) {
	dir := t.TempDir()
	client := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		all := append(append([]string{"client"}, args...), append([]string{"-data-dir", dir}, fastFlags...)...)
		err := run(context.Background(), all, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}
	status := func(err error) (int, string) {
		var ee exitError
		if err == nil {
			return 0, ""
		}
		if errors.As(err, &ee) {
			return ee.code, ee.msg
		}
		return -1, err.Error()
	}
	const cb = "https://cloud.example.org/apps/user_oidc/code"
	tests := []struct {
		name   string
		args   []string
		want   int
		output string // in standard output, or in the error's message
	}{
		{"add", []string{"add", "nextcloud", "--redirect-uri", cb, "--post-logout-redirect-uri", "https://cloud.example.org/",
			"--backchannel-logout-uri", "https://cloud.example.org/apps/user_oidc/backchannel-logout/otpgate", "--require-second-factor"},
			0, "client nextcloud added (confidential); its secret, shown this once (only its hash is stored):\n\nclient_id:     nextcloud\nclient_secret: "},
		{"add, two redirect URIs, flags after the name", []string{"add", "JupyterHub", "--redirect-uri", "https://hub.example.org/hub/oauth_callback",
			"--redirect-uri", "http://127.0.0.1:8000/hub/oauth_callback"}, 0, "client_id:     jupyterhub\n"},
		{"add public", []string{"add", "cli", "--public", "--redirect-uri", "http://[::1]/cb", "--redirect-uri", "com.example.cli:/cb"},
			0, "client cli added (public: no secret, the app must use PKCE)\n\nclient_id: cli\n"},
		{"add duplicate", []string{"add", "nextcloud", "--redirect-uri", cb}, 1, "a client of that name exists already"},
		{"add relative URI", []string{"add", "app", "--redirect-uri", "/cb"}, 1, `redirect URI "/cb": want an absolute URI`},
		{"add fragment", []string{"add", "app", "--redirect-uri", "https://app.example.org/cb#x"}, 1, "no fragment (#) allowed"},
		{"add http off loopback", []string{"add", "app", "--redirect-uri", "http://app.example.org/cb"}, 1, "http only on a loopback host"},
		{"add userinfo", []string{"add", "app", "--redirect-uri", "https://me@app.example.org/cb"}, 1, "no user information"},
		{"add own scheme, confidential", []string{"add", "app", "--redirect-uri", "com.example.app:/cb"}, 1, "only public clients"},
		{"add bad post-logout URI", []string{"add", "app", "--redirect-uri", cb, "--post-logout-redirect-uri", "http://app.example.org/"}, 1,
			`post-logout redirect URI "http://app.example.org/": http only on a loopback host`},
		{"add bad back-channel URI", []string{"add", "app", "--redirect-uri", cb, "--backchannel-logout-uri", "http://app.example.org/bcl"}, 1,
			"back-channel logout URI"},
		{"add bad name", []string{"add", "my app", "--redirect-uri", cb}, 1, "client name may hold only"},
		{"add no redirect URI", []string{"add", "app"}, 2, "want at least one --redirect-uri"},
		{"add no name", []string{"add", "--redirect-uri", cb}, 2, ""},
		{"add two names", []string{"add", "a", "b", "--redirect-uri", cb}, 2, ""},
		{"list with a name", []string{"list", "nextcloud"}, 2, ""},
		{"public on remove", []string{"remove", "cli", "--public"}, 2, "belong to add"},
		{"redirect URI on list", []string{"list", "--redirect-uri", cb}, 2, "belong to add"},
		{"list", []string{"list"}, 0, "NAME        TYPE          REQUIRE-SECOND-FACTOR  CREATED"},
		{"remove", []string{"remove", "cli"}, 0, "client cli removed; its tokens no longer work"},
		{"remove unknown", []string{"remove", "cli"}, 1, "no such client"},
		{"unknown action", []string{"frob"}, 2, ""},
		{"help", []string{"help"}, 0, "usage: otpgate client <action>"},
	}
	var secret string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client(tc.args...)
			code, msg := status(err)
			if code != tc.want || !strings.Contains(out+msg, tc.output) {
				t.Errorf("client %q = %q, %v, want status %d and %q", tc.args, out, err, tc.want, tc.output)
			}
			m := clientSecretRe.FindStringSubmatch(out)
			if public := strings.Contains(strings.Join(tc.args, " "), "--public"); tc.want == 0 && tc.args[0] == "add" && (m == nil) != public {
				t.Errorf("client %q = %q, want a secret on a line of its own for a confidential client only", tc.args, out)
			}
			if m != nil && secret == "" {
				secret = m[1]
			}
		})
	}
	out, _ := client("list")
	want := `^NAME +TYPE +REQUIRE-SECOND-FACTOR +CREATED +REDIRECT-URIS
jupyterhub +confidential +no +\S+ \S+ +https://hub.example.org/hub/oauth_callback http://127.0.0.1:8000/hub/oauth_callback
nextcloud +confidential +yes +\S+ \S+ +` + regexp.QuoteMeta(cb) + "\n$"
	if !regexp.MustCompile(want).MatchString(out) {
		t.Errorf("final list =\n%s", out)
	}

	// The secret is nowhere in the store's files, its SHA-256 is.
	if secret == "" {
		t.Fatal("no secret printed")
	}
	var files []byte
	for _, f := range []string{"otpgate.db", "otpgate.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	hash := sha256.Sum256([]byte(secret))
	if bytes.Contains(files, []byte(secret)) || !bytes.Contains(files, hash[:]) {
		t.Errorf("store files hold the secret in clear: %v, its SHA-256: %v; want only the hash",
			bytes.Contains(files, []byte(secret)), bytes.Contains(files, hash[:]))
	}
	if strings.Contains(out, secret) {
		t.Errorf("client list shows the secret")
	}
}
