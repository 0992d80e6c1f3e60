package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestOIDCSignInIsThePagesSignIn checks that a sign-in for an application
// is bound by the rules of every other sign-in: a code accepted once,
// whichever way it came first, and wrong codes counted in the one code
// budget of the user, so an attacker who knows the password gains no
// guesses by going through the provider.
func TestOIDCSignInIsThePagesSignIn(t *testing.T) {
	o := startOIDC(t)
	o.addUser("alice")
	o.enrol("alice")
	secret := o.addClient("app", "--redirect-uri", rpRedirect)
	r := newRP(t, o, "app", secret)
	password := "alice password"

	// A code used to sign in for the application is refused on the API.
	var used string
	a := newOIDCBrowser(t).follow(r.start().url, "alice", func() string { used = o.code("alice"); return used })
	if !a.back() || a.Get("code") == "" {
		t.Fatalf("the application's sign-in with a fresh code: not sent back with a code: %d\n%s", a.status, a.page)
	}
	if got := apiVerify(t, o.url, "alice", password, used); got == "ok" {
		t.Errorf("API sign-in with the code the application's sign-in used = %q, want refused", got)
	}

	// A code used on the API is refused in the application's sign-in.
	fresh := o.code("alice")
	if got := apiVerify(t, o.url, "alice", password, fresh); got != "ok" {
		t.Fatalf("API sign-in with a fresh code = %q, want ok", got)
	}
	a = newOIDCBrowser(t).follow(r.start().url, "alice", once(fresh))
	if a.back() && a.Get("code") != "" {
		t.Errorf("the application's sign-in accepted a code the API had used")
	} else if !strings.Contains(a.page, "This code was just used") {
		t.Errorf("the application's sign-in with a used code does not say so:\n%s", a.page)
	}

	// Wrong codes in the application's sign-in count in the user's code
	// budget: once it is spent, the right code waits on the API too.
	wrong := func() string {
		n, _ := strconv.Atoi(o.code("alice"))
		return fmt.Sprintf("%06d", (n+500000)%1000000)
	}
	for i := 0; i < 8; i++ {
		if a := newOIDCBrowser(t).follow(r.start().url, "alice", wrong); a.back() && a.Get("code") != "" {
			t.Fatalf("a wrong code got a code for the application")
		}
	}
	if got := apiVerify(t, o.url, "alice", password, o.code("alice")); got != "throttled" {
		t.Errorf("API sign-in with the right code after wrong codes in the application's sign-in = %q, want throttled", got)
	}
	a = newOIDCBrowser(t).follow(r.start().url, "alice", func() string { return o.code("alice") })
	if a.back() && a.Get("code") != "" {
		t.Errorf("the application's sign-in gave a code while the user's code budget waits")
	} else if !strings.Contains(a.page, "Too many wrong codes") {
		t.Errorf("the application's sign-in while the code budget waits does not say so:\n%s", a.page)
	}
}

// once gives code the first time and then nothing, so that a sign-in
// stops at the page that answers it.
func once(code string) func() string {
	return func() string {
		c := code
		code = ""
		return c
	}
}
