package access

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Path is a request's path in the two readings the rules decide on. A
// request passes only when both readings pass (see Rules.Check), so that a
// restricting rule also catches the spellings that some backend serves as
// the same path: servlet containers cut ";parameters" from each segment
// ("/admin;jsessionid=1" is /admin), Windows and IIS drop trailing dots and
// spaces ("/private." is /private) and ignore case, and some frameworks
// read fullwidth letters as ASCII.
type Path struct {
	// Exact is the path as sent, percent-decoded once.
	Exact string
	// Loose is Exact read leniently: fullwidth forms as ASCII, cut at '?'
	// or '#', each segment cut at ';' or ':' and stripped of trailing dots
	// and spaces, empty
	// segments and a trailing slash dropped, in lower case. Rules match it
	// without regard to case.
	Loose string
}

// ErrAmbiguousPath is the error of ParsePath for a path that backends read
// in ways the rules cannot follow.
var ErrAmbiguousPath = errors.New("ambiguous path")

// ParsePath reads the escaped path of a request (its URI before any '?' or
// '#'). It refuses, wrapping ErrAmbiguousPath, what backends disagree on:
// an escaped '/', '\' or '%' ("%2f", "%5c", "%25": a second decoding would
// change the path), a bad escape, control characters, a backslash, bytes
// that are not UTF-8 once decoded (overlong forms such as "%c0%ae"), and
// dot segments in either reading ("/a/../b", "/%2e%2e/b", "/a/..;/b"),
// which browsers resolve before sending, so only a crafted request holds
// them, and DOS short names ("/PRIVAT~1"). A path not starting with '/' is
// refused too.
func ParsePath(escaped string) (Path, error) {
	if escaped == "" || escaped[0] != '/' {
		return Path{}, ambiguous("does not start with /")
	}
	if p, ok := plainPath(escaped); ok {
		loose := p
		if len(loose) > 1 && loose[len(loose)-1] == '/' {
			loose = loose[:len(loose)-1]
		}
		return Path{Exact: p, Loose: loose}, nil
	}
	exact, err := unescape(escaped)
	if err != nil {
		return Path{}, err
	}
	if hasDotSegment(exact) {
		return Path{}, ambiguous("holds a . or .. segment")
	}
	loose, err := loosen(exact)
	if err != nil {
		return Path{}, err
	}
	return Path{Exact: exact, Loose: loose}, nil
}

func ambiguous(why string) error {
	return errors.Join(ErrAmbiguousPath, errors.New("path "+why))
}

// plainPath reports whether p needs no decoding and reads the same both
// ways: lower-case ASCII letters, digits and punctuation other than '%',
// ';', ':', '~', '\' and space, no empty segment, no segment ending in
// '.'. This is
// the common case, and costs no allocation.
func plainPath(p string) (string, bool) {
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '/':
			if p[i-1] == '/' || p[i-1] == '.' {
				return "", false
			}
		case c == '%', c == ';', c == ':', c == '~', c == '?', c == '#', c == '\\', c <= ' ', c >= 0x7f, c >= 'A' && c <= 'Z':
			return "", false
		}
	}
	if p[len(p)-1] == '.' {
		return "", false
	}
	return p, true
}

// unescape decodes percent-escapes once and checks the result.
func unescape(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", ambiguous("holds a bad %-escape")
			}
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			switch c {
			case '/', '\\', '%':
				return "", ambiguous("holds an escaped '/', '\\' or '%'")
			}
		}
		switch {
		case c < 0x20 || c == 0x7f:
			return "", ambiguous("holds a control character")
		case c == '\\':
			return "", ambiguous("holds a backslash")
		}
		b.WriteByte(c)
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", ambiguous("is not UTF-8 once decoded")
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// loosen turns an exact path into its lenient reading (see Path.Loose).
func loosen(exact string) (string, error) {
	folded := foldWidth(exact)
	if strings.ContainsRune(folded, '\\') {
		return "", ambiguous("holds a backslash form")
	}
	// A '%' here came from a fullwidth form (an escaped one is refused
	// before): a backend that folds it may decode what follows, as it
	// would after an escaped '%'.
	if strings.ContainsRune(folded, '%') {
		return "", ambiguous("holds a percent sign form")
	}
	// An escaped '?' or '#' ends the path for a backend that decodes the
	// URL before it splits off the query.
	if i := strings.IndexAny(folded, "?#"); i >= 0 {
		folded = folded[:i]
	}
	var b strings.Builder
	b.Grow(len(folded))
	for seg := range strings.SplitSeq(folded[1:], "/") {
		seg = cutSegment(seg)
		seg = strings.TrimRight(seg, ". ")
		if seg == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(seg)
	}
	loose := lower(b.String())
	if loose == "" {
		return "/", nil
	}
	// Every segment was cut at ';' and trimmed, so "..;" or ".. " gave ""
	// and is gone: find the dot segments they were.
	for seg := range strings.SplitSeq(folded[1:], "/") {
		seg = cutSegment(seg)
		if seg != "" && strings.Trim(seg, ". ") == "" && strings.Contains(seg, "..") {
			return "", ambiguous("holds a dot segment in a lenient reading")
		}
		if shortName(seg) {
			return "", ambiguous("holds a DOS short name (PRIVAT~1)")
		}
	}
	return loose, nil
}

// cutSegment cuts a segment at ';' (servlet path parameters) and ':'
// (Windows reads "name:stream" and "name::$DATA" as the file name).
func cutSegment(seg string) string {
	if i := strings.IndexAny(seg, ";:"); i >= 0 {
		return seg[:i]
	}
	return seg
}

// shortName reports whether seg holds '~' and a digit, as the DOS short
// names that Windows also serves a file under ("PRIVAT~1" for "private").
func shortName(seg string) bool {
	for i := 0; i+1 < len(seg); i++ {
		if seg[i] == '~' && seg[i+1] >= '0' && seg[i+1] <= '9' {
			return true
		}
	}
	return false
}

// foldWidth maps the fullwidth forms of ASCII (U+FF01 to U+FF5E) and the
// other characters that Unicode compatibility normalization (NFKC) turns
// into '.', '/', ';' or '\' to their ASCII form, as some backends do.
func foldWidth(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xff01 && r <= 0xff5e:
			return r - 0xff01 + '!'
		case r == 0x2024, r == 0xfe52: // one dot leader, small full stop
			return '.'
		case r == 0xfe54, r == 0x037e: // small semicolon, Greek question mark
			return ';'
		case r == 0xfe68: // small reverse solidus
			return '\\'
		case r == 0x2215, r == 0x2044: // division and fraction slash
			return '/'
		}
		return r
	}, s)
}

// lower is the case-folded form: ASCII by hand, anything else through
// upper then lower case, so that 'ſ' (long s) and 'K' (Kelvin) meet 's'
// and 'k'.
func lower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.ToUpper(s))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
