package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/oidcstate"
)

// The OpenID Connect provider's part of the suite (oidcstate.Store):
// clients, requests and codes, signing keys and session links here; tokens
// in oidctoken.go; what must hold under concurrency in oidcshared.go.

// oidcStore returns s as an oidcstate.Store, or fails the test.
func oidcStore(t *testing.T, s mfa.Store) oidcstate.Store {
	t.Helper()
	o, ok := s.(oidcstate.Store)
	if !ok {
		t.Fatalf("%T does not implement oidcstate.Store", s)
	}
	return o
}

// hash32 is a 32-byte value made of b, standing for a SHA-256.
func hash32(b byte) []byte { return bytes.Repeat([]byte{b}, sha256.Size) }

// mustClient registers a confidential client id.
func mustClient(t *testing.T, o oidcstate.Store, id string) oidcstate.Client {
	t.Helper()
	c := oidcstate.Client{ID: id, SecretHash: hash32(0xc0), RedirectURIs: []string{"https://" + id + ".example.org/callback"}, Created: t0}
	if err := o.CreateOIDCClient(context.Background(), c); err != nil {
		t.Fatalf("CreateOIDCClient(%s) = %v", id, err)
	}
	return c
}

// mustRequest stores a request of client, signed in as user unless user is
// zero, with the code code (a hash; none if nil) valid until t0+10min.
func mustRequest(t *testing.T, o oidcstate.Store, id, client string, user int64, code []byte) oidcstate.AuthRequest {
	t.Helper()
	ctx := context.Background()
	r := oidcstate.AuthRequest{ID: id, ClientID: client, RedirectURI: "https://" + client + ".example.org/callback",
		Scopes: []string{"openid", "profile", "groups"}, State: "st-" + id, Nonce: "n-" + id, ResponseType: "code",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", MaxAge: -1, Created: t0}
	if err := o.CreateAuthRequest(ctx, r); err != nil {
		t.Fatalf("CreateAuthRequest(%s) = %v", id, err)
	}
	if user != 0 {
		r.UserID, r.AuthTime, r.AMR, r.SessionID = user, t0, []string{"pwd", "otp"}, "sid-"+id
		if err := o.CompleteAuthRequest(ctx, r); err != nil {
			t.Fatalf("CompleteAuthRequest(%s) = %v", id, err)
		}
	}
	if code != nil {
		r.CodeHash, r.CodeExpires = code, t0.Add(10*time.Minute)
		if err := o.SetAuthCode(ctx, id, code, r.CodeExpires); err != nil {
			t.Fatalf("SetAuthCode(%s) = %v", id, err)
		}
	}
	return r
}

var equateEmpty = cmpopts.EquateEmpty()

func testOIDCClients(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	conf := oidcstate.Client{ID: "nextcloud", SecretHash: hash32(1),
		RedirectURIs:           []string{"https://cloud.example.org/apps/user_oidc/code", "https://cloud2.example.org/apps/user_oidc/code"},
		PostLogoutRedirectURIs: []string{"https://cloud.example.org/"}, BackChannelLogoutURI: "https://cloud.example.org/apps/user_oidc/backchannel-logout/otpgate",
		RequireSecondFactor: true, Created: t0}
	pub := oidcstate.Client{ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback"}, Created: t0.Add(time.Second)}
	for _, c := range []oidcstate.Client{conf, pub} {
		if err := o.CreateOIDCClient(ctx, c); err != nil {
			t.Fatalf("CreateOIDCClient(%s) = %v", c.ID, err)
		}
	}
	wantErr(t, "CreateOIDCClient(ID taken)", o.CreateOIDCClient(ctx, pub), mfa.ErrConflict)
	wantErr(t, "CreateOIDCClient(public with a secret)", o.CreateOIDCClient(ctx,
		oidcstate.Client{ID: "x1", Public: true, SecretHash: hash32(2), RedirectURIs: []string{"https://x"}, Created: t0}), mfa.ErrInvalid)
	wantErr(t, "CreateOIDCClient(confidential without a secret)", o.CreateOIDCClient(ctx,
		oidcstate.Client{ID: "x2", RedirectURIs: []string{"https://x"}, Created: t0}), mfa.ErrInvalid)
	wantErr(t, "CreateOIDCClient(a secret hash of 3 bytes)", o.CreateOIDCClient(ctx,
		oidcstate.Client{ID: "x3", SecretHash: []byte{1, 2, 3}, RedirectURIs: []string{"https://x"}, Created: t0}), mfa.ErrInvalid)

	got, err := o.OIDCClient(ctx, "nextcloud")
	if err != nil {
		t.Fatalf("OIDCClient(nextcloud) = %v", err)
	}
	if diff := cmp.Diff(conf, got); diff != "" {
		t.Errorf("OIDCClient(nextcloud) mismatch (-want +got):\n%s", diff)
	}
	_, err = o.OIDCClient(ctx, "x2")
	wantErr(t, "OIDCClient(refused one)", err, mfa.ErrNotFound)
	list, err := o.OIDCClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]oidcstate.Client{pub, conf}, list, equateEmpty); diff != "" {
		t.Errorf("OIDCClients() mismatch, want ordered by ID (-want +got):\n%s", diff)
	}
	wantErr(t, "DeleteOIDCClient(unknown)", o.DeleteOIDCClient(ctx, "x1"), mfa.ErrNotFound)
	if err := o.DeleteOIDCClient(ctx, "cli"); err != nil {
		t.Fatalf("DeleteOIDCClient(cli) = %v", err)
	}
	_, err = o.OIDCClient(ctx, "cli")
	wantErr(t, "OIDCClient(deleted)", err, mfa.ErrNotFound)
	if list, _ := o.OIDCClients(ctx); len(list) != 1 || list[0].ID != "nextcloud" {
		t.Errorf("OIDCClients() after a delete = %+v, want nextcloud alone", list)
	}
}

