package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestCipher(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	c, err := NewCipher(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("12345678901234567890")
	sealed, err := c.Seal(secret, 42, "auth1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatalf("sealed value holds the secret")
	}
	got, err := c.Open(sealed, 42, "auth1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open(Seal(secret)) = %q, %v", got, err)
	}
	other, _ := NewCipher(bytes.Repeat([]byte{8}, KeySize), rand.Reader)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		c      *Cipher
		sealed []byte
		user   int64
		auth   string
	}{
		{"other user", c, sealed, 43, "auth1"},
		{"other authenticator", c, sealed, 42, "auth2"},
		{"other key", other, sealed, 42, "auth1"},
		{"tampered", c, tampered, 42, "auth1"},
		{"truncated", c, sealed[:5], 42, "auth1"},
		{"unknown version", c, append([]byte{9}, sealed[1:]...), 42, "auth1"},
	}
	for _, tc := range tests {
		got, err := tc.c.Open(tc.sealed, tc.user, tc.auth)
		if err == nil {
			t.Errorf("%s: Open = %q, want an error", tc.name, got)
		} else if strings.Contains(err.Error(), string(secret)) {
			t.Errorf("%s: error holds the secret", tc.name)
		}
	}
	if _, err := NewCipher(key[:16], rand.Reader); err == nil {
		t.Errorf("NewCipher(16 bytes) = nil error, want an error")
	}
}

// TestRecoveryHash: a stored recovery code hash depends on the key, so a
// copy of the store without the key cannot be searched for the 8-digit
// scratch codes it holds.
func TestRecoveryHash(t *testing.T) {
	c, _ := NewCipher(bytes.Repeat([]byte{7}, KeySize), rand.Reader)
	same, _ := NewCipher(bytes.Repeat([]byte{7}, KeySize), rand.Reader)
	other, _ := NewCipher(bytes.Repeat([]byte{8}, KeySize), rand.Reader)
	h := c.RecoveryHash(42, "12345678")
	if len(h) != 32 || bytes.Contains(h, []byte("12345678")) {
		t.Fatalf("RecoveryHash = %x, want 32 bytes without the code", h)
	}
	if !bytes.Equal(same.RecoveryHash(42, "12345678"), h) {
		t.Errorf("RecoveryHash differs between two ciphers with one key")
	}
	for name, got := range map[string][]byte{
		"other key":  other.RecoveryHash(42, "12345678"),
		"other user": c.RecoveryHash(43, "12345678"),
		"other code": c.RecoveryHash(42, "12345679"),
	} {
		if bytes.Equal(got, h) {
			t.Errorf("%s: same hash %x", name, h)
		}
	}
}

var fastArgon2 = Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastArgon2, rand.Reader, HashLimits{Concurrent: 2, Queue: 64})
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("Hash = %q, want PHC argon2id with its parameters", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse")
	if enc == enc2 {
		t.Errorf("two hashes of one password are equal: salts missing")
	}
	// A hash made with other parameters still checks: they are read from it.
	h2 := NewHasher(Argon2Params{Memory: 2048, Time: 2, Threads: 2}, rand.Reader, HashLimits{Concurrent: 1})
	tests := []struct {
		name, password, enc string
		want                bool
	}{
		{"right", "correct horse", enc, true},
		{"wrong", "correct horsE", enc, false},
		{"empty", "", enc, false},
		{"no user (dummy)", "correct horse", "", false},
	}
	for _, tc := range tests {
		for _, hh := range []*Hasher{h, h2} {
			got, err := hh.Check(ctx, tc.password, tc.enc)
			if err != nil || got != tc.want {
				t.Errorf("%s: Check = %v, %v, want %v", tc.name, got, err, tc.want)
			}
		}
	}
	for _, bad := range []string{"plain", "$argon2i$v=19$m=1024,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		if ok, err := h.Check(ctx, "x", bad); ok || err == nil {
			t.Errorf("Check(%q) = %v, %v, want an error", bad, ok, err)
		}
	}
}

// TestHasherBoundsConcurrency runs 20 hashes' worth of holders on a
// hasher of 2 in a synctest bubble, whose clock only moves when every
// goroutine waits: at most 2 ever hold a slot at once.
func TestHasherBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(fastArgon2, rand.Reader, HashLimits{Concurrent: 2, Queue: 64})
		var running, peak atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := h.acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Millisecond) // virtual: all others block meanwhile
				running.Add(-1)
				h.release()
			})
		}
		wg.Wait()
		if peak.Load() != 2 {
			t.Errorf("peak concurrent hashes = %d, want 2", peak.Load())
		}
		// A caller that gives up while waiting gets its context's error.
		h.acquire(context.Background())
		h.acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash with a full semaphore and a cancelled context = %v, want context.Canceled", err)
		}
	})
}

