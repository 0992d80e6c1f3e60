package otp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxURILength bounds the key URIs ParseURI reads: far more than any
// authenticator app's QR code holds.
const MaxURILength = 4096

// maxPeriod bounds the period a URI may give: one day.
const maxPeriod = 24 * time.Hour

// URI is an otpauth:// key URI, the Key Uri Format that Google
// Authenticator, FreeOTP and most authenticator apps read from a QR code:
//
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// Encode writes it, ParseURI reads it back. String and LogValue redact the
// secret.
type URI struct {
	// Type is "totp" or "hotp"; empty means "totp".
	Type string
	// Issuer names the service; it is written both as the label prefix and
	// as the issuer parameter. Empty means none.
	Issuer string
	// Account names the account at the issuer, usually a user name or an
	// e-mail address. It must not be empty.
	Account string
	// Key is the secret and the code parameters. Encode writes algorithm,
	// digits and period only when they differ from their zero value, and
	// ParseURI leaves them zero when absent.
	Key Key
	// Counter is the initial HOTP counter (hotp only).
	Counter uint64
	// Image is the URL of an icon to show beside the account (a FreeOTP
	// extension); empty means none.
	Image string
	// Label, when not nil, selects the form that Google's
	// google-authenticator command writes (its -l and -i): Label is the
	// whole label, colons included, in place of Issuer:Account, and Issuer
	// goes only into the issuer parameter; both are escaped as that
	// command does (only "%", "&", "?", "=", control bytes, space and
	// bytes from 0x7F); there is no counter parameter. Such a URI need not
	// parse back the same. ParseURI never sets Label.
	Label *string
}

func (u URI) typ() string {
	if u.Type == "" {
		return "totp"
	}
	return u.Type
}

// Validate reports whether u can be encoded so that ParseURI gives it back
// unchanged: a known type, a valid key, a non-empty account, label parts
// without colons, control characters, invalid UTF-8 or leading spaces, and
// an encoding no longer than MaxURILength (percent-encoding can make a
// URI up to three times longer than the text it carries). With Label set,
// the label and issuer are not checked.
func (u URI) Validate() error {
	if t := u.typ(); t != "totp" && t != "hotp" {
		return fmt.Errorf("otp: URI type must be totp or hotp, not %q", t)
	}
	if err := u.Key.Validate(); err != nil {
		return err
	}
	if u.Key.Period > maxPeriod {
		return fmt.Errorf("otp: period longer than %v", maxPeriod)
	}
	if u.Label == nil { // the command's form takes any label
		if u.Account == "" {
			return errors.New("otp: URI: empty account name")
		}
		if err := checkLabelPart("issuer", u.Issuer); err != nil {
			return err
		}
		if err := checkLabelPart("account name", u.Account); err != nil {
			return err
		}
	}
	if !utf8.ValidString(u.Image) {
		return errors.New("otp: URI: image is not valid UTF-8")
	}
	if n := len(u.String()) - len("REDACTED") + len(u.Key.Secret.Base32()); n > MaxURILength {
		return fmt.Errorf("otp: URI would be %d bytes encoded, longer than %d", n, MaxURILength)
	}
	return nil
}

func checkLabelPart(what, s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("otp: URI: %s is not valid UTF-8", what)
	case strings.Contains(s, ":"):
		return fmt.Errorf("otp: URI: %s contains a colon", what)
	case strings.HasPrefix(s, " "):
		return fmt.Errorf("otp: URI: %s starts with a space", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("otp: URI: %s contains a control character", what)
	}
	return nil
}

// Encode returns the URI as text, secret included: put it in a QR code, not
// in a log. Label and values are percent-encoded (a space is %20, never
// "+"). For a URI that passes Validate, ParseURI(u.Encode()) returns u.
func (u URI) Encode() string { return u.encode(u.Key.Secret.Base32()) }

// String returns the URI with its secret replaced by REDACTED.
func (u URI) String() string { return u.encode("REDACTED") }

// LogValue logs the URI's type, issuer and account, never its secret.
func (u URI) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", u.typ()),
		slog.String("issuer", u.Issuer),
		slog.String("account", u.Account),
	)
}

func (u URI) encode(secret string) string {
	var b strings.Builder
	b.WriteString("otpauth://")
	b.WriteString(u.typ())
	b.WriteByte('/')
	switch {
	case u.Label != nil:
		b.WriteString(commandEscape(*u.Label))
	case u.Issuer != "":
		b.WriteString(escape(u.Issuer, true))
		b.WriteByte(':')
		fallthrough
	default:
		b.WriteString(escape(u.Account, true))
	}
	b.WriteString("?secret=")
	b.WriteString(secret)
	if u.Issuer != "" {
		b.WriteString("&issuer=")
		if u.Label != nil {
			b.WriteString(commandEscape(u.Issuer))
		} else {
			b.WriteString(escape(u.Issuer, false))
		}
	}
	if u.Key.Algorithm != SHA1 {
		b.WriteString("&algorithm=")
		b.WriteString(u.Key.Algorithm.String())
	}
	if u.Key.Digits != 0 {
		b.WriteString("&digits=")
		b.WriteString(strconv.Itoa(u.Key.Digits))
	}
	if u.Key.Period != 0 {
		b.WriteString("&period=")
		b.WriteString(strconv.FormatInt(int64(u.Key.Period/time.Second), 10))
	}
	if u.typ() == "hotp" && u.Label == nil {
		b.WriteString("&counter=")
		b.WriteString(strconv.FormatUint(u.Counter, 10))
	}
	if u.Image != "" {
		b.WriteString("&image=")
		b.WriteString(escape(u.Image, false))
	}
	return b.String()
}