// testOIDCAuthRequests follows a request from its arrival to its code's
// redemption, and the refusals on the way.
func testOIDCAuthRequests(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	u := mustUser(t, s, "bob")
	mustClient(t, o, "app")
	r := oidcstate.AuthRequest{ID: "req1", ClientID: "app", RedirectURI: "https://app.example.org/callback",
		Scopes: []string{"openid", "email"}, State: "xyz", Nonce: "n-0S6_WzA2Mj", ResponseType: "code", ResponseMode: "query",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		Prompt: []string{"login", "consent"}, MaxAge: 300, LoginHint: "bob", ACRValues: []string{"https://refeds.org/profile/mfa", "x"},
		Created: t0}
	if err := o.CreateAuthRequest(ctx, r); err != nil {
		t.Fatalf("CreateAuthRequest = %v", err)
	}
	wantErr(t, "CreateAuthRequest(ID taken)", o.CreateAuthRequest(ctx, r), mfa.ErrConflict)
	bad := r
	bad.ID, bad.ClientID = "req2", "unknown"
	wantErr(t, "CreateAuthRequest(unknown client)", o.CreateAuthRequest(ctx, bad), mfa.ErrNotFound)
	got, err := o.AuthRequest(ctx, "req1")
	if err != nil {
		t.Fatalf("AuthRequest = %v", err)
	}
	if diff := cmp.Diff(r, got, equateEmpty); diff != "" {
		t.Errorf("AuthRequest mismatch (-want +got):\n%s", diff)
	}
	if got.Done() {
		t.Errorf("AuthRequest before sign-in: Done() = true")
	}
	_, err = o.AuthRequest(ctx, "req2")
	wantErr(t, "AuthRequest(unknown)", err, mfa.ErrNotFound)

	// No code before a user signed in.
	code := hash32(0xa1)
	wantErr(t, "SetAuthCode(before sign-in)", o.SetAuthCode(ctx, "req1", code, t0.Add(time.Minute)), mfa.ErrConflict)
	wantErr(t, "SetAuthCode(unknown request)", o.SetAuthCode(ctx, "req2", code, t0.Add(time.Minute)), mfa.ErrNotFound)
	_, err = o.TakeAuthCode(ctx, code, t0)
	wantErr(t, "TakeAuthCode(of the refused SetAuthCode)", err, mfa.ErrNotFound)

	done := r
	done.UserID, done.AuthTime, done.AMR, done.SessionID = u.ID, t0.Add(-time.Hour), []string{"pwd", "otp"}, "sid-1"
	wrong := done
	wrong.UserID = 999999
	wantErr(t, "CompleteAuthRequest(unknown user)", o.CompleteAuthRequest(ctx, wrong), mfa.ErrNotFound)
	wrong = done
	wrong.ID = "req2"
	wantErr(t, "CompleteAuthRequest(unknown request)", o.CompleteAuthRequest(ctx, wrong), mfa.ErrNotFound)
	// Only who signed in is taken from the argument.
	changed := done
	changed.RedirectURI, changed.Scopes = "https://evil.example/", []string{"openid", "offline_access"}
	if err := o.CompleteAuthRequest(ctx, changed); err != nil {
		t.Fatalf("CompleteAuthRequest = %v", err)
	}
	got, _ = o.AuthRequest(ctx, "req1")
	if diff := cmp.Diff(done, got, equateEmpty); diff != "" || !got.Done() {
		t.Errorf("AuthRequest after sign-in mismatch, Done() = %v (-want +got):\n%s", got.Done(), diff)
	}

	// A code; a second one replaces it.
	if err := o.SetAuthCode(ctx, "req1", hash32(0xa0), t0.Add(time.Minute)); err != nil {
		t.Fatalf("SetAuthCode = %v", err)
	}
	if err := o.SetAuthCode(ctx, "req1", code, t0.Add(10*time.Minute)); err != nil {
		t.Fatalf("SetAuthCode(again) = %v", err)
	}
	done.CodeHash, done.CodeExpires = code, t0.Add(10*time.Minute)
	other := mustUser(t, s, "eve")
	hijack := done
	hijack.UserID = other.ID
	wantErr(t, "CompleteAuthRequest(as another user, code issued)", o.CompleteAuthRequest(ctx, hijack), mfa.ErrConflict)
	mustRequest(t, o, "req3", "app", u.ID, nil)
	wantErr(t, "SetAuthCode(another request's code)", o.SetAuthCode(ctx, "req3", code, t0.Add(time.Minute)), mfa.ErrConflict)

	_, err = o.TakeAuthCode(ctx, hash32(0xa0), t0)
	wantErr(t, "TakeAuthCode(replaced code)", err, mfa.ErrNotFound)
	taken, err := o.TakeAuthCode(ctx, code, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("TakeAuthCode = %v", err)
	}
	if diff := cmp.Diff(done, taken, equateEmpty); diff != "" {
		t.Errorf("TakeAuthCode mismatch (-want +got):\n%s", diff)
	}
	_, err = o.TakeAuthCode(ctx, code, t0.Add(time.Minute))
	wantErr(t, "TakeAuthCode(again)", err, mfa.ErrNotFound)
	_, err = o.AuthRequest(ctx, "req1")
	wantErr(t, "AuthRequest(redeemed)", err, mfa.ErrNotFound)

	// An expired code is refused, at its expiry exactly, and its request
	// is gone.
	late := mustRequest(t, o, "req4", "app", u.ID, hash32(0xa4))
	_, err = o.TakeAuthCode(ctx, late.CodeHash, late.CodeExpires)
	wantErr(t, "TakeAuthCode(at expiry)", err, mfa.ErrNotFound)
	_, err = o.AuthRequest(ctx, "req4")
	wantErr(t, "AuthRequest(after its expired code was tried)", err, mfa.ErrNotFound)
	if _, err := o.TakeAuthCode(ctx, late.CodeHash, t0); err == nil {
		t.Errorf("TakeAuthCode(expired, then at an earlier time) = nil, want the code gone")
	}

	// Deletion: one, absent, and by age.
	if err := o.DeleteAuthRequest(ctx, "req3"); err != nil {
		t.Errorf("DeleteAuthRequest = %v", err)
	}
	if err := o.DeleteAuthRequest(ctx, "req3"); err != nil {
		t.Errorf("DeleteAuthRequest(absent) = %v, want nil", err)
	}
	mustRequest(t, o, "old", "app", 0, nil)
	young := r
	young.ID, young.Created = "young", t0.Add(time.Hour)
	if err := o.CreateAuthRequest(ctx, young); err != nil {
		t.Fatal(err)
	}
	if err := o.DeleteExpiredAuthRequests(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatalf("DeleteExpiredAuthRequests = %v", err)
	}
	_, err = o.AuthRequest(ctx, "old")
	wantErr(t, "AuthRequest(expired)", err, mfa.ErrNotFound)
	if _, err := o.AuthRequest(ctx, "young"); err != nil {
		t.Errorf("AuthRequest(recent) after DeleteExpiredAuthRequests = %v", err)
	}
}

