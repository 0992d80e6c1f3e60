package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password length limits, in bytes. The maximum keeps hashing cost bounded.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
)

// Argon2Params are the argon2id cost parameters (RFC 9106 §4). They are
// stored with each hash, so raising them later affects new hashes only.
type Argon2Params struct {
	// Memory is in KiB.
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is RFC 9106's second recommended option: 64 MiB, 3 passes,
// 4 lanes.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4}

// HashLimits bound the work of a Hasher.
type HashLimits struct {
	// Concurrent is how many hashes run at once (at least 1): each takes
	// Argon2Params.Memory, so this bounds memory.
	Concurrent int
	// Queue is how many more may wait for their turn; one more is refused
	// at once with ErrBusy, so that a flood of sign-ins cannot make a
	// queue whose last entry waits for minutes. Zero means none may wait.
	Queue int
}

// DefaultHashLimits run 2 hashes at once with 62 waiting: a burst of 64
// concurrent sign-ins (a campus behind one address, a service signing its
// users in) is taken whole.
var DefaultHashLimits = HashLimits{Concurrent: 2, Queue: 62}

// Hasher hashes and checks passwords with argon2id. At most a fixed number
// of hashes run at once, so memory stays bounded (Memory KiB each) however
// many sign-ins arrive together, and at most a fixed number wait (see
// HashLimits); the others are refused with ErrBusy, and a waiting one gives
// up with its context.
type Hasher struct {
	params Argon2Params
	rand   io.Reader
	sem    chan struct{}
	// slots holds one token per hash running or waiting.
	slots chan struct{}
}

// NewHasher returns a Hasher making new hashes with p, salts from rand,
// within l.
func NewHasher(p Argon2Params, rand io.Reader, l HashLimits) *Hasher {
	n := max(l.Concurrent, 1)
	return &Hasher{params: p, rand: rand, sem: make(chan struct{}, n), slots: make(chan struct{}, n+max(l.Queue, 0))}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	default:
		return ErrBusy
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		<-h.slots
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	<-h.sem
	<-h.slots
}

// ValidatePassword checks a new password's length.
func ValidatePassword(password string) error {
	if len(password) < MinPasswordLength {
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalid, MinPasswordLength)
	}
	if len(password) > MaxPasswordLength {
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, MaxPasswordLength)
	}
	return nil
}

// Hash returns the PHC string of password:
// $argon2id$v=19$m=65536,t=3,p=4$salt$hash (base64 without padding).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// errBadHash is returned for a stored hash that cannot be parsed.
var errBadHash = errors.New("password hash: unknown format")

// Check reports whether password matches the PHC string encoded. An empty
// encoded hash is checked against a dummy hash, so that the time taken does
// not tell whether a user exists, and never matches.
func (h *Hasher) Check(ctx context.Context, password, encoded string) (bool, error) {
	dummy := encoded == ""
	if dummy {
		encoded = h.dummy()
	}
	p, salt, sum, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(sum)))
	return subtle.ConstantTimeCompare(got, sum) == 1 && !dummy, nil
}

// dummy is a hash with the current parameters that no password matches.
func (h *Hasher) dummy() string {
	p := h.params
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		argon2.Version, p.Memory, p.Time, p.Threads)
}

// parseHash reads a PHC argon2id string, refusing parameters that would
// cost more than a few GiB or hours.
func parseHash(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.Memory < 8 || p.Memory > 4<<20 || p.Time < 1 || p.Time > 100 || threads < 1 || threads > 255 {
		return p, nil, nil, errBadHash
	}
	p.Threads = uint8(threads)
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	sum, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(sum) < 16 || len(sum) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, sum, nil
}
