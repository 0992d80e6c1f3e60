package mfa

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeName returns the canonical form of a user name as typed: trimmed
// and in lower case.
func NormalizeName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidateName checks a normalized user name: 1 to MaxNameLength bytes of
// a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty user name", ErrInvalid)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: user name longer than %d bytes", ErrInvalid, MaxNameLength)
	}
	for i, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-' || c == '@'):
		default:
			return fmt.Errorf("%w: user name may hold only a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit", ErrInvalid)
		}
	}
	return nil
}

// ValidateDisplayName checks a display name: at most MaxDisplayNameLength
// bytes of valid UTF-8, no control characters (it travels in an HTTP
// header), no format characters (Unicode category Cf: bidi overrides such
// as U+202E that make a name read backwards, invisible marks; the joiners
// U+200C and U+200D, which Persian, Indic scripts and emoji need, are
// allowed), no line or paragraph separator, no '<' or '>' (apps show the
// name, some without escaping it), no leading or trailing space. Empty is
// allowed.
func ValidateDisplayName(s string) error {
	if len(s) > MaxDisplayNameLength {
		return fmt.Errorf("%w: display name longer than %d bytes", ErrInvalid, MaxDisplayNameLength)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: display name is not valid UTF-8", ErrInvalid)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("%w: display name holds a control character", ErrInvalid)
		case unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
			return fmt.Errorf("%w: display name holds an invisible or text-direction character (U+%04X)", ErrInvalid, r)
		case r == '<' || r == '>':
			return fmt.Errorf("%w: display name holds < or >", ErrInvalid)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: display name starts or ends with a space", ErrInvalid)
	}
	return nil
}

// ParseGroups turns a comma-separated list as an operator types it ("hpc,
// Staff") into normalized, sorted, unique group names, each checked like a
// user name; an empty list gives nil.
func ParseGroups(list string) ([]string, error) {
	var groups []string
	for g := range strings.SplitSeq(list, ",") {
		g = NormalizeName(g)
		if g == "" {
			continue
		}
		groups = append(groups, g)
	}
	return NormalizeGroups(groups)
}

// NormalizeGroups sorts groups, drops duplicates and checks each name with
// ValidateGroup; no groups gives nil.
func NormalizeGroups(groups []string) ([]string, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	out := slices.Clone(groups)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxGroups {
		return nil, fmt.Errorf("%w: more than %d groups", ErrInvalid, MaxGroups)
	}
	for _, g := range out {
		if err := ValidateGroup(g); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ValidateGroup checks a group name: the rules of a user name (see
// ValidateName).
func ValidateGroup(g string) error {
	if err := ValidateName(g); err != nil {
		return fmt.Errorf("%w: group %q: group names follow the rules of user names", ErrInvalid, g)
	}
	return nil
}

// MaxMailLength is the longest e-mail address accepted, in bytes (RFC 5321
// §4.5.3.1.3 bounds a path to 256 octets with its brackets).
const MaxMailLength = 254

// ValidateMail checks an e-mail address for notifications: one '@' with
// text on both sides, printable ASCII without spaces, quotes, brackets or
// commas, at most MaxMailLength bytes. Empty is valid (no address).
func ValidateMail(s string) error {
	if s == "" {
		return nil
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(s) > MaxMailLength ||
		strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`"<>(),;:\[]`, r) }) {
		return fmt.Errorf("%w: %q is not an e-mail address (name@domain, no spaces)", ErrInvalid, s)
	}
	return nil
}
