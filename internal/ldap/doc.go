// Package ldap checks otpgate users' first factor against an LDAP
// directory (OpenLDAP, 389 DS and FreeIPA, Active Directory) with
// github.com/go-ldap/ldap/v3, and reads their display name, mail, a
// stable unique id and their groups.
//
// A Directory finds a user in one of two ways. Search-then-bind: the
// service account (BindDN, or anonymous) searches BaseDN with UserFilter,
// the typed name escaped per RFC 4515, and the user then binds as the DN
// found. Direct bind: the DN is UserDNTemplate with the name escaped per
// RFC 4514, and the user's own bind reads the entry and the groups.
// Groups come from a search (posixGroup/memberUid of RFC 2307 by name,
// groupOfNames/member of rfc2307bis by DN) and from a memberOf attribute
// on the user; Config.Preset sets these for common directories.
//
// Names that no account has (empty, longer than MaxNameLen bytes, not
// UTF-8, with NUL or another control character, with a leading or
// trailing space) are refused before any request. Unknown users, wrong passwords and accounts that are disabled,
// locked or expired all give ErrBadCredentials, with the real cause in
// the wrapping text for the log, and take about the same time: a refusal
// decided before the user's bind is followed by a bind that fails and
// padded to the usual time of a wrong password. A directory that does not
// answer in time gives ErrUnavailable.
//
// Directory.FirstFactor gives the Directory as otpgate's core asks it
// (mfa.FirstFactor, Name "ldap"), with the core's error kinds: there an
// unknown name is mfa.ErrNotFound, so that the next first factor is
// asked, and the refusals above are mfa.ErrBadCredentials. Ping reads the
// root DSE, for health checks.
//
// # Connections
//
// Servers (Config.URLs) are tried in order; one that fails to connect is
// tried only after the others for Config.Backoff, so that a dead first
// server costs one connect timeout per back-off, not one per sign-in.
//
// A Directory keeps two bounded pools (Config.PoolSize each). Search
// connections are bound as the service account once, when made, and are
// only ever used for searches. A user's bind happens on a connection of
// the other pool, whose every use starts with a bind: the connection is
// never rebound as the service account and never searches as it, so a
// user's identity left on it cannot leak into a search, and a sign-in
// costs one bind rather than two (bind as the user, rebind as the service)
// or a new TCP and TLS handshake per sign-in. In direct bind the user's
// connection reads the entry and groups with the user's rights after the
// bind, and Lookup uses the search pool. A connection that fails other
// than with an LDAP result (timeout, cut, cancelled context) is
// discarded, never reused; an idle one that the server closed is replaced
// once by a new connection.
//
// Timeouts: Config.ConnectTimeout covers TCP, TLS and StartTLS,
// BindTimeout each bind and SearchTimeout each search (also sent as the
// search's time limit). A context deadline that comes sooner wins, and a
// cancelled context closes the connection under the request.
package ldap
