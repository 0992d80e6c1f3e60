package pam

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/otpgate/otpgate/internal/testenv"
)

// exampleStack installs examples/pam/NAME as a test service: pam_otpgate
// from build/ with the test server's url, cafile and token, and pam_unix
// replaced by pam_matrix with the given passwords (the test cannot know
// a real account's password). Every other line is the example's.
func exampleStack(t *testing.T, example string, s *fakeServer, passwords map[string]string) stack {
	t.Helper()
	_, helper := built(t)
	if _, err := os.Stat(pamMatrix); err != nil {
		testenv.SkipOrFail(t, "%s missing (libpam-wrapper)", pamMatrix)
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", "pam", example))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "passdb")
	text := strings.NewReplacer(
		"pam_otpgate.so", "MODULE helper="+helper,
		"url=https://otp.example.org", "url="+s.URL,
		"cafile=/etc/otpgate/ca.pem", "cafile="+s.ca.pemFile,
		"tokenfile=/etc/otpgate/host.token", "tokenfile="+writeToken(t, s.token),
		"pam_unix.so", pamMatrix+" passdb="+db,
	).Replace(string(b))
	st := newStack(t, strings.Split(strings.TrimSpace(text), "\n")...)
	var passdb strings.Builder
	for user, pw := range passwords {
		fmt.Fprintf(&passdb, "%s:%s:%s\n", user, pw, st.name)
	}
	if err := os.WriteFile(db, []byte(passdb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLoginExample: examples/pam/login through pamtester, the password
// then the code on the terminal, and the account phase.
func TestLoginExample(t *testing.T) {
	s := newFakeServer(t)
	key := s.addUser(t, "alice", true)
	s.addUser(t, "carol", true)
	s.disable("carol")
	st := exampleStack(t, "login", s, map[string]string{"alice": "alice-pw", "carol": "carol-pw"})
	code := key.TOTP(time.Now())
	pamtester(t, st, "alice", "alice-pw\n"+code+"\n", "authenticate", "acct_mgmt").check(t, "password and code", true, accountOK)
	pamtester(t, st, "alice", "alice-pw\n"+code+"\n").check(t, "replayed code", false, authErr)
	pamtester(t, st, "alice", "wrong\n"+key.TOTP(time.Now().Add(30*time.Second))+"\n").check(t, "wrong password", false, authErr)
	pamtester(t, st, "carol", "carol-pw\n", "acct_mgmt").check(t, "disabled user, account phase", false, permDenied)
}

// TestSSHD: Debian's sshd, started from a symlink named for a PAM service
// of the test's (examples/pam/sshd) with examples/pam/sshd_config, on a
// loopback port; golang.org/x/crypto/ssh answers keyboard-interactive.
func TestSSHD(t *testing.T) {
	testenv.Root(t)
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		testenv.SkipOrFail(t, "sshd not installed (openssh-server)")
	}
	keygen := testenv.LookPath(t, "ssh-keygen")
	s := newFakeServer(t)
	key := s.addUser(t, "root", true)
	st := exampleStack(t, "sshd", s, map[string]string{"root": "root-pw"})

	dir := t.TempDir()
	prog := filepath.Join(dir, st.name) // sshd names its PAM service after argv[0]
	if err := os.Symlink(sshd, prog); err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	example, err := os.ReadFile("../examples/pam/sshd_config")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	config := fmt.Sprintf("ListenAddress 127.0.0.1\nPort %s\nHostKey %s\nPidFile %s\nPermitRootLogin yes\nPubkeyAuthentication no\nStrictModes no\nAuthorizedKeysFile none\nLogLevel VERBOSE\n%s",
		port, hostKey, filepath.Join(dir, "sshd.pid"), example)
	cfgFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(prog, "-D", "-e", "-f", cfgFile)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	login := func(password, code string) ([]string, error) {
		var prompts []string
		cfg := &ssh.ClientConfig{
			User:            "root",
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), // the test's own throwaway host key
			Timeout:         10 * time.Second,
			Auth: []ssh.AuthMethod{ssh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i, q := range questions {
					prompts = append(prompts, q)
					switch {
					case strings.HasPrefix(q, "Password"):
						answers[i] = password
					case q == "Verification code: " && !echos[i]:
						answers[i] = code
					}
				}
				return answers, nil
			})},
		}
		c, err := ssh.Dial("tcp", addr, cfg)
		if err != nil {
			return prompts, err
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			return prompts, err
		}
		defer sess.Close()
		out, err := sess.Output("echo logged-in")
		if err == nil && strings.TrimSpace(string(out)) != "logged-in" {
			err = fmt.Errorf("command output %q", out)
		}
		return prompts, err
	}
	code := key.TOTP(time.Now())
	prompts, err := login("root-pw", code)
	if err != nil {
		t.Fatalf("password and right code: %v (prompts %q)", err, prompts)
	}
	if len(prompts) != 2 || prompts[1] != "Verification code: " {
		t.Errorf("prompts %q, want the password's, then \"Verification code: \"", prompts)
	}
	if _, err := login("root-pw", code); err == nil {
		t.Errorf("replayed code: logged in")
	}
	if _, err := login("wrong", key.TOTP(time.Now().Add(30*time.Second))); err == nil {
		t.Errorf("wrong password: logged in")
	}
}
