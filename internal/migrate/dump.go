package migrate

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// Dump is every row of a store, as a store exports it and another imports
// it (otpgate migrate-store): users keep their IDs, because sealed TOTP
// secrets are bound to them.
type Dump struct {
	Users          []mfa.User
	Authenticators []mfa.Authenticator
	RecoveryCodes  []RecoveryCode
	Sessions       []mfa.Session
	// TrustedBrowsers are the browsers users chose not to be asked for a
	// code on, by the hashes of their cookies, which keep working after
	// the move.
	TrustedBrowsers []mfa.TrustedBrowser
	SetupTokens     []SetupToken
	Throttle        []ThrottleEntry
	// Hosts are the machines registered for PAM, by the hashes of their
	// tokens, which keep working after the move.
	Hosts []mfa.Host
	// Audit is the audit log, IDs kept.
	Audit []mfa.AuditEntry
	// OIDCClients are the OpenID Connect clients, by the hashes of their
	// secrets, which keep working after the move.
	OIDCClients []oidcstate.Client
	// SigningKeys are the OpenID Connect provider's keys, sealed with the
	// secret key the target's servers use too: tokens signed before the
	// move still verify, and the next ones are signed with the same key.
	// Requests, codes and tokens are short-lived and not moved: clients
	// signed in through the provider sign in again.
	SigningKeys []oidcstate.SigningKey
	// EnforceRules are the enforcement rules set on the admin pages, IDs
	// kept.
	EnforceRules []mfa.EnforceRecord
}

// RecoveryCode is one stored recovery code: the hash only.
type RecoveryCode struct {
	UserID  int64
	Hash    []byte
	Created time.Time
	// Used is when the code was used; zero means unused.
	Used time.Time
}

// SetupToken is the hash of the one-time token for the first
// administrator.
type SetupToken struct {
	Hash    []byte
	Expires time.Time
}

// ThrottleEntry is the failure count of one throttle key.
type ThrottleEntry struct {
	Key         string
	Failures    int
	LastFailure time.Time
}

// Summary counts the rows of a Dump and sums them up.
type Summary struct {
	Users, Authenticators, RecoveryCodes, Sessions, TrustedBrowsers, SetupTokens, ThrottleKeys, Hosts, AuditEntries, EnforceRules, OIDCClients, SigningKeys int
	// Checksum is the hex SHA-256 of every row, in a canonical order and
	// encoding; equal dumps have equal checksums.
	Checksum string
}

// String gives the counts and the checksum on one line.
func (s Summary) String() string {
	return fmt.Sprintf("%d users, %d authenticators, %d recovery codes, %d sessions, %d trusted browsers, %d setup tokens, %d throttle keys, %d hosts, %d audit entries, "+
		"%d enforcement rules, %d OpenID Connect clients, %d signing keys; sha256 %s",
		s.Users, s.Authenticators, s.RecoveryCodes, s.Sessions, s.TrustedBrowsers, s.SetupTokens, s.ThrottleKeys, s.Hosts, s.AuditEntries,
		s.EnforceRules, s.OIDCClients, s.SigningKeys, s.Checksum)
}

// Normalize sorts every table by its key and rounds times to the
// microsecond (PostgreSQL's precision) in UTC, so that a dump read back
// from PostgreSQL equals the one written.
func (d *Dump) Normalize() {
	us := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Truncate(time.Microsecond).UTC()
		}
	}
	for i := range d.Users {
		us(&d.Users[i].Created)
		if len(d.Users[i].Groups) == 0 {
			d.Users[i].Groups = nil // none, however it was read
		}
	}
	for i := range d.Authenticators {
		a := &d.Authenticators[i]
		us(&a.Created)
		us(&a.Confirmed)
		us(&a.LastUsed)
		if a.Confirmed.IsZero() && a.LastUsed.IsZero() {
			a.LastStep = 0 // meaningless, and not stored
		}
	}
	for i := range d.RecoveryCodes {
		us(&d.RecoveryCodes[i].Created)
		us(&d.RecoveryCodes[i].Used)
	}
	for i := range d.Sessions {
		us(&d.Sessions[i].Created)
		us(&d.Sessions[i].LastSeen)
	}
	for i := range d.TrustedBrowsers {
		b := &d.TrustedBrowsers[i]
		us(&b.Created)
		us(&b.Expires)
		us(&b.LastUsed)
	}
	for i := range d.SetupTokens {
		us(&d.SetupTokens[i].Expires)
	}
	for i := range d.Throttle {
		us(&d.Throttle[i].LastFailure)
	}
	for i := range d.Hosts {
		us(&d.Hosts[i].Created)
	}
	for i := range d.Audit {
		us(&d.Audit[i].Time)
	}
	none := func(l *[]string) {
		if len(*l) == 0 {
			*l = nil // none, however it was read
		}
	}
	for i := range d.OIDCClients {
		c := &d.OIDCClients[i]
		us(&c.Created)
		none(&c.RedirectURIs)
		none(&c.PostLogoutRedirectURIs)
		if len(c.SecretHash) == 0 {
			c.SecretHash = nil
		}
	}
	for i := range d.SigningKeys {
		k := &d.SigningKeys[i]
		us(&k.Created)
		us(&k.SignFrom)
		us(&k.RetireAt)
	}
	slices.SortFunc(d.OIDCClients, func(a, b oidcstate.Client) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.SigningKeys, func(a, b oidcstate.SigningKey) int { return cmp.Compare(a.ID, b.ID) })
	for i := range d.EnforceRules {
		us(&d.EnforceRules[i].Updated)
	}
	slices.SortFunc(d.Audit, func(a, b mfa.AuditEntry) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Users, func(a, b mfa.User) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Authenticators, func(a, b mfa.Authenticator) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.RecoveryCodes, func(a, b RecoveryCode) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), bytes.Compare(a.Hash, b.Hash))
	})
	slices.SortFunc(d.Sessions, func(a, b mfa.Session) int { return bytes.Compare(a.TokenHash, b.TokenHash) })
	slices.SortFunc(d.TrustedBrowsers, func(a, b mfa.TrustedBrowser) int { return bytes.Compare(a.TokenHash, b.TokenHash) })
	slices.SortFunc(d.SetupTokens, func(a, b SetupToken) int { return bytes.Compare(a.Hash, b.Hash) })
	slices.SortFunc(d.Throttle, func(a, b ThrottleEntry) int { return cmp.Compare(a.Key, b.Key) })
	slices.SortFunc(d.Hosts, func(a, b mfa.Host) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.EnforceRules, func(a, b mfa.EnforceRecord) int { return cmp.Compare(a.ID, b.ID) })
}

// Summary normalizes d and returns its counts and checksum.
func (d *Dump) Summary() Summary {
	d.Normalize()
	h := sha256.New()
	// JSON of fixed struct types is a canonical encoding here: fields in
	// declaration order, times in RFC 3339 UTC, bytes in base64.
	json.NewEncoder(h).Encode(d)
	return Summary{
		Users: len(d.Users), Authenticators: len(d.Authenticators), RecoveryCodes: len(d.RecoveryCodes),
		Sessions: len(d.Sessions), TrustedBrowsers: len(d.TrustedBrowsers), SetupTokens: len(d.SetupTokens), ThrottleKeys: len(d.Throttle), Hosts: len(d.Hosts), AuditEntries: len(d.Audit),
		EnforceRules: len(d.EnforceRules), OIDCClients: len(d.OIDCClients), SigningKeys: len(d.SigningKeys),
		Checksum: hex.EncodeToString(h.Sum(nil)),
	}
}
