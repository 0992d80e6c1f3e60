// Package access holds forward-auth's access rules: per host and path
// prefix, who may pass and whether a second factor is required. Rules are
// read from a small line format (see Parse); the first rule that matches a
// request's host and path decides, and no match means deny.
package access

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/otpgate/otpgate/internal/mfa"
)

// SecondFactor says whether a rule needs a second factor.
type SecondFactor int

const (
	// Required: the user must have a second factor and have passed it.
	Required SecondFactor = iota
	// Optional: the stock module's nullok: a user without any second factor
	// passes with the password alone; a user who has one must pass it.
	Optional
)

// Rule is one line of the rules file.
type Rule struct {
	// Line is where the rule was read, for the log.
	Line int
	// Host is a lower-case host name, "*.domain" for any host under domain
	// (not domain itself), or "*" for any host. Port is the port the host
	// must come with; empty means any.
	Host string
	Port string
	// Path is the path prefix, matched on whole segments: "/lab" matches
	// /lab and /lab/tree but not /laboratory; "/" matches every path.
	Path string
	// CaseInsensitive says the app ignores case, so that the path as sent
	// matches Path in any case too (its lenient reading always does).
	CaseInsensitive bool
	// Users and Groups may pass (either suffices); AnyUser lets every
	// signed-in user pass; Deny refuses everyone.
	Users   []string
	Groups  []string
	AnyUser bool
	Deny    bool
	// SecondFactor defaults to Required.
	SecondFactor SecondFactor
}

// Rules is a parsed rules file.
type Rules struct {
	rules []Rule
	// upper says some rule's path has an upper-case letter: then the
	// lenient reading of a path is matched even when it equals the exact.
	upper bool
}

// maxLine bounds one line of the file, and maxRules the file.
const (
	maxLine  = 4096
	maxRules = 10000
)

