package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/otpgate/otpgate/internal/access"
)

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes ("127.0.0.1/32,::1,10.0.0.0/8"); an empty list gives none.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", item)
			}
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", item)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return ps, nil
}

// isTrusted reports whether a is one of the trusted proxies.
func (s *server) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromTrustedProxy reports whether the peer of r
// is a trusted proxy, whose forwarded headers are read.
func (s *server) fromTrustedProxy(r *http.Request) bool {
	if ri := info(r); ri != nil {
		return ri.trusted
	}
	_, trusted := s.peer(r)
	return trusted
}

// peer returns the address the connection comes from (invalid when
// RemoteAddr is not one) and whether it is a trusted proxy.
func (s *server) peer(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap()
	return a, s.isTrusted(a)
}

// forwardedHeaders are the headers only a trusted proxy may set.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Proto", "X-Forwarded-Host",
	"X-Forwarded-Port", "X-Forwarded-Uri", "X-Original-Url", "X-Forwarded-Method"}

// hasForwarded reports whether the request carries any forwarded header.
func hasForwarded(r *http.Request) bool {
	for _, h := range forwardedHeaders {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}

// clientIP is the client's address: the peer's, or, when the peer is a
// trusted proxy, the nearest untrusted address in X-Forwarded-For (read
// from the right, so that a client cannot put a fake one first), else
// X-Real-IP. A malformed forwarded address is not used.
func (s *server) clientIP(r *http.Request) (netip.Addr, bool) {
	peer, trusted := s.peer(r)
	return s.clientIPFrom(r, peer, trusted)
}

// clientIPFrom is clientIP with the peer known.
func (s *server) clientIPFrom(r *http.Request, peer netip.Addr, trusted bool) (netip.Addr, bool) {
	if !trusted {
		return peer, peer.IsValid()
	}
	if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
		all := strings.Join(xff, ",")
		for i := len(all); i > 0; {
			j := strings.LastIndexByte(all[:i], ',')
			a, err := netip.ParseAddr(strings.TrimSpace(all[j+1 : i]))
			if err != nil {
				return peer, true
			}
			if a = a.Unmap(); !s.isTrusted(a) {
				return a, true
			}
			i = j
		}
	}
	if xr := r.Header["X-Real-Ip"]; len(xr) > 0 {
		if a, err := netip.ParseAddr(strings.TrimSpace(xr[0])); err == nil {
			return a.Unmap(), true
		}
	}
	return peer, true
}

// clientAddr is the throttling key of the client: its IP (see clientIP), or
// for IPv6 its /64, since one host usually holds a whole /64.
func (s *server) clientAddr(r *http.Request) string {
	ip, ok := s.clientIP(r)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// target is the URL a proxy asks about.
type target struct {
	// host is the lower-case host name, without port or trailing dot;
	// port the one the proxy received the request on (X-Forwarded-Port),
	// "" when it did not say; path the path the rules match.
	host, port string
	path       access.Path
	// scheme and uri complete the URL, for rd (see url); urlPort is the
	// port in the forwarded host when it is one: the browser's view, which
	// behind a port mapping is not the port the proxy listens on.
	scheme, urlPort, uri string
}

// url is the whole original URL.
func (t target) url() string {
	if t.urlPort == "" || t.scheme == "https" && t.urlPort == "443" || t.scheme == "http" && t.urlPort == "80" {
		return t.scheme + "://" + t.host + t.uri
	}
	return t.scheme + "://" + t.host + ":" + t.urlPort + t.uri
}

// maxForwardedURL bounds the original URL.
const maxForwardedURL = 8192

// errNoTarget means no original URL was sent by a trusted proxy.
var errNoTarget = errors.New("no original URL (X-Original-URL or X-Forwarded-Proto/-Host/-Uri) from a trusted proxy")

// originalURL reads the URL a proxy asks about, only when the peer is a
// trusted proxy: from X-Original-URL (which the shipped nginx
// configuration sets), else from X-Forwarded-Proto, -Host and -Uri. With
// preferForwarded (the endpoint for Caddy and Traefik, which set the
// X-Forwarded-* headers themselves but pass a client's X-Original-URL
// through), X-Forwarded-Host wins when present, so a client cannot choose
// the rule that decides. The port comes from X-Forwarded-Port alone: a
// port in the host is the client's to type, and is ignored by the rules.
// It refuses anything malformed or hostile; an ambiguous path gives an
// error wrapping access.ErrAmbiguousPath.
func (s *server) originalURL(r *http.Request, trusted, preferForwarded bool) (target, error) {
	if !trusted {
		return target{}, errNoTarget
	}
	var scheme, host, uri string
	vs := r.Header.Values("X-Original-Url")
	if preferForwarded && len(r.Header.Values("X-Forwarded-Host")) > 0 {
		vs = nil
	}
	if len(vs) > 0 {
		if len(vs) > 1 {
			return target{}, errors.New("X-Original-URL sent more than once")
		}
		raw := vs[0]
		if len(raw) > maxForwardedURL || !printableASCII(raw) {
			return target{}, errors.New("X-Original-URL too long or not printable ASCII")
		}
		rest, ok := strings.CutPrefix(raw, "https://")
		scheme = "https"
		if !ok {
			rest, ok = strings.CutPrefix(raw, "http://")
			scheme = "http"
		}
		if !ok {
			return target{}, errors.New("X-Original-URL is not an absolute http or https URL")
		}
		i := strings.IndexAny(rest, "/?#")
		if i < 0 {
			host, uri = rest, "/"
		} else {
			host, uri = rest[:i], rest[i:]
		}
	} else {
		p, h, u := r.Header.Values("X-Forwarded-Proto"), r.Header.Values("X-Forwarded-Host"), r.Header.Values("X-Forwarded-Uri")
		if len(h) == 0 {
			return target{}, errNoTarget
		}
		if len(p) > 1 || len(h) > 1 || len(u) > 1 {
			return target{}, errors.New("X-Forwarded-Proto, -Host or -Uri sent more than once")
		}
		scheme, host, uri = "https", h[0], "/"
		if len(p) == 1 {
			scheme = p[0]
		}
		if len(u) == 1 {
			uri = u[0]
		}
		if scheme != "http" && scheme != "https" {
			return target{}, fmt.Errorf("X-Forwarded-Proto %q: want http or https", trunc(scheme))
		}
		if len(host)+len(uri) > maxForwardedURL || !printableASCII(host) || !printableASCII(uri) {
			return target{}, errors.New("X-Forwarded-Host or -Uri too long or not printable ASCII")
		}
	}
	name, hostPort, ok := forwardedHost(host)
	if !ok {
		return target{}, fmt.Errorf("forwarded host %q: want a DNS name or IP address with an optional port", trunc(host))
	}
	port := ""
	if ps := r.Header.Values("X-Forwarded-Port"); len(ps) > 0 {
		if len(ps) > 1 || !validPort(ps[0]) {
			return target{}, fmt.Errorf("X-Forwarded-Port %q: want one port, 1 to 65535", trunc(strings.Join(ps, ",")))
		}
		port = ps[0]
	}
	urlPort := ""
	if validPort(hostPort) {
		urlPort = hostPort
	}
	if uri == "" || uri[0] != '/' {
		return target{}, fmt.Errorf("forwarded URI %q: want a path starting with /", trunc(uri))
	}
	if strings.HasPrefix(uri, "//") {
		return target{}, fmt.Errorf("forwarded URI %q: %w: it starts with //", trunc(uri), access.ErrAmbiguousPath)
	}
	escaped := uri
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		escaped = uri[:i]
	}
	p, err := access.ParsePath(escaped)
	if err != nil {
		return target{}, fmt.Errorf("forwarded URI %q: %w", trunc(uri), err)
	}
	return target{host: name, port: port, path: p, scheme: scheme, urlPort: urlPort, uri: uri}, nil
}

