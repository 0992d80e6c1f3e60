package pamauth

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The limits of the helper (pam/checkpass/otpgate-pam-check.c), which
// refuses anything longer.
const (
	maxService  = 64
	maxUser     = 256
	maxPassword = 512
	maxGroups   = 1024
	maxGroup    = 256
	maxDisplay  = 1024
	maxReason   = 32
	// maxAnswer bounds what is read from the helper: the longest answer it
	// can write.
	maxAnswer = 64 + maxUser + maxDisplay + maxGroups*(maxGroup+8)
)

const requestMagic = "otpgate-pam-check/1 "

// Kinds of answer.
const (
	kindOK          = "ok"
	kindRefused     = "refused"
	kindUnavailable = "unavailable"
)

// answer is the helper's one answer.
type answer struct {
	kind   string // kindOK, kindRefused or kindUnavailable
	reason string // for refused and unavailable: PAM_AUTH_ERR, LOCKED, ...
	// For ok:
	uid     uint32
	user    string
	display string // the first field of the gecos, unchecked
	groups  []string
}

// request is the helper's input; password is nil for a lookup.
func request(service, user string, password []byte) []byte {
	var b bytes.Buffer
	b.WriteString(requestMagic)
	if password == nil {
		b.WriteString("lookup\n")
	} else {
		b.WriteString("auth\n")
	}
	field := func(s []byte) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.Write(s)
		b.WriteByte('\n')
	}
	field([]byte(service))
	field([]byte(user))
	if password != nil {
		field(password)
	}
	return b.Bytes()
}

// validService reports whether the helper accepts s as a PAM service:
// "otpgate" or "otpgate-...", at most 64 bytes of a-z, 0-9, '.', '_', '-'.
func validService(s string) bool {
	if len(s) > maxService || (s != "otpgate" && (len(s) <= len("otpgate-") || s[:len("otpgate-")] != "otpgate-")) {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseError says where an answer went wrong, as a byte offset.
type parseError struct {
	off int
	msg string
}

func (e *parseError) Error() string { return fmt.Sprintf("answer byte %d: %s", e.off, e.msg) }

// parseAnswer parses the helper's whole output strictly: one answer and
// nothing after it.
func parseAnswer(b []byte) (answer, error) {
	p := parser{b: b}
	head, err := p.line()
	if err != nil {
		return answer{}, err
	}
	words := bytes.Split(head, []byte(" "))
	var a answer
	switch kind := string(words[0]); kind {
	case kindRefused, kindUnavailable:
		if len(words) != 2 {
			return answer{}, p.errAt(0, "want "+kind+" and a reason")
		}
		if !validReason(words[1]) {
			return answer{}, p.errAt(len(kind)+1, "reason not 1 to 32 of A-Z and _")
		}
		a.kind, a.reason = kind, string(words[1])
	case kindOK:
		if len(words) != 3 {
			return answer{}, p.errAt(0, "want ok, a uid and a number of groups")
		}
		uid, ok := decimal(words[1], 1<<32-1)
		if !ok {
			return answer{}, p.errAt(3, "uid not a decimal below 2^32")
		}
		n, ok := decimal(words[2], maxGroups)
		if !ok {
			return answer{}, p.errAt(4+len(words[1]), fmt.Sprintf("number of groups not a decimal up to %d", maxGroups))
		}
		a.kind, a.uid = kindOK, uint32(uid)
		user, err := p.field("user", maxUser)
		if err != nil {
			return answer{}, err
		}
		if !validUser(user) {
			return answer{}, p.errAt(p.last, "user empty, or with a control character, a space or ':'")
		}
		a.user = string(user)
		display, err := p.field("display name", maxDisplay)
		if err != nil {
			return answer{}, err
		}
		a.display = string(display)
		for range n {
			g, err := p.field("group", maxGroup)
			if err != nil {
				return answer{}, err
			}
			if !validGroup(g) {
				return answer{}, p.errAt(p.last, "group empty, not UTF-8 or with a control character")
			}
			a.groups = append(a.groups, string(g))
		}
	default:
		return answer{}, p.errAt(0, "want ok, refused or unavailable")
	}
	if p.off != len(b) {
		return answer{}, p.errAt(p.off, "more after the answer")
	}
	return a, nil
}

type parser struct {
	b    []byte
	off  int // next byte
	last int // start of the last field's bytes
}

func (p *parser) errAt(off int, msg string) error { return &parseError{off: off, msg: msg} }

// line returns the bytes before the next newline.
func (p *parser) line() ([]byte, error) {
	i := bytes.IndexByte(p.b[p.off:], '\n')
	if i < 0 {
		return nil, p.errAt(len(p.b), "no newline")
	}
	l := p.b[p.off : p.off+i]
	p.off += i + 1
	return l, nil
}

// field reads "<len>:<bytes>\n", len at most max.
func (p *parser) field(name string, max int) ([]byte, error) {
	start := p.off
	colon := bytes.IndexByte(p.b[p.off:min(len(p.b), p.off+8)], ':')
	if colon < 0 {
		return nil, p.errAt(start, name+": want <length>:")
	}
	n, ok := decimal(p.b[p.off:p.off+colon], uint64(max))
	if !ok {
		return nil, p.errAt(start, fmt.Sprintf("%s: length not a decimal up to %d", name, max))
	}
	p.off += colon + 1
	if int(n) >= len(p.b)-p.off || p.b[p.off+int(n)] != '\n' {
		return nil, p.errAt(p.off, fmt.Sprintf("%s: want %d bytes and a newline", name, n))
	}
	p.last = p.off
	f := p.b[p.off : p.off+int(n)]
	p.off += int(n) + 1
	return f, nil
}

// decimal parses a decimal without sign or leading zeros, at most max.
func decimal(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if d > max || n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func validReason(b []byte) bool {
	if len(b) == 0 || len(b) > maxReason {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// validUser follows the helper's rule for a user name.
func validUser(b []byte) bool {
	if len(b) == 0 || b[0] == '-' {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// validGroup: what NSS may call a group (spaces allowed: Active Directory
// groups through SSSD have them), but text.
func validGroup(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
