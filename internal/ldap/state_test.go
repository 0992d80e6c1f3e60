package ldap

import (
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestAccountState(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) // day 20605
	day := now.Unix() / 86400
	// accountExpires for a time t: 100 ns intervals since 1601.
	filetime := func(t time.Time) string {
		return itoa((t.Unix() + 11644473600) * 1e7)
	}
	tests := []struct {
		name  string
		attrs map[string][]string
		want  string // in the reason; "" means allowed
	}{
		{"plain", nil, ""},
		{"freeipa locked", map[string][]string{"nsAccountLock": {"TRUE"}}, "nsAccountLock"},
		{"freeipa locked, lower case", map[string][]string{"nsaccountlock": {"true"}}, "nsAccountLock"},
		{"freeipa unlocked", map[string][]string{"nsAccountLock": {"FALSE"}}, ""},
		{"ad normal account", map[string][]string{"userAccountControl": {"512"}}, ""},
		{"ad disabled", map[string][]string{"userAccountControl": {"514"}}, "userAccountControl"},
		{"ad disabled, password never expires", map[string][]string{"userAccountControl": {"66050"}}, "userAccountControl"},
		{"ad unreadable", map[string][]string{"userAccountControl": {"x"}}, "unreadable"},
		{"ad never expires (0)", map[string][]string{"accountExpires": {"0"}}, ""},
		{"ad never expires (max)", map[string][]string{"accountExpires": {"9223372036854775807"}}, ""},
		{"ad expired", map[string][]string{"accountExpires": {filetime(now.Add(-time.Minute))}}, "accountExpires"},
		{"ad expires later", map[string][]string{"accountExpires": {filetime(now.Add(time.Minute))}}, ""},
		{"shadow never", map[string][]string{"shadowExpire": {"-1"}}, ""},
		{"shadow expired yesterday", map[string][]string{"shadowExpire": {itoa(day - 1)}}, "shadowExpire"},
		{"shadow expires today", map[string][]string{"shadowExpire": {itoa(day)}}, "shadowExpire"},
		{"shadow expires tomorrow", map[string][]string{"shadowExpire": {itoa(day + 1)}}, ""},
		{"shadow unreadable", map[string][]string{"shadowExpire": {"soon"}}, "unreadable"},
		{"ppolicy admin lock", map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, "pwdAccountLockedTime"},
		{"ppolicy timed lock, left to the server", map[string][]string{"pwdAccountLockedTime": {"20260601115900Z"}}, ""},
	}
	for _, tc := range tests {
		e := goldap.NewEntry("uid=x,dc=example,dc=org", tc.attrs)
		got := accountState(e, now)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: accountState(%v) = %q, want %q", tc.name, tc.attrs, got, tc.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFormatGUID(t *testing.T) {
	// A GUID in its wire order: the first three fields little-endian.
	b := []byte{0x3f, 0x25, 0x04, 0x6b, 0xb2, 0x2d, 0x3c, 0x45, 0x8d, 0x0d, 0x00, 0xc0, 0x4f, 0xd6, 0x25, 0x6e}
	if got, want := formatGUID(b), "6b04253f-2db2-453c-8d0d-00c04fd6256e"; got != want {
		t.Errorf("formatGUID = %s, want %s", got, want)
	}
}

func TestFirstRDNValue(t *testing.T) {
	for dn, want := range map[string]string{
		"cn=admins,ou=groups,dc=example,dc=org": "admins",
		`cn=a\,b,dc=org`:                        "a,b",
		"not a dn":                              "",
	} {
		if got := firstRDNValue(dn); got != want {
			t.Errorf("firstRDNValue(%q) = %q, want %q", dn, got, want)
		}
	}
}