// forwardedHost checks the host of the original URL, "name", "ip" or
// "[v6]", each with an optional port of digits, and returns the name in
// lower case without a trailing dot ("Wiki.Example.ORG." is
// wiki.example.org), and the port as written. The port is only for rd,
// never for the rules: "wiki.example.org:018443" is wiki.example.org.
func forwardedHost(h string) (name, port string, ok bool) {
	if h == "" {
		return "", "", false
	}
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", false
		}
		a, err := netip.ParseAddr(h[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", false
		}
		rest := h[end+1:]
		if rest != "" && (rest[0] != ':' || !digits(rest[1:])) {
			return "", "", false
		}
		return "[" + a.String() + "]", strings.TrimPrefix(rest, ":"), true
	}
	name, port, hasPort := strings.Cut(h, ":")
	if hasPort && !digits(port) {
		return "", "", false
	}
	if strings.HasSuffix(name, ".") && !strings.HasSuffix(name, "..") {
		name = name[:len(name)-1]
	}
	// A DNS name's last label is never all digits: only then try an IPv4
	// address (a failed parse costs an allocation).
	if name != "" && name[len(name)-1] >= '0' && name[len(name)-1] <= '9' {
		a, err := netip.ParseAddr(name)
		return name, port, err == nil && a.Is4()
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			name = strings.ToLower(name)
			break
		}
	}
	return name, port, access.ValidHostName(name)
}

// digits reports whether s is at most 10 ASCII digits (a port as a client
// may type it, leading zeros and all; empty too).
func digits(s string) bool {
	if len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds only bytes 0x21 to 0x7e: a URL in
// a header has no space, control character or raw non-ASCII byte.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validHostPort checks "name", "name:port", "ip", "ip:port" or
// "[v6]:port", case-insensitively.
func validHostPort(h string) bool {
	if h == "" {
		return false
	}
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(h[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
		return h[end+1:] == "" || validPort(strings.TrimPrefix(h[end+1:], ":")) && h[end+1] == ':'
	}
	name, port, hasPort := strings.Cut(h, ":")
	if hasPort && !validPort(port) {
		return false
	}
	// A DNS name's last label is never all digits: only then try an IPv4
	// address (a failed parse costs an allocation).
	if name != "" && name[len(name)-1] >= '0' && name[len(name)-1] <= '9' {
		a, err := netip.ParseAddr(name)
		return err == nil && a.Is4()
	}
	return access.ValidHostName(strings.ToLower(name))
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for _, c := range []byte(p) {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// trunc shortens a hostile value for the log.
func trunc(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
