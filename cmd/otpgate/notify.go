package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/notify"
)

// notifySettings configure the notification mails, and hold the sender
// of a running server.
type notifySettings struct {
	Addr         string
	From         string
	User         string
	PasswordFile string
	Security     string
	CAFile       string
	// on is set by serve: the other commands send no mail (they end
	// before it would go out).
	on       bool
	password string
	roots    *x509.CertPool
	n        *notify.Notifier
}

func notifyFlags(fs *flag.FlagSet, s *notifySettings) {
	fs.StringVar(&s.Addr, "smtp-addr", "", "`host:port` of the SMTP server (submission, e.g. smtp.example.org:587) for mails to users about changes to their second factor; empty means no mail")
	fs.StringVar(&s.From, "smtp-from", "", "sender `address` of the notification mails")
	fs.StringVar(&s.User, "smtp-user", "", "SMTP user `name` for AUTH PLAIN (over TLS); empty means no authentication")
	fs.StringVar(&s.PasswordFile, "smtp-password-file", "", "`file` holding the SMTP password (mode 0600 or 0640)")
	fs.StringVar(&s.CAFile, "smtp-ca-file", "", "`file` of PEM certificates that verify the SMTP server's, instead of the system's")
	fs.StringVar(&s.Security, "smtp-security", string(notify.StartTLS), "starttls (required) or none (plain text: only for a relay on this host)")
}

func (s *notifySettings) validate() []error {
	if s.Addr == "" {
		return nil
	}
	var errs []error
	if mfa.ValidateMail(s.From) != nil || s.From == "" {
		errs = append(errs, fmt.Errorf("smtp-from %q: want the sender's e-mail address", s.From))
	}
	if s.Security != string(notify.StartTLS) && s.Security != string(notify.Plain) {
		errs = append(errs, fmt.Errorf("smtp-security %q: starttls or none", s.Security))
	}
	if s.PasswordFile != "" {
		st, err := os.Stat(s.PasswordFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("smtp-password-file: %w", err))
		case st.Mode().Perm()&0o007 != 0:
			errs = append(errs, fmt.Errorf("smtp-password-file %s: mode %v, want no access for others", s.PasswordFile, st.Mode().Perm()))
		default:
			b, err := os.ReadFile(s.PasswordFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("smtp-password-file: %w", err))
			}
			s.password = strings.TrimRight(string(b), "\r\n")
		}
	}
	if s.CAFile != "" {
		b, err := os.ReadFile(s.CAFile)
		s.roots = x509.NewCertPool()
		if err != nil {
			errs = append(errs, fmt.Errorf("smtp-ca-file: %w", err))
		} else if !s.roots.AppendCertsFromPEM(b) {
			errs = append(errs, fmt.Errorf("smtp-ca-file %s: no PEM certificate in it", s.CAFile))
		}
	}
	if s.User == "" && s.PasswordFile != "" {
		errs = append(errs, errors.New("smtp-password-file without smtp-user"))
	}
	return errs
}

// events returns the Events hook: log, and mail the user when on.
func (s *notifySettings) events(log *slog.Logger, issuer string, logged func(context.Context, mfa.Event)) func(context.Context, mfa.Event) {
	if !s.on || s.Addr == "" {
		return logged
	}
	n, err := notify.New(log, notify.Options{Addr: s.Addr, From: s.From, Username: s.User, Password: s.password,
		Security: notify.Security(s.Security), RootCAs: s.roots, Issuer: issuer})
	if err != nil {
		log.Error("notifications off", "err", err)
		return logged
	}
	s.n = n
	return func(ctx context.Context, e mfa.Event) {
		logged(ctx, e)
		n.Event(ctx, e)
	}
}

func (s *notifySettings) close() {
	if s.n != nil {
		s.n.Close()
	}
}
