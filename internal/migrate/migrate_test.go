package migrate_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/migrate"
	"github.com/otpgate/otpgate/internal/oidcstate"
	"github.com/otpgate/otpgate/internal/pgtest"
	"github.com/otpgate/otpgate/internal/postgres"
	"github.com/otpgate/otpgate/internal/sqlite"
	"github.com/otpgate/otpgate/otp"
)

// freshPostgres opens a PostgreSQL store on a new schema of the test
// database (OTPGATE_TEST_POSTGRES_DSN, from scripts/start-postgres), dropped
// when the test ends.
func freshPostgres(t testing.TB) *postgres.Store {
	t.Helper()
	dsn, _, _ := pgtest.Schema(t)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copySQLite copies the SQLite store at path into to with migrate.Copy, as
// otpgate migrate-store does, and returns the summary of what was moved.
func copySQLite(t testing.TB, path string, to migrate.Importer) (migrate.Summary, error) {
	t.Helper()
	lite, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	r, err := migrate.Copy(context.Background(), lite, to)
	if err == nil && r.Target != r.Source {
		t.Errorf("Copy = %+v, nil; want the target's summary equal to the source's", r)
	}
	return r.Source, err
}

// clock is a settable time for the services.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustCipher(t *testing.T, key []byte) *mfa.Cipher {
	t.Helper()
	cipher, err := mfa.NewCipher(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return cipher
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func service(t *testing.T, s mfa.Store, key []byte, c *clock) *mfa.Service {
	t.Helper()
	cipher := mustCipher(t, key)
	return mfa.NewService(mfa.Deps{Store: s, Cipher: cipher, Rand: rand.Reader, Now: c.now,
		Hasher: mfa.NewHasher(mfa.Argon2Params{Memory: 64, Time: 1, Threads: 1}, rand.Reader, mfa.HashLimits{Concurrent: 2, Queue: 64})},
		mfa.Options{Window: otp.Skew(1)})
}

// TestSQLiteToPostgres builds a site on SQLite through the service (users,
// a deleted one leaving a gap in the IDs, confirmed and pending TOTP,
// recovery codes, a session, throttle counts, a setup token), moves it, and
// then signs in on PostgreSQL with what the users hold: the session token,
// a TOTP code from the enrolled secret and a recovery code.
func TestSQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)}
	path := filepath.Join(t.TempDir(), "otpgate.db")
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := service(t, lite, key, c)
	if _, _, err := svc.SetupToken(ctx); err != nil {
		t.Fatal(err)
	}
	users := map[string]mfa.User{}
	for _, name := range []string{"alice", "gone", "bob"} {
		u, err := svc.CreateUser(ctx, mfa.NewUser{Name: name, Password: "password-" + name})
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	bobName, bobGroups := "Bob Ünder", []string{"hpc", "staff"}
	if _, err := svc.SetProfile(ctx, users["bob"].ID, mfa.Profile{DisplayName: &bobName, Groups: &bobGroups}); err != nil {
		t.Fatal(err)
	}
	if err := lite.DeleteUser(ctx, users["gone"].ID); err != nil {
		t.Fatal(err)
	}
	alice, bob := users["alice"], users["bob"]
	_, enr, err := svc.BeginEnrolment(ctx, alice, mfa.Proof{Session: mfa.Session{Created: c.t}})
	if err != nil {
		t.Fatal(err)
	}
	_, conf, err := svc.ConfirmEnrolment(ctx, alice, enr.ID, enr.URI.Key.TOTP(c.t))
	if err != nil || len(conf.RecoveryCodes) == 0 {
		t.Fatalf("ConfirmEnrolment = %+v, %v", conf, err)
	}
	if _, _, err := svc.BeginEnrolment(ctx, alice, mfa.Proof{Session: mfa.Session{Created: c.t}}); err != nil { // a second phone, pending
		t.Fatal(err)
	}
	if r, err := svc.SecondFactor(ctx, alice.ID, conf.RecoveryCodes[0]); err != nil || r.Outcome != mfa.OK {
		t.Fatalf("SecondFactor(recovery code) = %v, %v", r.Outcome, err)
	}
	token, err := svc.NewSession(ctx, alice.ID, mfa.LevelFull)
	if err != nil {
		t.Fatal(err)
	}
	hostToken, err := svc.AddHost(ctx, "login1", true)
	if err != nil {
		t.Fatal(err)
	}
	// An OpenID Connect client and the provider's signing key, sealed as
	// the provider seals it (with the server's key); a code and a refresh
	// token, which are not moved.
	client := oidcstate.Client{ID: "nextcloud", SecretHash: sha256Of("client secret"), RedirectURIs: []string{"https://cloud.example.org/apps/user_oidc/code"},
		RequireSecondFactor: true, Created: c.t}
	if err := lite.CreateOIDCClient(ctx, client); err != nil {
		t.Fatal(err)
	}
	private := []byte("PKCS #8 private key")
	sealedKey, err := mustCipher(t, key).Seal(private, 0, "kid-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := lite.CreateSigningKey(ctx, oidcstate.SigningKey{ID: "kid-1", Algorithm: "RS256", Sealed: sealedKey, Created: c.t, SignFrom: c.t}); err != nil {
		t.Fatal(err)
	}
	if err := lite.CreateAuthRequest(ctx, oidcstate.AuthRequest{ID: "req", ClientID: "nextcloud", MaxAge: -1, Created: c.t}); err != nil {
		t.Fatal(err)
	}
	if err := lite.CreateRefreshToken(ctx, oidcstate.RefreshToken{Hash: sha256Of("refresh"), Family: "F", ClientID: "nextcloud", UserID: alice.ID,
		Created: c.t, Expires: c.t.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Throttle keys: this failure, and the address of the sign-in above
	// (forgiven, still there); alice's was reset by her success.
	if _, err := lite.Attempt(ctx, "user:bob", mfa.DefaultThrottles.Account, c.t); err != nil {
		t.Fatal(err)
	}
	rule, err := svc.AddRule(ctx, mfa.RuleInput{Groups: "hpc", Deadline: "2027-01-15", Except: "guests", AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()

	pg := freshPostgres(t)
	sum, err := copySQLite(t, path, pg)
	if err != nil {
		t.Fatalf("Copy = %v", err)
	}
	t.Logf("moved %v", sum)
	want := migrate.Summary{Users: 2, Authenticators: 2, RecoveryCodes: mfa.RecoveryCodeCount, Sessions: 1, SetupTokens: 1, ThrottleKeys: 2, Hosts: 1,
		OIDCClients: 1, SigningKeys: 1, EnforceRules: 1}
	want.Checksum = sum.Checksum
	if sum != want {
		t.Errorf("moved %v, want %v", sum, want)
	}

	// The users sign in on PostgreSQL with what they hold.
	c.t = c.t.Add(time.Minute)
	svc = service(t, pg, key, c)
	if _, u, err := svc.Session(ctx, token); err != nil || u.ID != alice.ID {
		t.Errorf("Session(token) after the move = %v, %v, want alice", u.Name, err)
	}
	if h, err := svc.HostByToken(ctx, hostToken, ""); err != nil || h.Name != "login1" || !h.AllowPassword {
		t.Errorf("HostByToken after the move = %+v, %v, want login1, allowed passwords", h, err)
	}
	if r, err := svc.SecondFactor(ctx, alice.ID, enr.URI.Key.TOTP(c.t)); err != nil || r.Outcome != mfa.OK {
		t.Errorf("SecondFactor(TOTP) after the move = %v, %v, want OK (the sealed secret must open)", r.Outcome, err)
	}
	if r, err := svc.SecondFactor(ctx, alice.ID, conf.RecoveryCodes[0]); err != nil || r.Outcome == mfa.OK {
		t.Errorf("SecondFactor(used recovery code) after the move = %v, %v, want refused", r.Outcome, err)
	}
	if r, err := svc.SecondFactor(ctx, alice.ID, conf.RecoveryCodes[1]); err != nil || r.Outcome != mfa.OK {
		t.Errorf("SecondFactor(unused recovery code) after the move = %v, %v, want OK", r.Outcome, err)
	}
	// The client is there with its secret's hash, the key opens with the
	// same secret key; the code and the refresh token stayed behind.
	if got, err := pg.OIDCClient(ctx, "nextcloud"); err != nil || !bytes.Equal(got.SecretHash, client.SecretHash) || !got.RequireSecondFactor {
		t.Errorf("OIDCClient after the move = %+v, %v, want %+v", got, err, client)
	}
	if keys, err := pg.SigningKeys(ctx); err != nil || len(keys) != 1 {
		t.Errorf("SigningKeys after the move = %+v, %v, want kid-1", keys, err)
	} else if opened, err := mustCipher(t, key).Open(keys[0].Sealed, 0, keys[0].ID); err != nil || !bytes.Equal(opened, private) {
		t.Errorf("the moved signing key opens as %q, %v, want the private key", opened, err)
	}
	if _, err := pg.AuthRequest(ctx, "req"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("AuthRequest after the move = %v, want not moved", err)
	}
	if _, err := pg.RefreshToken(ctx, sha256Of("refresh")); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("RefreshToken after the move = %v, want not moved", err)
	}
	if rs, err := svc.StoredRules(ctx); err != nil || len(rs) != 1 || rs[0].ID != rule.ID || rs[0].String() != rule.String() {
		t.Errorf("enforcement rules after the move = %v, %v, want %v", rs, err, rule)
	}
	movedBob, _ := pg.UserByName(ctx, "bob")
	if due, err := svc.SetupDue(ctx, movedBob); err != nil || due.Deadline.Format(time.DateOnly) != "2027-01-15" {
		t.Errorf("bob's deadline after the move = %+v, %v, want 2027-01-15", due, err)
	}
	carol, err := svc.CreateUser(ctx, mfa.NewUser{Name: "carol", Password: "password-carol"})
	if err != nil {
		t.Fatal(err)
	}
	if moved, err := pg.UserByName(ctx, "bob"); err != nil || moved.ID != bob.ID {
		t.Errorf("bob's ID after the move = %d, %v, want %d", moved.ID, err, bob.ID)
	} else if moved.DisplayName != bobName || !slices.Equal(moved.Groups, bobGroups) {
		t.Errorf("bob's profile after the move = %q, %q, want %q, %q", moved.DisplayName, moved.Groups, bobName, bobGroups)
	}
	if carol.ID <= bob.ID {
		t.Errorf("new user's ID after the move = %d, want past the moved ones (%d)", carol.ID, bob.ID)
	}

	// A second run finds the target not empty and changes nothing.
	_, err = copySQLite(t, path, pg)
	if !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("Copy into a used store = %v, want ErrConflict", err)
	}
	if users, _ := pg.Users(ctx); len(users) != 3 {
		t.Errorf("users after the refused second run = %d, want 3", len(users))
	}
}

// TestSummary checks that the checksum sees a change in any table and does
// not depend on row order or sub-microsecond time.
func TestSummary(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	base := func() migrate.Dump {
		return migrate.Dump{
			Users: []mfa.User{{ID: 1, Name: "a", Created: t0}, {ID: 2, Name: "b", Created: t0}},
			Authenticators: []mfa.Authenticator{{ID: "x", UserID: 1, SealedSecret: []byte{1, 2}, Digits: 6,
				Period: 30 * time.Second, Created: t0, Confirmed: t0, LastStep: 7}},
			RecoveryCodes: []migrate.RecoveryCode{{UserID: 1, Hash: []byte{9}, Created: t0}},
			Sessions:      []mfa.Session{{TokenHash: []byte{3}, UserID: 1, Level: mfa.LevelFull, Created: t0, LastSeen: t0}},
			TrustedBrowsers: []mfa.TrustedBrowser{{TokenHash: []byte{8}, UserID: 1, Created: t0, Expires: t0.Add(time.Hour), LastUsed: t0,
				UserAgent: "Firefox", Addr: "192.0.2.1"}},
			SetupTokens:  []migrate.SetupToken{{Hash: []byte{4}, Expires: t0}},
			Throttle:     []migrate.ThrottleEntry{{Key: "user:a", Failures: 2, LastFailure: t0}},
			Hosts:        []mfa.Host{{ID: 1, Name: "login1", TokenHash: []byte{5}, Created: t0}},
			OIDCClients:  []oidcstate.Client{{ID: "app", SecretHash: []byte{6}, RedirectURIs: []string{"https://app/cb"}, Created: t0}},
			SigningKeys:  []oidcstate.SigningKey{{ID: "k1", Algorithm: "RS256", Sealed: []byte{7}, Created: t0, SignFrom: t0}},
			EnforceRules: []mfa.EnforceRecord{{ID: 1, Groups: []string{"hpc"}, Deadline: "2027-01-15", Updated: t0, UpdatedBy: "root"}},
		}
	}
	b := base()
	want := b.Summary()
	tests := []struct {
		name   string
		change func(d *migrate.Dump)
		same   bool
	}{
		{"rows reordered", func(d *migrate.Dump) { d.Users[0], d.Users[1] = d.Users[1], d.Users[0] }, true},
		{"nanoseconds", func(d *migrate.Dump) { d.Users[0].Created = t0.Add(999) }, true},
		{"user name", func(d *migrate.Dump) { d.Users[1].Name = "c" }, false},
		{"user ID", func(d *migrate.Dump) { d.Users[1].ID = 3 }, false},
		{"display name", func(d *migrate.Dump) { d.Users[1].DisplayName = "B" }, false},
		{"groups", func(d *migrate.Dump) { d.Users[1].Groups = []string{"hpc"} }, false},
		{"empty groups", func(d *migrate.Dump) { d.Users[1].Groups = []string{} }, true},
		{"sealed secret", func(d *migrate.Dump) { d.Authenticators[0].SealedSecret[1] = 3 }, false},
		{"last step", func(d *migrate.Dump) { d.Authenticators[0].LastStep = 8 }, false},
		{"recovery code used", func(d *migrate.Dump) { d.RecoveryCodes[0].Used = t0 }, false},
		{"session level", func(d *migrate.Dump) { d.Sessions[0].Level = mfa.LevelPassword }, false},
		{"setup token", func(d *migrate.Dump) { d.SetupTokens[0].Expires = t0.Add(time.Second) }, false},
		{"throttle", func(d *migrate.Dump) { d.Throttle[0].Failures = 3 }, false},
		{"row dropped", func(d *migrate.Dump) { d.Sessions = nil }, false},
		{"host allows passwords", func(d *migrate.Dump) { d.Hosts[0].AllowPassword = true }, false},
		{"host dropped", func(d *migrate.Dump) { d.Hosts = nil }, false},
		{"trusted browser's last use", func(d *migrate.Dump) { d.TrustedBrowsers[0].LastUsed = t0.Add(time.Second) }, false},
		{"trusted browser dropped", func(d *migrate.Dump) { d.TrustedBrowsers = nil }, false},
		{"client redirect URI", func(d *migrate.Dump) { d.OIDCClients[0].RedirectURIs[0] = "https://app/cb2" }, false},
		{"client secret", func(d *migrate.Dump) { d.OIDCClients[0].SecretHash[0] = 8 }, false},
		{"client needs a second factor", func(d *migrate.Dump) { d.OIDCClients[0].RequireSecondFactor = true }, false},
		{"client's empty lists", func(d *migrate.Dump) { d.OIDCClients[0].PostLogoutRedirectURIs = []string{} }, true},
		{"client dropped", func(d *migrate.Dump) { d.OIDCClients = nil }, false},
		{"signing key sealed", func(d *migrate.Dump) { d.SigningKeys[0].Sealed[0] = 9 }, false},
		{"signing key retired", func(d *migrate.Dump) { d.SigningKeys[0].RetireAt = t0 }, false},
		{"signing key dropped", func(d *migrate.Dump) { d.SigningKeys = nil }, false},
		{"rule's deadline", func(d *migrate.Dump) { d.EnforceRules[0].Deadline = "2027-01-16" }, false},
		{"rule's except groups", func(d *migrate.Dump) { d.EnforceRules[0].Except = []string{"guests"} }, false},
		{"rule dropped", func(d *migrate.Dump) { d.EnforceRules = nil }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			tc.change(&d)
			got := d.Summary()
			if (got == want) != tc.same {
				t.Errorf("Summary() after %s = %v, want same as before: %v", tc.name, got, tc.same)
			}
		})
	}
}

// TestSQLiteToPostgresScale moves a store of 100 000 accounts, each with a
// confirmed authenticator, ten recovery codes and a session, and checks
// the copy by counts and checksum.
func TestSQLiteToPostgresScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100 000 accounts")
	}
	const n = 100_000
	pg := freshPostgres(t)
	path := filepath.Join(t.TempDir(), "otpgate.db")
	seedSQLite(t, path, n)
	begin := time.Now()
	sum, err := copySQLite(t, path, pg)
	if err != nil {
		t.Fatalf("Copy = %v", err)
	}
	t.Logf("moved %v in %v", sum, time.Since(begin).Round(time.Millisecond))
	if sum.Users != n || sum.Authenticators != n || sum.RecoveryCodes != 10*n || sum.Sessions != n {
		t.Errorf("moved %v, want %d of each and %d recovery codes", sum, n, 10*n)
	}
}

