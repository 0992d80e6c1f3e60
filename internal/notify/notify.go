// Package notify tells users by e-mail of changes to their account's
// second factor (mfa.Event): set up, removed, reset by an administrator,
// a recovery code used, few recovery codes left, and wrong codes given
// after the right password. Mail goes over SMTP with STARTTLS (required
// by default) and, when configured, authentication, from one goroutine
// with a bounded queue: a sign-in never waits for it, and a failed
// delivery is logged and retried with growing delays.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Security is how the connection to the SMTP server is protected.
type Security string

// The kinds of Security.
const (
	// StartTLS upgrades the connection with STARTTLS, and refuses a server
	// that does not offer it (the default).
	StartTLS Security = "starttls"
	// Plain sends in the clear: only for a relay on the same host.
	Plain Security = "none"
)

// Options configure a Notifier; zero fields take the defaults named.
type Options struct {
	// Addr is the SMTP server's host:port (submission, usually port 587).
	Addr string
	// From is the sender's address.
	From string
	// Username and Password, when Username is set, authenticate (AUTH
	// PLAIN, only over TLS or to localhost).
	Username, Password string
	// Security is StartTLS (default) or Plain.
	Security Security
	// RootCAs verify the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// Issuer names the site in the mails; empty means "otpgate".
	Issuer string
	// Attempts is how many times a mail is tried; zero means 5.
	Attempts int
	// Backoff is the wait before the first retry, doubled for each
	// further one; zero means 30 seconds.
	Backoff time.Duration
	// Queue is how many mails may wait; one more is dropped and logged.
	// Zero means 1000.
	Queue int
	// Timeout bounds one delivery; zero means 30 seconds.
	Timeout time.Duration
}

// Notifier sends the mails.
type Notifier struct {
	log   *slog.Logger
	o     Options
	host  string
	queue chan job
	wg    sync.WaitGroup
	stop  chan struct{}
	once  sync.Once
	// sent counts delivered mails, for tests.
	mu   sync.Mutex
	sent int
}

type job struct {
	to, subject, body string
	attempt           int
}

// New checks o and starts the sender; Close stops it.
func New(log *slog.Logger, o Options) (*Notifier, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp address %q: want host:port", o.Addr)
	}
	if err := mfa.ValidateMail(o.From); err != nil || o.From == "" {
		return nil, fmt.Errorf("notify: sender %q is not an e-mail address", o.From)
	}
	if o.Security == "" {
		o.Security = StartTLS
	}
	if o.Security != StartTLS && o.Security != Plain {
		return nil, fmt.Errorf("notify: smtp security %q: want starttls or none", o.Security)
	}
	if o.Issuer == "" {
		o.Issuer = "otpgate"
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	n := &Notifier{log: log, o: o, host: host, queue: make(chan job, o.Queue), stop: make(chan struct{})}
	n.wg.Add(1)
	go n.run()
	return n, nil
}

// Event queues the mail of e to its user, when the user has an address
// (mfa.Deps.Events). It never blocks.
func (n *Notifier) Event(_ context.Context, e mfa.Event) {
	subject, body, ok := n.message(e)
	if !ok {
		return
	}
	if e.User.Mail == "" || mfa.ValidateMail(e.User.Mail) != nil {
		n.log.Debug("notify: no mail address", "user", e.User.Name, "event", e.Kind.String())
		return
	}
	n.enqueue(job{to: e.User.Mail, subject: subject, body: body})
}

func (n *Notifier) enqueue(j job) {
	select {
	case <-n.stop:
		return
	default:
	}
	select {
	case n.queue <- j:
	default:
		n.log.Error("notify: queue full, mail dropped", "to", j.to, "subject", j.subject)
	}
}

