package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/otpgate/otpgate/internal/api"
)

func main() {
	ans := run(context.Background(), os.Args[1:], os.Stdin, os.Geteuid())
	os.Stdout.WriteString(ans.Line())
}

// config is the helper's command line.
type config struct {
	URL       *url.URL
	CAFile    string
	TokenFile string
	Timeout   time.Duration
}

// run reads one request from stdin, asks the server and returns the one
// answer to write. It never fails without an answer.
func run(ctx context.Context, args []string, stdin io.Reader, euid int) answer {
	fs := flag.NewFlagSet("otpgate-pam-client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rawURL := fs.String("url", "", "the otpgate server, https:// (http:// only to a loopback address)")
	caFile := fs.String("cafile", "", "PEM CA certificates to trust instead of the system's")
	tokenFile := fs.String("tokenfile", "", "the host token file (mode 0600, owned by root when run as root)")
	timeout := fs.Duration("timeout", 2500*time.Millisecond, "deadline for the whole server call")
	if err := fs.Parse(args); err != nil {
		return unavailable("helper arguments: %v", err)
	}
	if fs.NArg() > 0 {
		return unavailable("helper arguments: unexpected %q", fs.Arg(0))
	}
	cfg := config{CAFile: *caFile, TokenFile: *tokenFile, Timeout: *timeout}
	u, err := checkURL(*rawURL)
	if err != nil {
		return unavailable("%v", err)
	}
	cfg.URL = u
	if cfg.Timeout <= 0 || cfg.Timeout > time.Minute {
		return unavailable("timeout %v out of range", cfg.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	req, err := readRequest(stdin)
	if err != nil {
		return answer{Result: resultInvalid, Message: err.Error()}
	}
	if err := req.check(); err != nil {
		return answer{Result: resultInvalid, Message: err.Error()}
	}
	token, err := readToken(cfg.TokenFile, euid)
	if err != nil {
		return unavailable("%v", err)
	}
	client, err := newClient(cfg)
	if err != nil {
		return unavailable("%v", err)
	}
	return call(ctx, client, cfg, token, req)
}

// checkURL accepts https://, and http:// only to a loopback address (the
// host token must not cross a network in clear).
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no url= argument")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("url=%q is not a plain server URL", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("url=%q: http:// only to a loopback address; use https://", raw)
		}
	default:
		return nil, fmt.Errorf("url=%q: scheme must be https", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// readToken reads the host token. The file must not be readable by group
// or others, and when the helper runs as root it must be owned by root.
func readToken(path string, euid int) (string, error) {
	if path == "" {
		return "", errors.New("no tokenfile= argument")
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", fmt.Errorf("token file: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is mode %04o; want no access for group and others (0600)", path, fi.Mode().Perm())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("token file %s: no owner", path)
	}
	if int(st.Uid) != euid && (euid == 0 || st.Uid != 0) {
		return "", fmt.Errorf("token file %s is owned by uid %d; want uid %d", path, st.Uid, euid)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", fmt.Errorf("token file: %v", err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("token file %s longer than 4096 bytes", path)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	for _, c := range []byte(tok) {
		if c <= ' ' || c > '~' {
			return "", fmt.Errorf("token file %s: the token has a byte that is not printable ASCII", path)
		}
	}
	return tok, nil
}

func newClient(cfg config) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cafile: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cafile %s has no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // never a proxy from the environment
			TLSClientConfig:     tc,
			DialContext:         (&net.Dialer{}).DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: cfg.Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// call posts req to the endpoint for its op and maps the answer.
func call(ctx context.Context, client *http.Client, cfg config, token string, req request) answer {
	var body any
	path := "/api/v1/pam/authenticate"
	if req.Op == "account" {
		path = "/api/v1/pam/account"
		body = api.PAMAccountRequest{User: req.User, Service: req.Service, RHost: req.RHost, TTY: req.TTY}
	} else {
		a := api.PAMRequest{User: req.User, Code: req.Code, Service: req.Service, RHost: req.RHost, TTY: req.TTY}
		if req.HasPassword {
			a.Password = &req.Password
		}
		body = a
	}
	b, err := json.Marshal(body)
	if err != nil {
		return unavailable("encoding the request: %v", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL.String()+path, bytes.NewReader(b))
	if err != nil {
		return unavailable("request: %v", err)
	}
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "otpgate-pam-client/1")
	resp, err := client.Do(hr)
	if err != nil {
		return unavailable("%s", describe(err, cfg))
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return unavailable("reading the answer: %s", describe(err, cfg))
	}
	return parseAnswer(req.Op, resp.StatusCode, rb)
}

// describe says why a call failed, in words for the log line.
func describe(err error, cfg config) string {
	var cert x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return fmt.Sprintf("server %s did not answer within %v", cfg.URL.Host, cfg.Timeout)
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &inv), errors.As(err, &verify):
		return fmt.Sprintf("bad certificate from %s: %v", cfg.URL.Host, errors.Unwrap(err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("server %s refused the connection (down?)", cfg.URL.Host)
	}
	return fmt.Sprintf("server %s: %v", cfg.URL.Host, err)
}
