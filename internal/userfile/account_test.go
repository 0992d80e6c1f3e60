package userfile

import (
	"errors"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
)

// TestLookupAccount: the account database and getent(1) agree, and an
// unknown or unsafe name is refused.
func TestLookupAccount(t *testing.T) {
	u, err := user.Lookup("nobody")
	if err != nil {
		testenv.SkipOrFail(t, "no user nobody: %v", err)
	}
	a, err := LookupAccount("nobody")
	if err != nil || a.Home != u.HomeDir || strconv.Itoa(a.UID) != u.Uid || strconv.Itoa(a.GID) != u.Gid {
		t.Errorf("LookupAccount(nobody) = %+v, %v; want %+v", a, err, u)
	}
	if _, err := exec.LookPath("getent"); err == nil {
		line, err := getent("nobody")
		g, perr := parsePasswd(line)
		if err != nil || perr != nil || g != a {
			t.Errorf("getent nobody = %q (%+v, %v, %v), want %+v", line, g, err, perr, a)
		}
		if _, err := getent("no-such-user-otpgate"); !errors.Is(err, ErrNoAccount) {
			t.Errorf("getent of an unknown user = %v, want ErrNoAccount", err)
		}
	}
	if _, err := LookupAccount("no-such-user-otpgate"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("LookupAccount(unknown) = %v, want ErrNoAccount", err)
	}
	if _, err := LookupAccount("../root"); err == nil || errors.Is(err, ErrNoAccount) {
		t.Errorf("LookupAccount(../root) = %v, want an unsafe-name error", err)
	}
}

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		line string
		want Account
		ok   bool
	}{
		{"alice:x:1001:100:Alice A.:/home/alice:/bin/bash", Account{"alice", "/home/alice", 1001, 100}, true},
		{"alice:x:1001:100::/home/alice:", Account{"alice", "/home/alice", 1001, 100}, true},
		{"alice:x:1001:100:/home/alice:/bin/sh", Account{}, false},
		{"alice:x:-1:100::/home/alice:/bin/sh", Account{}, false},
		{"alice:x:1001:4294967296::/home/alice:/bin/sh", Account{}, false},
		{"alice:x:1001:100::/home/alice:/bin/sh\nbob:x:1:1::/:/bin/sh", Account{}, false},
		{"", Account{}, false},
	}
	for _, tc := range tests {
		got, err := parsePasswd(tc.line)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parsePasswd(%q) = %+v, %v; want %+v, ok %v", tc.line, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParsePasswd: a line is refused or gives its name, home and ids
// back, never a panic.
func FuzzParsePasswd(f *testing.F) {
	f.Add("alice:x:1001:100:Alice:/home/alice:/bin/bash")
	f.Add("a:b:c:d:e:f:g")
	f.Add("::::::")
	f.Fuzz(func(t *testing.T, line string) {
		a, err := parsePasswd(line)
		if err != nil {
			return
		}
		f := strings.Split(line, ":")
		uid, _ := strconv.ParseUint(f[2], 10, 64)
		gid, _ := strconv.ParseUint(f[3], 10, 64)
		if a.Name != f[0] || a.Home != f[5] || uint64(a.UID) != uid || uint64(a.GID) != gid {
			t.Fatalf("parsePasswd(%q) = %+v", line, a)
		}
	})
}
