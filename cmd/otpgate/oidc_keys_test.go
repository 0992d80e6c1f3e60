package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// kidOf is the key ID in a JWT's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(mustDecode(t, strings.Split(jwt, ".")[0]), &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// jwks returns the kids the server publishes, by algorithm.
func jwks(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/oidc/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Alg, Use string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range set.Keys {
		if k.Use != "sig" {
			t.Errorf("key %s of use %q", k.Kid, k.Use)
		}
		out[k.Kid] = k.Alg
	}
	return out
}

// TestOIDCKeyRotation: the first start makes an RS256 and an ES256 key,
// published, RS256 signing; "keys rotate" publishes the next keys at once
// while the current ones go on signing until -publish-for has passed, and
// a second rotation waits for it; with -publish-for 0 the next keys sign
// at once, and a token the previous key signed still verifies: that key
// stays published until its tokens have expired (keys list says until
// when).
func TestOIDCKeyRotation(t *testing.T) {
	addr := freeAddr(t)
	common := []string{"-data-dir", filepath.Join(t.TempDir(), "data"), "-base-url", "http://" + addr}
	o := startOIDCOn(t, common, "-addr", addr)
	o.addUser("alice")
	secret := o.addClient("app", "--redirect-uri", rpRedirect)
	idToken := func(o *oidcServer) string {
		r := newRP(t, o, "app", secret)
		f, code := r.signIn(newOIDCBrowser(t), "alice")
		tok, err := r.exchange(f, code)
		if err != nil {
			t.Fatal(err)
		}
		r.idToken(f, tok)
		return tok.Extra("id_token").(string)
	}
	first := jwks(t, o.url)
	t1 := idToken(o)
	kid1 := kidOf(t, t1)
	if len(first) != 2 || first[kid1] != "RS256" || !strings.Contains(strings.Join(mapValues(first), " "), "ES256") {
		t.Fatalf("first start's JWKS = %v, RS256 %s signing", first, kid1)
	}

	out := o.cmd("", "keys", "rotate", "-publish-for", "24h")
	if !regexp.MustCompile(`(?m)\S+\s+RS256\s+next\s`).MatchString(out) || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(kid1)+`\s+RS256\s+current\s`).MatchString(out) {
		t.Errorf("keys rotate =\n%s", out)
	}
	if _, err := runInput(t, "", append([]string{"keys", "rotate"}, common...)...); !errors.As(err, new(exitError)) || !strings.Contains(err.Error(), "do not sign yet") {
		t.Errorf("a second rotation while the first is pending = %v, want a refusal", err)
	}
	// A new instance reads the keys at once (a running one within a minute).
	o.stop()
	o = startOIDCOn(t, common, "-addr", addr)
	second := jwks(t, o.url)
	if len(second) != 4 {
		t.Errorf("JWKS after the rotation = %v, want the current and the next keys", second)
	}
	t2 := idToken(o)
	if kidOf(t, t2) != kid1 {
		t.Errorf("an ID token after the rotation is signed by %s, want %s until publish-for has passed", kidOf(t, t2), kid1)
	}
	r := newRP(t, o, "app", secret)
	if _, err := r.verifier.Verify(context.Background(), t1); err != nil {
		t.Errorf("the token of before the rotation: %v", err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(kid1) + `\s+RS256\s+current\s+.*\s(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+)$`).FindStringSubmatch(o.cmd("", "keys", "list"))
	if m == nil {
		t.Fatalf("keys list does not say until when %s is published", kid1)
	}
	until, err := time.ParseInLocation(keyTime, m[1], time.Local)
	if want := time.Now().Add(24*time.Hour + 10*time.Minute + 5*time.Minute); err != nil || until.Sub(want).Abs() > time.Minute {
		t.Errorf("%s published until %v, want the next key's start + the token lifetime + 5m (%v)", kid1, until, want)
	}

	// An emergency rotation on a new store: the next key signs at once.
	addr = freeAddr(t)
	common = []string{"-data-dir", filepath.Join(t.TempDir(), "data"), "-base-url", "http://" + addr}
	o = startOIDCOn(t, common, "-addr", addr)
	o.addUser("alice")
	secret = o.addClient("app", "--redirect-uri", rpRedirect)
	t1 = idToken(o)
	o.cmd("", "keys", "rotate", "-publish-for", "0s")
	o.stop()
	o = startOIDCOn(t, common, "-addr", addr)
	t2 = idToken(o)
	if kidOf(t, t2) == kidOf(t, t1) {
		t.Errorf("after a rotation with -publish-for 0 the old key still signs")
	}
	if _, err := newRP(t, o, "app", secret).verifier.Verify(context.Background(), t1); err != nil {
		t.Errorf("a token of the previous key after the rotation: %v", err)
	}
	if keys := jwks(t, o.url); keys[kidOf(t, t1)] != "RS256" || keys[kidOf(t, t2)] != "RS256" {
		t.Errorf("JWKS = %v, want both RS256 keys", keys)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
