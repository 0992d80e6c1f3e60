package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/notify"
	"github.com/otpgate/otpgate/internal/notify/smtptest"
)

// TestDelivery sends every kind of notification through a real SMTP
// server with STARTTLS and AUTH, and checks recipient and text.
func TestDelivery(t *testing.T) {
	s := smtptest.Start(t, "otpgate", "smtp secret")
	n, err := notify.New(slog.New(slog.NewTextHandler(io.Discard, nil)), notify.Options{Addr: s.Addr, From: "otpgate@example.org",
		Username: "otpgate", Password: "smtp secret", RootCAs: s.Roots, Issuer: "Centre"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ann := mfa.User{Name: "ann", Mail: "ann@example.org"}
	events := []struct {
		e    mfa.Event
		text string
	}{
		{mfa.Event{Kind: mfa.EventFactorAdded, User: ann, Addr: "192.0.2.7"}, "A second factor (TOTP) was set up for your Centre account ann from 192.0.2.7."},
		{mfa.Event{Kind: mfa.EventFactorRemoved, User: ann}, "The second factor of your Centre account ann was removed."},
		{mfa.Event{Kind: mfa.EventFactorReset, User: ann}, "An administrator removed the second factor of your Centre account ann"},
		{mfa.Event{Kind: mfa.EventRecoveryCodeUsed, User: ann, Count: 3}, "A recovery code of your Centre account ann was used to sign in; 3 left."},
		{mfa.Event{Kind: mfa.EventRecoveryCodesLow, User: ann, Count: 3}, "has 3 recovery codes left"},
		{mfa.Event{Kind: mfa.EventCodeFailures, User: ann, Count: 3, Addr: "203.0.113.9"}, "a wrong verification code 3 times from 203.0.113.9"},
	}
	for _, ev := range events {
		n.Event(context.Background(), ev.e)
	}
	// A user without an address gets nothing.
	n.Event(context.Background(), mfa.Event{Kind: mfa.EventFactorAdded, User: mfa.User{Name: "bob"}})
	mails := s.Wait(t, len(events))
	for i, ev := range events {
		m := mails[i]
		if len(m.To) != 1 || m.To[0] != "ann@example.org" || m.From != "otpgate@example.org" {
			t.Errorf("mail %d: from %q to %v, want otpgate@example.org to ann@example.org", i, m.From, m.To)
		}
		if !strings.Contains(m.Data, ev.text) || !strings.Contains(m.Data, "To: ann@example.org") || !strings.Contains(m.Data, "Subject: Centre: ") {
			t.Errorf("mail %d (%s) lacks %q or its headers:\n%s", i, ev.e.Kind, ev.text, m.Data)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got := len(s.Wait(t, len(events))); got != len(events) {
		t.Errorf("%d mails, want %d (none for a user without an address)", got, len(events))
	}
}

// TestDeliveryFailures: a wrong password, a server that answers garbage
// and one that is down are logged with a clear message and retried; a
// plain server is refused when STARTTLS is required; Event never blocks.
func TestDeliveryFailures(t *testing.T) {
	s := smtptest.Start(t, "otpgate", "smtp secret")
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
			c.Close()
		}
	}()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	tests := []struct {
		name     string
		o        notify.Options
		wantLogs []string
	}{
		{"wrong password", notify.Options{Addr: s.Addr, Username: "otpgate", Password: "wrong", RootCAs: s.Roots}, []string{"smtp: authentication"}},
		{"garbage", notify.Options{Addr: garbage.Addr().String()}, []string{"smtp: the server's greeting"}},
		{"down", notify.Options{Addr: downAddr}, []string{"connection refused"}},
		{"untrusted certificate", notify.Options{Addr: s.Addr, Username: "otpgate", Password: "smtp secret"}, []string{"smtp: STARTTLS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuf
			tc.o.From, tc.o.Attempts, tc.o.Backoff, tc.o.Timeout = "otpgate@example.org", 2, 10*time.Millisecond, 5*time.Second
			n, err := notify.New(slog.New(slog.NewTextHandler(&logs, nil)), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			start := time.Now()
			n.Event(context.Background(), mfa.Event{Kind: mfa.EventFactorAdded, User: mfa.User{Name: "ann", Mail: "ann@example.org"}})
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("Event took %v, want no wait", d)
			}
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(logs.String(), "giving up") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			out := logs.String()
			for _, w := range append(tc.wantLogs, "will retry", "attempt=1", "giving up", "attempts=2") {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "smtp secret") {
				t.Errorf("the log holds the SMTP password:\n%s", out)
			}
			if n.Sent() != 0 {
				t.Errorf("Sent() = %d, want 0", n.Sent())
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
