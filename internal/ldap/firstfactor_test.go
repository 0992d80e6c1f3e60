package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/otpgate/otpgate/internal/ldap/ldaptest"
	"github.com/otpgate/otpgate/internal/mfa"
)

// TestFirstFactor checks the Directory as the core sees it, against the
// real slapd: the identity, and each refusal mapped to the core's kind
// with the real cause kept for the log.
func TestFirstFactor(t *testing.T) {
	srv := startFixture(t)
	d := newDirectory(t, searchConfig(t, srv))
	ff := d.FirstFactor()
	ctx := context.Background()
	if ff.Name() != "ldap" {
		t.Errorf("Name() = %q, want ldap", ff.Name())
	}

	id, err := ff.Authenticate(ctx, "ALICE", "alice-pw")
	if err != nil {
		t.Fatalf("Authenticate(ALICE) = %v", err)
	}
	want := mfa.Identity{Name: "alice", Source: "ldap", ExternalID: id.ExternalID,
		DisplayName: "Alice Example", Mail: "alice@example.org", Groups: []string{"hpc"}}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("Authenticate(ALICE) (-want +got):\n%s", diff)
	}
	if len(id.ExternalID) != 36 {
		t.Errorf("ExternalID = %q, want an entryUUID", id.ExternalID)
	}
	got, err := ff.Lookup(ctx, "alice")
	if err != nil || !cmp.Equal(got, id) {
		t.Errorf("Lookup(alice) = %+v, %v; want %+v", got, err, id)
	}

	refused := []struct {
		name, user, password string
		kind                 error
		cause                string
	}{
		{"unknown user", "zoe", "zoe-pw", mfa.ErrNotFound, "no single entry"},
		{"hostile name", "*)(uid=*", "x", mfa.ErrNotFound, "no single entry"},
		{"name no account has", strings.Repeat("a", 65), "x", mfa.ErrNotFound, "longer than"},
		{"wrong password", "alice", "bob-pw", mfa.ErrBadCredentials, "Invalid Credentials"},
		{"locked", "lena", "lena-pw", mfa.ErrBadCredentials, "pwdAccountLockedTime"},
		{"expired", "ed", "ed-pw", mfa.ErrBadCredentials, "shadowExpire"},
		{"empty password", "alice", "", mfa.ErrBadCredentials, "empty"},
	}
	kinds := []error{mfa.ErrNotFound, mfa.ErrBadCredentials, mfa.ErrUnavailable}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			_, err := ff.Authenticate(ctx, r.user, r.password)
			if !errors.Is(err, r.kind) || !strings.Contains(err.Error(), r.cause) {
				t.Fatalf("Authenticate(%q) = %v, want %v saying %q", r.user, err, r.kind, r.cause)
			}
			for _, k := range kinds {
				if k != r.kind && errors.Is(err, k) {
					t.Errorf("Authenticate(%q) = %v, which is also %v", r.user, err, k)
				}
			}
			if r.password != "" && r.password != "x" && strings.Contains(err.Error(), r.password) {
				t.Errorf("Authenticate(%q) = %q, which shows the password", r.user, err)
			}
		})
	}

	for _, l := range []struct {
		user string
		kind error
	}{{"zoe", mfa.ErrNotFound}, {"lena", mfa.ErrBadCredentials}, {"ed", mfa.ErrBadCredentials}} {
		if _, err := ff.Lookup(ctx, l.user); !errors.Is(err, l.kind) {
			t.Errorf("Lookup(%s) = %v, want %v", l.user, err, l.kind)
		}
	}

	if err := d.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
	srv.Stop()
	start := time.Now()
	if _, err := ff.Authenticate(ctx, "alice", "alice-pw"); !errors.Is(err, mfa.ErrUnavailable) {
		t.Errorf("Authenticate with the server stopped = %v, want mfa.ErrUnavailable", err)
	}
	if _, err := ff.Lookup(ctx, "alice"); !errors.Is(err, mfa.ErrUnavailable) {
		t.Errorf("Lookup with the server stopped = %v, want mfa.ErrUnavailable", err)
	}
	if err := d.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping() with the server stopped = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 3*2*time.Second {
		t.Errorf("three calls to a stopped server took %v, want each within the 2s timeout", took)
	}
	srv.Restart()
	if err := d.Ping(ctx); err != nil {
		t.Errorf("Ping() after restart = %v, want nil", err)
	}
	if _, err := ff.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Errorf("Authenticate after restart = %v, want nil", err)
	}
}

// TestFirstFactorDirectBind: a failed bind cannot tell an unknown name
// from a wrong password; with a service account a read of the DN does,
// without one both are bad credentials.
func TestFirstFactorDirectBind(t *testing.T) {
	srv := startFixture(t)
	for _, tc := range []struct {
		name    string
		service bool
		zoe     error // what an unknown name gives
	}{
		{"with service account", true, mfa.ErrNotFound},
		{"anonymous", false, mfa.ErrBadCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := searchConfig(t, srv)
			cfg.UserDNTemplate = "uid={username},ou=people," + ldaptest.BaseDN
			if !tc.service {
				cfg.BindDN, cfg.BindPasswordFile = "", ""
			}
			ff := newDirectory(t, cfg).FirstFactor()
			ctx := context.Background()
			if id, err := ff.Authenticate(ctx, "bob", "bob-pw"); err != nil || id.Name != "bob" || id.Source != "ldap" {
				t.Errorf("Authenticate(bob) = %+v, %v", id, err)
			}
			for _, r := range []struct {
				user string
				kind error
			}{{"zoe", tc.zoe}, {"alice", mfa.ErrBadCredentials}, {"lena", mfa.ErrBadCredentials}} {
				if _, err := ff.Authenticate(ctx, r.user, r.user+"-wrong"); !errors.Is(err, r.kind) {
					t.Errorf("direct bind: Authenticate(%s, wrong) = %v, want %v", r.user, err, r.kind)
				}
			}
			if tc.service {
				if _, err := ff.Lookup(ctx, "zoe"); !errors.Is(err, mfa.ErrNotFound) {
					t.Errorf("direct bind: Lookup(zoe) = %v, want mfa.ErrNotFound", err)
				}
			}
		})
	}
}