// Parse reads rules, one a line:
//
//	# comment
//	host notebook.example.org  path /          groups hpc,staff  second-factor required
//	host wiki.example.org      path /admin     users alice
//	host wiki.example.org      path /private   deny
//	host *.example.org                         users *           second-factor optional
//
// Each line is a list of "key value" pairs, in any order, each key at most
// once: host (required: a name, "name:port", "*.domain" or "*"), path (a
// prefix starting with "/", default "/"), case (sensitive, the default, or
// insensitive: the app reads paths without regard to case), users
// (comma-separated names, or "*" for every signed-in user), groups
// (comma-separated), second-factor (required, the default, or optional);
// or the single word deny instead of users and groups. A rule must say who
// passes: users, groups or deny. Errors name the file and line: "rules.conf:3: unknown key "grops"".
func Parse(name string, r io.Reader) (*Rules, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	rs := &Rules{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		rule, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(rs.rules) == maxRules {
			return nil, fmt.Errorf("%s:%d: more than %d rules", name, n, maxRules)
		}
		rule.Line = n
		rs.rules = append(rs.rules, rule)
		rs.upper = rs.upper || strings.ToLower(rule.Path) != rule.Path
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, n+1, maxLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

func parseRule(line string) (Rule, error) {
	for _, c := range []byte(line) {
		if c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			return Rule{}, fmt.Errorf("only printable ASCII is allowed (write international host names in their xn-- form)")
		}
	}
	f := strings.Fields(line)
	r := Rule{Path: "/"}
	seen := map[string]bool{}
	for i := 0; i < len(f); i++ {
		key := f[i]
		if seen[key] {
			return Rule{}, fmt.Errorf("%q given twice", key)
		}
		seen[key] = true
		if key == "deny" {
			r.Deny = true
			continue
		}
		switch key {
		case "host", "path", "case", "users", "groups", "second-factor":
		default:
			return Rule{}, fmt.Errorf("unknown key %q (want host, path, case, users, groups, second-factor or deny)", key)
		}
		if i+1 == len(f) {
			return Rule{}, fmt.Errorf("%q needs a value", key)
		}
		i++
		v := f[i]
		var err error
		switch key {
		case "host":
			r.Host, r.Port, err = parseHost(v)
		case "path":
			r.Path, err = parsePath(v)
		case "case":
			switch v {
			case "sensitive":
			case "insensitive":
				r.CaseInsensitive = true
			default:
				err = fmt.Errorf("case %q: want sensitive or insensitive", v)
			}
		case "users":
			if v == "*" {
				r.AnyUser = true
			} else {
				r.Users, err = parseNames("user", v)
			}
		case "groups":
			r.Groups, err = parseNames("group", v)
		case "second-factor":
			switch v {
			case "required":
				r.SecondFactor = Required
			case "optional":
				r.SecondFactor = Optional
			default:
				err = fmt.Errorf("second-factor %q: want required or optional", v)
			}
		}
		if err != nil {
			return Rule{}, err
		}
	}
	switch {
	case r.Host == "":
		return Rule{}, fmt.Errorf("no host (write \"host NAME\", or \"host *\" for a default rule)")
	case r.Deny && (seen["users"] || seen["groups"] || seen["second-factor"]):
		return Rule{}, fmt.Errorf("deny takes no users, groups or second-factor")
	case !r.Deny && !seen["users"] && !seen["groups"]:
		return Rule{}, fmt.Errorf("say who may pass: users NAMES, groups NAMES, users * or deny")
	case r.AnyUser && seen["groups"]:
		return Rule{}, fmt.Errorf("users * lets everyone pass: groups would have no effect")
	}
	return r, nil
}

// parseHost checks a rule's host: a lower-case DNS name (letters, digits,
// '-' and '.'), an IP address, "*.domain" or "*", with an optional port.
func parseHost(v string) (host, port string, err error) {
	if v == "*" {
		return v, "", nil
	}
	host = v
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return hostOfAddr(ap.Addr()), strconv.Itoa(int(ap.Port())), nil
	}
	if i := strings.LastIndexByte(v, ':'); i >= 0 && !strings.Contains(v[:i], ":") {
		host, port = v[:i], v[i+1:]
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || port[0] == '0' {
			return "", "", fmt.Errorf("host %q: port must be 1 to 65535", v)
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return hostOfAddr(a), port, nil
	}
	name := strings.TrimPrefix(host, "*.")
	if !ValidHostName(name) {
		return "", "", fmt.Errorf("host %q: want a lower-case DNS name, *.domain, an IP address or *", v)
	}
	return host, port, nil
}

func hostOfAddr(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// ValidHostName reports whether s is a lower-case DNS name: labels of 1 to
// 63 letters, digits and '-', not starting or ending with '-', joined by
// single dots, at most 253 bytes, no trailing dot. International names
// must be in their ASCII (xn--) form.
func ValidHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func parsePath(v string) (string, error) {
	if v == "" || v[0] != '/' {
		return "", fmt.Errorf("path %q: must start with /", v)
	}
	for _, c := range []byte(v) {
		if c == '?' || c == '#' || c == '%' || c == '\\' || c == ';' {
			return "", fmt.Errorf("path %q: a plain path prefix, without ?, #, %%, ; or \\", v)
		}
	}
	if len(v) > 1 {
		v = strings.TrimSuffix(v, "/")
	}
	for _, seg := range strings.Split(v[1:], "/") {
		switch {
		case seg == "." || seg == "..":
			return "", fmt.Errorf("path %q: no . or .. segments", v)
		case seg == "" && v != "/":
			return "", fmt.Errorf("path %q: no empty segments (//)", v)
		case strings.HasSuffix(seg, "."):
			return "", fmt.Errorf("path %q: no segment ending in . (some servers drop it)", v)
		}
	}
	// A prefix that lenient apps read otherwise would match one reading
	// of a request only.
	if p, err := ParsePath(v); err != nil || p.Loose != lower(v) {
		return "", fmt.Errorf("path %q: some servers read it otherwise (':' and '~' followed by a digit are not allowed)", v)
	}
	return v, nil
}

func parseNames(kind, v string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(v, ",") {
		if err := mfa.ValidateName(n); err != nil {
			return nil, fmt.Errorf("%s %q: want names of a-z, 0-9, '.', '_', '-' and '@', separated by commas", kind, n)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Len is the number of rules.
func (rs *Rules) Len() int { return len(rs.rules) }

// Request is what the rules decide on.
type Request struct {
	// Host is the lower-case host name, without port or trailing dot.
	Host string
	// Port is the port the proxy received the request on, as the proxy
	// says (X-Forwarded-Port), never the one in the client's Host header;
	// empty when the proxy did not say.
	Port string
	Path Path
}

// Verdict is the rules' answer for a request and a user.
type Verdict struct {
	// Pass says the user may pass, with a second factor when SecondFactor
	// is Required.
	Pass         bool
	SecondFactor SecondFactor
	// Rule decided: the one that refused, or that asks for the second
	// factor; nil when no rule matched.
	Rule *Rule
	// Reason says why not, for the log.
	Reason string
}

// Check decides whether u may reach req. Each reading of the path (see
// Path) is matched on its own, the first matching rule deciding; u passes
// only when both pass, with a second factor when either rule asks for one.
// No matching rule denies. A rule with a port decides only on the port the
// proxy received the request on: when the proxy does not say, a rule with
// a port whose host and path match denies, so that leaving the port out
// cannot reach a later, wider rule.
func (rs *Rules) Check(req Request, u mfa.User) Verdict {
	v := rs.check(req, req.Path.Exact, false, u)
	if !v.Pass || req.Path.Loose == req.Path.Exact && !rs.upper {
		return v
	}
	w := rs.check(req, req.Path.Loose, true, u)
	if !w.Pass || w.SecondFactor == Required && v.SecondFactor != Required {
		return w
	}
	return v
}

func (rs *Rules) check(req Request, p string, loose bool, u mfa.User) Verdict {
	for i := range rs.rules {
		r := &rs.rules[i]
		if !r.hostMatches(req.Host) || !r.pathMatches(p, loose) {
			continue
		}
		if r.Port != "" && req.Port == "" {
			return Verdict{Rule: r, Reason: "the " + r.String() + " needs the port the proxy received the request on (X-Forwarded-Port), and the proxy did not send it"}
		}
		if r.Port != "" && r.Port != req.Port {
			continue
		}
		if !r.Allows(u) {
			return Verdict{Rule: r, Reason: "not allowed by the " + r.String()}
		}
		return Verdict{Pass: true, SecondFactor: r.SecondFactor, Rule: r}
	}
	return Verdict{Reason: "no access rule for " + req.Host + p}
}

func (r *Rule) hostMatches(name string) bool {
	switch {
	case r.Host == "*":
		return true
	case strings.HasPrefix(r.Host, "*."):
		return len(name) > len(r.Host)-1 && strings.HasSuffix(name, r.Host[1:])
	}
	return name == r.Host
}

// pathMatches matches the rule's prefix on whole segments; the lenient
// reading (already in lower case) and a case-insensitive rule without
// regard to ASCII case.
func (r *Rule) pathMatches(p string, loose bool) bool {
	prefix := r.Path
	if prefix == "/" {
		return true
	}
	if len(p) < len(prefix) || len(p) > len(prefix) && p[len(prefix)] != '/' {
		return false
	}
	if !loose && !r.CaseInsensitive {
		return p[:len(prefix)] == prefix
	}
	for i := 0; i < len(prefix); i++ {
		if asciiLower(p[i]) != asciiLower(prefix[i]) {
			return false
		}
	}
	return true
}

func asciiLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Allows reports whether the rule lets u pass (deny rules allow no one).
// The second factor is the caller's to check.
func (r *Rule) Allows(u mfa.User) bool {
	switch {
	case r.Deny:
		return false
	case r.AnyUser:
		return true
	}
	if _, ok := slices.BinarySearch(r.Users, u.Name); ok {
		return true
	}
	for _, g := range u.Groups {
		if _, ok := slices.BinarySearch(r.Groups, g); ok {
			return true
		}
	}
	return false
}

// String describes the rule for the log: "rules line 3".
func (r *Rule) String() string { return "rule on line " + strconv.Itoa(r.Line) }