func testOIDCSigningKeys(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	next := oidcstate.SigningKey{ID: "k2", Algorithm: "ES256", Sealed: []byte("sealed-k2"), Created: t0.Add(time.Hour), SignFrom: t0.Add(25 * time.Hour)}
	first := oidcstate.SigningKey{ID: "k1", Algorithm: "RS256", Sealed: []byte("sealed-k1"), Created: t0, SignFrom: t0}
	for _, k := range []oidcstate.SigningKey{next, first} {
		if err := o.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s) = %v", k.ID, err)
		}
	}
	wantErr(t, "CreateSigningKey(ID taken)", o.CreateSigningKey(ctx, first), mfa.ErrConflict)
	if err := o.RetireSigningKey(ctx, "k1", t0.Add(48*time.Hour)); err != nil {
		t.Fatalf("RetireSigningKey = %v", err)
	}
	first.RetireAt = t0.Add(48 * time.Hour)
	wantErr(t, "RetireSigningKey(unknown)", o.RetireSigningKey(ctx, "k9", t0), mfa.ErrNotFound)
	list, err := o.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]oidcstate.SigningKey{first, next}, list); diff != "" {
		t.Errorf("SigningKeys() mismatch, want oldest first (-want +got):\n%s", diff)
	}
	if err := o.DeleteSigningKey(ctx, "k1"); err != nil {
		t.Errorf("DeleteSigningKey = %v", err)
	}
	if err := o.DeleteSigningKey(ctx, "k1"); err != nil {
		t.Errorf("DeleteSigningKey(absent) = %v, want nil", err)
	}
	if list, _ := o.SigningKeys(ctx); len(list) != 1 || list[0].ID != "k2" {
		t.Errorf("SigningKeys() after a delete = %+v, want k2 alone", list)
	}
}