// message is the subject and text of e's mail; false for a kind not
// mailed.
func (n *Notifier) message(e mfa.Event) (subject, body string, ok bool) {
	who := e.User.Name
	from := ""
	if e.Addr != "" {
		from = " from " + e.Addr
	}
	notMe := "\n\nIf this was not you, tell your administrator at once."
	switch e.Kind {
	case mfa.EventFactorAdded:
		return "A second factor was set up for your account", fmt.Sprintf("A second factor (TOTP) was set up for your %s account %s%s.", n.o.Issuer, who, from) + notMe, true
	case mfa.EventFactorRemoved:
		return "The second factor of your account was removed", fmt.Sprintf("The second factor of your %s account %s was removed%s. Your account is now protected by its password alone.", n.o.Issuer, who, from) + notMe, true
	case mfa.EventFactorReset:
		return "An administrator reset your second factor", fmt.Sprintf("An administrator removed the second factor of your %s account %s (a lost phone, say). Set up a new one at your next sign-in.", n.o.Issuer, who) + notMe, true
	case mfa.EventRecoveryCodeUsed:
		return "A recovery code of your account was used", fmt.Sprintf("A recovery code of your %s account %s was used to sign in%s; %d left.", n.o.Issuer, who, from, e.Count) + notMe, true
	case mfa.EventRecoveryCodesLow:
		return "Few recovery codes left", fmt.Sprintf("Your %s account %s has %d recovery codes left. Make new ones in Personal settings → Security.", n.o.Issuer, who, e.Count), true
	case mfa.EventRecoveryCodesRenewed:
		return "New recovery codes for your account", fmt.Sprintf("New recovery codes were made for your %s account %s%s; the old ones no longer work.", n.o.Issuer, who, from) + notMe, true
	case mfa.EventCodeFailures:
		return "Your password was right, the code was wrong", fmt.Sprintf("Someone gave the right password of your %s account %s and then a wrong verification code %d times%s since your last sign-in. If that was not you, someone else knows your password: change it now.", n.o.Issuer, who, e.Count, from), true
	case mfa.EventPasswordChanged:
		return "Your password was changed", fmt.Sprintf("The password of your %s account %s was changed%s.", n.o.Issuer, who, from) + notMe, true
	}
	return "", "", false
}

func (n *Notifier) run() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case j := <-n.queue:
			err := n.send(j)
			if err == nil {
				n.mu.Lock()
				n.sent++
				n.mu.Unlock()
				continue
			}
			j.attempt++
			if j.attempt >= n.o.Attempts {
				n.log.Error("notify: mail not delivered, giving up", "to", j.to, "subject", j.subject, "attempts", j.attempt, "err", err)
				continue
			}
			wait := n.o.Backoff << (j.attempt - 1)
			n.log.Warn("notify: mail not delivered, will retry", "to", j.to, "subject", j.subject, "attempt", j.attempt, "retry_in", wait.String(), "err", err)
			time.AfterFunc(wait, func() { n.enqueue(j) })
		}
	}
}

// Sent counts the mails delivered.
func (n *Notifier) Sent() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent
}

// Close stops the sender; mails still queued or waiting for a retry are
// dropped.
func (n *Notifier) Close() {
	n.once.Do(func() { close(n.stop) })
	n.wg.Wait()
}

// send delivers one mail.
func (n *Notifier) send(j job) error {
	conn, err := net.DialTimeout("tcp", n.o.Addr, n.o.Timeout)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(n.o.Timeout))
	c, err := smtp.NewClient(conn, n.host)
	if err != nil {
		return fmt.Errorf("smtp: the server's greeting: %w", err)
	}
	defer c.Close()
	if n.o.Security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp: the server offers no STARTTLS (set the security to none only for a relay on this host)")
		}
		if err := c.StartTLS(&tls.Config{ServerName: n.host, RootCAs: n.o.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if n.o.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.o.Username, n.o.Password, n.host)); err != nil {
			return fmt.Errorf("smtp: authentication: %w", err)
		}
	}
	if err := c.Mail(n.o.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(j.to); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write([]byte(n.format(j))); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of DATA: %w", err)
	}
	return c.Quit()
}

// format is the message: headers and text, CRLF line ends.
func (n *Notifier) format(j job) string {
	id := make([]byte, 12)
	rand.Read(id)
	_, domain, _ := strings.Cut(n.o.From, "@")
	var b strings.Builder
	for _, h := range [][2]string{
		{"From", n.o.Issuer + " <" + n.o.From + ">"}, {"To", j.to}, {"Subject", n.o.Issuer + ": " + j.subject},
		{"Date", time.Now().Format(time.RFC1123Z)}, {"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"}, {"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "8bit"},
		{"Auto-Submitted", "auto-generated"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(j.body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.String()
}