// escape percent-encodes every byte but RFC 3986's unreserved characters
// (and "@" in a label, which every app reads literally).
func escape(s string, label bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || label && c == '@' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// commandEscape percent-encodes what google-authenticator's urlEncode
// does: "%", "&", "?", "=", control bytes, space, and bytes from 0x7F up;
// everything else (":", "/", "@", "+", "#") stays as it is.
func commandEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '&' || c == '?' || c == '=' || c <= ' ' || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ParseURI reads an otpauth:// key URI. It accepts what authenticator apps
// accept (any case in scheme and type, a percent-encoded colon in the label,
// spaces before the account name, "+" for a space in parameter values,
// secrets with padding) and refuses, with a reason, what they would choke
// on: another scheme or type, a missing or invalid secret, an empty account,
// more than one colon in the label, an issuer parameter that contradicts
// the label, unsupported algorithm, digits or period, and repeated
// parameters. Unknown parameters are ignored. Errors never contain the
// secret.
func ParseURI(s string) (URI, error) {
	var u URI
	if len(s) > MaxURILength {
		return u, fmt.Errorf("otp: URI longer than %d bytes", MaxURILength)
	}
	const scheme = "otpauth://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return u, errors.New("otp: URI does not start with otpauth://")
	}
	rest := s[len(scheme):]
	if strings.ContainsRune(rest, '#') {
		return u, errors.New("otp: URI has a fragment")
	}
	typ, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return u, errors.New("otp: URI has no label")
	}
	u.Type = strings.ToLower(typ)
	if u.Type != "totp" && u.Type != "hotp" {
		return u, fmt.Errorf("otp: URI type must be totp or hotp, not %q", typ)
	}
	rawLabel, query, _ := strings.Cut(rest, "?")
	label, err := url.PathUnescape(rawLabel)
	if err != nil {
		return u, errors.New("otp: URI label: invalid percent-encoding")
	}
	if err := u.setLabel(label); err != nil {
		return u, err
	}
	if err := u.setParams(query); err != nil {
		return u, err
	}
	if err := u.Validate(); err != nil {
		return u, err
	}
	return u, nil
}

func (u *URI) setLabel(label string) error {
	issuer, account, found := strings.Cut(label, ":")
	if !found {
		issuer, account = "", label
	} else if issuer == "" {
		return errors.New("otp: URI label has an empty issuer before the colon")
	}
	if strings.Contains(account, ":") {
		return errors.New("otp: URI label has more than one colon")
	}
	u.Issuer = issuer
	u.Account = strings.TrimLeft(account, " ")
	if u.Account == "" {
		return errors.New("otp: URI: empty account name")
	}
	return nil
}

func (u *URI) setParams(query string) error {
	seen := map[string]bool{}
	var haveSecret, haveCounter bool
	for field := range strings.SplitSeq(query, "&") {
		if field == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(field, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return errors.New("otp: URI parameter name: invalid percent-encoding")
		}
		name = strings.ToLower(name)
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return fmt.Errorf("otp: URI parameter %q: invalid percent-encoding", name)
		}
		switch name {
		case "secret", "issuer", "algorithm", "digits", "period", "counter", "image":
		default:
			continue // an extension some app may know; not ours to refuse
		}
		if seen[name] {
			return fmt.Errorf("otp: URI parameter %q given twice", name)
		}
		seen[name] = true
		switch name {
		case "secret":
			if u.Key.Secret, err = DecodeSecret(value); err != nil {
				return err
			}
			haveSecret = true
		case "issuer":
			if u.Issuer != "" && value != u.Issuer {
				return fmt.Errorf("otp: URI issuer parameter %q differs from the label's issuer %q", value, u.Issuer)
			}
			u.Issuer = value
		case "algorithm":
			if u.Key.Algorithm, err = ParseAlgorithm(value); err != nil {
				return err
			}
		case "digits":
			d, err := strconv.Atoi(value)
			if err != nil || d < 6 || d > 8 {
				return fmt.Errorf("otp: URI digits must be 6, 7 or 8, not %q", value)
			}
			u.Key.Digits = d
		case "period":
			p, err := strconv.ParseUint(value, 10, 32)
			if err != nil || p == 0 || time.Duration(p)*time.Second > maxPeriod {
				return fmt.Errorf("otp: URI period must be 1 to %d seconds, not %q", int(maxPeriod/time.Second), value)
			}
			u.Key.Period = time.Duration(p) * time.Second
		case "counter":
			if u.Counter, err = strconv.ParseUint(value, 10, 64); err != nil {
				return fmt.Errorf("otp: URI counter must be a whole number, not %q", value)
			}
			haveCounter = true
		case "image":
			u.Image = value
		}
	}
	if !haveSecret {
		return errors.New("otp: URI has no secret")
	}
	if haveCounter && u.Type != "hotp" {
		return errors.New("otp: URI counter is for hotp only")
	}
	return nil
}