// seedSQLite fills a SQLite store with n accounts in one transaction, in
// SQL, as only a test may.
func seedSQLite(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC).UnixNano()
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < %d)
			INSERT INTO users (id, name, password_hash, created_at) SELECT n, 'user' || n, '$argon2id$h' || n, %d + n FROM i`, n, now),
		fmt.Sprintf(`INSERT INTO authenticators (id, user_id, name, sealed_secret, algorithm, digits, period_seconds,
			created_at, confirmed_at, last_used_at, last_step)
			SELECT printf('%%032x', id), id, 'Authenticator app', randomblob(49), 'SHA1', 6, 30, %d, %d, %d, 59000000 + id FROM users`, now, now, now),
		`WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 10)
			INSERT INTO recovery_codes (user_id, hash, created_at, used_at)
			SELECT id, randomblob(32), ` + fmt.Sprint(now) + `, CASE WHEN k.n = 1 THEN ` + fmt.Sprint(now) + ` END FROM users, k`,
		fmt.Sprintf(`INSERT INTO sessions (token_hash, user_id, level, created_at, last_seen_at)
			SELECT randomblob(32), id, 2, %d, %d FROM users`, now, now),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// TestCopySQLite copies one SQLite store into another with Copy, which
// needs no PostgreSQL: counts and checksums agree, and a second copy is
// refused.
func TestCopySQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seedSQLite(t, filepath.Join(dir, "from.db"), 20)
	to, err := sqlite.Open(ctx, filepath.Join(dir, "to.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	sum, err := copySQLite(t, filepath.Join(dir, "from.db"), to)
	if err != nil {
		t.Fatalf("Copy = %v", err)
	}
	want := migrate.Summary{Users: 20, Authenticators: 20, RecoveryCodes: 200, Sessions: 20, Checksum: sum.Checksum}
	if sum != want || len(sum.Checksum) != 64 {
		t.Errorf("moved %v, want %v", sum, want)
	}
	if _, err := copySQLite(t, filepath.Join(dir, "from.db"), to); !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("Copy into a used store = %v, want ErrConflict", err)
	}
}

// lossy is a target that loses the last session of what it imports, or
// fails to import.
type lossy struct {
	d         migrate.Dump
	importErr error
}

func (l *lossy) Import(_ context.Context, d migrate.Dump) error {
	if l.importErr != nil {
		return l.importErr
	}
	l.d = d
	l.d.Sessions = l.d.Sessions[:len(l.d.Sessions)-1]
	return nil
}

func (l *lossy) Export(context.Context) (migrate.Dump, error) { return l.d, nil }

// TestCopyChecks: Copy reports a target that does not hold what was read
// as ErrDiffers, with both summaries, and passes an import's error on.
func TestCopyChecks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otpgate.db")
	seedSQLite(t, path, 3)
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()

	r, err := migrate.Copy(ctx, lite, &lossy{})
	if !errors.Is(err, migrate.ErrDiffers) {
		t.Errorf("Copy into a target losing a row = %v, want ErrDiffers", err)
	}
	if r.Source.Sessions != 3 || r.Target.Sessions != 2 || r.Source.Checksum == r.Target.Checksum {
		t.Errorf("Copy into a target losing a row reported %+v, want 3 sessions read, 2 back, checksums apart", r)
	}

	_, err = migrate.Copy(ctx, lite, &lossy{importErr: mfa.ErrConflict})
	if !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("Copy into a target refusing the import = %v, want ErrConflict", err)
	}
}
