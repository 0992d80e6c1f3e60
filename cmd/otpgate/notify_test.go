package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/internal/notify/smtptest"
	"github.com/otpgate/otpgate/otp"
)

// TestNotifications runs the server with a real SMTP server (STARTTLS and
// AUTH) started by the test: setting up TOTP and three wrong codes after
// the right password mail the user; with the SMTP server down, a sign-in
// with a recovery code still succeeds at once, and the failed mail is
// logged and retried.
func TestNotifications(t *testing.T) {
	smtp := smtptest.Start(t, "otpgate", "smtp secret")
	tmp := t.TempDir()
	pwFile := filepath.Join(tmp, "smtp.pw")
	os.WriteFile(pwFile, []byte("smtp secret\n"), 0o600)
	dir := filepath.Join(tmp, "data")
	s := startServer(t, dir, "-smtp-addr", smtp.Addr, "-smtp-from", "otpgate@example.org", "-smtp-user", "otpgate",
		"-smtp-password-file", pwFile, "-smtp-ca-file", smtp.CertFile, "-issuer", "Centre", "-throttle-code-free", "10")
	defer s.stop()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "--mail", "ann@example.org", "ann"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("ann password\n"), &out, &errb); err != nil {
		t.Fatalf("user add = %v\n%s", err, errb.String())
	}
	post := func(path string, body, into any) (int, time.Duration) {
		t.Helper()
		b, _ := json.Marshal(body)
		start := time.Now()
		r, err := http.Post(s.url+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if into != nil {
			json.NewDecoder(r.Body).Decode(into)
		}
		return r.StatusCode, time.Since(start)
	}
	var enr api.EnrolResponse
	if st, _ := post("/api/v1/enrol", api.EnrolRequest{Username: "ann", Password: "ann password"}, &enr); st != 200 {
		t.Fatalf("enrol = %d %+v", st, enr)
	}
	secret, _ := otp.DecodeSecret(enr.Key)
	key := otp.Key{Secret: secret}
	if st, _ := post("/api/v1/enrol/confirm", api.EnrolConfirmRequest{Username: "ann", ID: enr.ID, Code: key.TOTP(time.Now())}, &enr); st != 200 || len(enr.RecoveryCodes) == 0 {
		t.Fatalf("enrol confirm = %d %+v", st, enr)
	}
	for range 3 {
		post("/api/v1/verify", api.VerifyRequest{Username: "ann", Password: "ann password", OTP: "000000"}, nil)
	}
	mails := smtp.Wait(t, 2)
	for i, want := range []string{"Subject: Centre: A second factor was set up for your account", "Subject: Centre: Your password was right, the code was wrong"} {
		m := mails[i]
		if len(m.To) != 1 || m.To[0] != "ann@example.org" || !strings.Contains(m.Data, want) {
			t.Errorf("mail %d to %v, want ann@example.org with %q:\n%s", i, m.To, want, m.Data)
		}
	}
	if !strings.Contains(mails[1].Data, "a wrong verification code 3 times") {
		t.Errorf("the code failures mail does not say how many:\n%s", mails[1].Data)
	}

	smtp.Stop()
	var v api.VerifyResponse
	st, took := post("/api/v1/verify", api.VerifyRequest{Username: "ann", Password: "ann password", OTP: enr.RecoveryCodes[0]}, &v)
	if st != 200 || v.Outcome != "ok" {
		t.Fatalf("sign-in with the SMTP server down = %d %+v, want 200 ok", st, v)
	}
	if took > 2*time.Second {
		t.Errorf("sign-in with the SMTP server down took %v", took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "notify: mail not delivered, will retry") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	logText := s.log()
	if !strings.Contains(logText, "notify: mail not delivered, will retry") || !strings.Contains(logText, "connection refused") {
		t.Errorf("the failed mail is not logged with its cause:\n%s", logText)
	}
	if strings.Contains(logText, "smtp secret") {
		t.Errorf("the log holds the SMTP password")
	}
}