func testOIDCSessionClients(t *testing.T, s mfa.Store) {
	ctx := context.Background()
	o := oidcStore(t, s)
	u := mustUser(t, s, "bob")
	eve := mustUser(t, s, "eve")
	for _, c := range []string{"b-app", "a-app", "c-app"} {
		mustClient(t, o, c)
	}
	add := func(sid string, user int64, client string, at time.Time) error {
		return o.AddSessionClient(ctx, sid, user, client, at)
	}
	for _, l := range []struct {
		sid, client string
		at          time.Time
	}{{"s1", "b-app", t0}, {"s1", "a-app", t0}, {"s2", "c-app", t0}, {"s1", "b-app", t0.Add(time.Hour)}} {
		if err := add(l.sid, u.ID, l.client, l.at); err != nil {
			t.Fatalf("AddSessionClient(%s, %s) = %v", l.sid, l.client, err)
		}
	}
	wantErr(t, "AddSessionClient(unknown client)", add("s1", u.ID, "zzz", t0), mfa.ErrNotFound)
	wantErr(t, "AddSessionClient(unknown user)", add("s9", 999999, "a-app", t0), mfa.ErrNotFound)
	wantErr(t, "AddSessionClient(another user's sid)", add("s1", eve.ID, "c-app", t0), mfa.ErrConflict)
	wantErr(t, "AddSessionClient(no sid)", add("", u.ID, "c-app", t0), mfa.ErrInvalid)
	if err := add("e1", eve.ID, "a-app", t0); err != nil {
		t.Fatal(err)
	}
	got, err := o.SessionClients(ctx, "s1")
	if diff := cmp.Diff([]string{"a-app", "b-app"}, got); err != nil || diff != "" {
		t.Errorf("SessionClients(s1) = %v (-want +got):\n%s", err, diff)
	}
	if got, err := o.SessionClients(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("SessionClients(unknown) = %v, %v, want none", got, err)
	}
	all, err := o.UserSessionClients(ctx, u.ID)
	if diff := cmp.Diff(map[string][]string{"s1": {"a-app", "b-app"}, "s2": {"c-app"}}, all); err != nil || diff != "" {
		t.Errorf("UserSessionClients = %v (-want +got):\n%s", err, diff)
	}
	// b-app's link was recorded again later: it stays.
	if err := o.DeleteStaleSessionClients(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatalf("DeleteStaleSessionClients = %v", err)
	}
	all, _ = o.UserSessionClients(ctx, u.ID)
	if diff := cmp.Diff(map[string][]string{"s1": {"b-app"}}, all); diff != "" {
		t.Errorf("UserSessionClients after DeleteStaleSessionClients (-want +got):\n%s", diff)
	}
	if err := o.DeleteSessionClients(ctx, "s1"); err != nil {
		t.Fatalf("DeleteSessionClients = %v", err)
	}
	if all, _ := o.UserSessionClients(ctx, u.ID); len(all) != 0 {
		t.Errorf("UserSessionClients after DeleteSessionClients = %v, want none", all)
	}
	if err := o.DeleteSessionClients(ctx, "s1"); err != nil {
		t.Errorf("DeleteSessionClients(absent) = %v, want nil", err)
	}
	if got, _ := o.SessionClients(ctx, "e1"); len(got) != 0 {
		t.Errorf("another user's stale link survived: %v", got)
	}
}