// TestHasherQueueBound fills a hasher that runs one hash and lets one
// wait: a third is refused at once with ErrBusy, and a slot freed lets the
// next one in.
func TestHasherQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(fastArgon2, rand.Reader, HashLimits{Concurrent: 1, Queue: 1})
		if err := h.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		waiting := make(chan error, 1)
		go func() { waiting <- h.acquire(context.Background()) }()
		synctest.Wait() // it waits for its turn
		if _, err := h.Check(context.Background(), "password", ""); !errors.Is(err, ErrBusy) {
			t.Errorf("Check with one hash running and one waiting = %v, want ErrBusy", err)
		}
		h.release()
		if err := <-waiting; err != nil {
			t.Fatalf("the waiting hash = %v, want its turn", err)
		}
		h.release()
		if _, err := h.Check(context.Background(), "password", ""); err != nil {
			t.Errorf("Check on an idle hasher = %v", err)
		}
	})
}

func TestThrottlePolicyDelay(t *testing.T) {
	p := ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Hour}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {10, 32 * time.Second},
		{16, 2048 * time.Second}, {17, time.Hour}, {1000, time.Hour},
	}
	for _, tc := range tests {
		if got := p.Delay(tc.failures); got != tc.want {
			t.Errorf("Delay(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"bob", true}, {"b.o_b-1@x", true}, {"", false}, {".bob", false}, {"Bob", false},
		{"bo b", false}, {"bób", false}, {strings.Repeat("a", 64), true}, {strings.Repeat("a", 65), false},
	}
	for _, tc := range tests {
		if err := ValidateName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c, err := newRecoveryCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 19 || c[4] != '-' || seen[c] {
			t.Fatalf("newRecoveryCode = %q, want a new xxxx-xxxx-xxxx-xxxx", c)
		}
		seen[c] = true
		n, ok := normalizeRecoveryCode(" " + strings.ToUpper(strings.ReplaceAll(c, "-", " ")) + " ")
		if !ok || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("normalizeRecoveryCode(typed %q) = %q, %v", c, n, ok)
		}
	}
	if n, ok := normalizeRecoveryCode(" 1234-5678 "); !ok || n != "12345678" {
		t.Errorf("normalizeRecoveryCode(scratch code) = %q, %v, want 12345678", n, ok)
	}
	// 16 base32 letters: 80 bits, above the 60 asked for.
	if recoveryCodeBytes*8 < 60 {
		t.Errorf("recovery codes have %d bits, want at least 60", recoveryCodeBytes*8)
	}
	for _, bad := range []string{"", "123456", "abcd-efgh-ijkl-mno1", "abcd-efgh-ijkl-mnopq", "01234567", "123456789", "1234567x"} {
		if _, ok := normalizeRecoveryCode(bad); ok {
			t.Errorf("normalizeRecoveryCode(%q) ok, want not a code", bad)
		}
	}
}

// FuzzParseHash: a stored hash parses or is refused, never panics, and a
// parsed one has bounded costs.
func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, sum, err := parseHash(s)
		if err != nil {
			return
		}
		if p.Memory > 4<<20 || p.Time > 100 || p.Threads == 0 || len(salt) < 8 || len(sum) < 16 {
			t.Fatalf("parseHash(%q) accepted %+v, salt %d, sum %d", s, p, len(salt), len(sum))
		}
	})
}

// FuzzNormalizeRecoveryCode: an accepted code is 16 letters of the
// alphabet or an imported 8-digit scratch code, and normalizing it again
// changes nothing.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	f.Add("abcd-efgh-ijkl-mnop")
	f.Add("ABCD EFGH IJKL MNOP")
	f.Add("123456")
	f.Add("1234 5678")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := normalizeRecoveryCode(s)
		if !ok {
			return
		}
		if (len(n) != 16 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz234567") != "") && !isScratchCode(n) {
			t.Fatalf("normalizeRecoveryCode(%q) = %q", s, n)
		}
		if n2, ok := normalizeRecoveryCode(n); !ok || n2 != n {
			t.Fatalf("normalizeRecoveryCode(%q) = %q, %v, want itself", n, n2, ok)
		}
	})
}

func TestParseGroups(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{" , ,", nil, true},
		{"hpc", []string{"hpc"}, true},
		{"Staff, hpc,staff", []string{"hpc", "staff"}, true},
		{"a b", nil, false},
		{"-x", nil, false},
		{"hpc,ü", nil, false},
		{strings.Repeat("g,", 10) + strings.Repeat("x", 65), nil, false},
	}
	for _, tc := range tests {
		got, err := ParseGroups(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ParseGroups(%q) = %q, %v, want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	many := make([]string, MaxGroups+1)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	if _, err := NormalizeGroups(many); err == nil {
		t.Errorf("NormalizeGroups(%d groups) = nil error, want refused", len(many))
	}
}

func TestValidateDisplayName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"Ada Lovelace", true},
		{"Zoë Ørsted-Łukasz 李", true},
		{"Eve\r\nX-Evil: 1", false},
		{"tab\there", false},
		{"nul\x00", false},
		{"\xff\xfe", false},
		{" padded", false},
		{"line\u2028sep", false},
		{strings.Repeat("x", MaxDisplayNameLength+1), false},
	}
	for _, tc := range tests {
		if err := ValidateDisplayName(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateDisplayName(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
