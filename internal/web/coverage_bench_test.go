package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/userfile"
	"github.com/otpgate/otpgate/otp"
)

// BenchmarkCoverage counts the coverage of group hpc, whose members are
// the -admin-users users (100,000) of the store: 90% with a confirmed
// authenticator in the store, the others without, of whom 1,000 have a
// valid google-authenticator file and 100 a broken one in a temporary
// directory (template DIR/${USER}, owner check off; their accounts are
// looked up, and getent(1) asked, as at a sign-in). "count" is one
// count from scratch (the store's two queries and the files of the
// members without a store authenticator); "store" the two queries alone;
// "kept" a count within CoverageTTL.
func BenchmarkCoverage(b *testing.B) {
	dir := b.TempDir()
	e, n, enrolled := coverageEnv(b, dir+"/${USER}")
	ctx := context.Background()
	withFile, broken := 1000, 100
	for i := range withFile + broken {
		content := stateFile
		if i >= withFile {
			content = ""
		}
		writeStateFile(b, dir, fmt.Sprintf("u%06d", enrolled+i), content, 0o600)
	}
	want := mfa.GroupCoverage{Group: "hpc", Members: n, Enrolled: enrolled + withFile, FromFile: withFile}
	count := func(b *testing.B) {
		c, err := e.svc.Coverage(ctx, []string{"hpc"})
		if err != nil || c[0] != want {
			b.Fatalf("Coverage = %+v, %v, want %+v", c, err, want)
		}
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			e.clock.Add(e.svc.Options().CoverageTTL)
			count(b)
		}
	})
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.store.GroupCoverage(ctx, "hpc"); err != nil {
				b.Fatal(err)
			}
			if names, err := e.store.GroupUnenrolled(ctx, "hpc"); err != nil || len(names) != n-enrolled {
				b.Fatalf("GroupUnenrolled = %d names, %v", len(names), err)
			}
		}
	})
	b.Run("kept", func(b *testing.B) {
		count(b)
		b.ReportAllocs()
		for b.Loop() {
			count(b)
		}
	})
}

// BenchmarkCoverageHome is BenchmarkCoverage's count with the template
// ${HOME}/.google_authenticator: every member without a store
// authenticator is looked up to find the file (getent(1) for each, as
// they are not in /etc/passwd, and none is found).
func BenchmarkCoverageHome(b *testing.B) {
	e, n, enrolled := coverageEnv(b, "${HOME}/.google_authenticator")
	want := mfa.GroupCoverage{Group: "hpc", Members: n, Enrolled: enrolled}
	for b.Loop() {
		e.clock.Add(e.svc.Options().CoverageTTL)
		c, err := e.svc.Coverage(context.Background(), []string{"hpc"})
		if err != nil || c[0] != want {
			b.Fatalf("Coverage = %+v, %v, want %+v", c, err, want)
		}
	}
}

// coverageEnv is a server with users' files at template (owner check
// off) and -admin-users users in hpc, the first 90% of them with a
// confirmed authenticator; it returns the number of users and of those
// enrolled.
func coverageEnv(b *testing.B, template string) (*env, int, int) {
	b.Helper()
	src, err := userfile.New(slog.New(slog.NewTextHandler(io.Discard, nil)), userfile.Options{Template: template, NoStrictOwner: true})
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, setup{noAudit: true, files: src})
	ctx := context.Background()
	bulk, ok := e.store.(bulkStore)
	if !ok {
		b.Skip("store cannot be seeded")
	}
	n := *adminUsers
	enrolled := n * 9 / 10
	for start := 0; start < n; start += 10_000 {
		var us []mfa.User
		var as []mfa.Authenticator
		for i := start; i < min(start+10_000, n); i++ {
			u := mfa.User{ID: int64(i + 1000), Name: fmt.Sprintf("u%06d", i), PasswordHash: "x", Created: e.clock.Now()}
			us = append(us, u)
			if i < enrolled {
				as = append(as, mfa.Authenticator{ID: fmt.Sprintf("%032x", i), UserID: u.ID, Name: "phone", SealedSecret: []byte{1},
					Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second, Created: e.clock.Now(), Confirmed: e.clock.Now()})
			}
		}
		if err := bulk.InsertAccounts(ctx, us, as, nil); err != nil {
			b.Fatal(err)
		}
	}
	// Seeding sets no groups: every user is in hpc.
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE users SET group_names = 'hpc'`); err != nil {
		b.Fatal(err)
	}
	return e, n, enrolled
}
