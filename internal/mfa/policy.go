package mfa

import (
	"context"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/otp"
)

// EnrolPolicy is what new authenticators are enrolled with. The zero value
// is SHA-1, 6 digits, 30 seconds: what every app supports.
type EnrolPolicy struct {
	// Algorithm is SHA-1 (zero), SHA-256 or SHA-512.
	Algorithm otp.Algorithm
	// Digits is 6 or 8; zero means 6.
	Digits int
	// Period is 30 or 60 seconds; zero means 30 seconds.
	Period time.Duration
}

// Validate refuses what otpgate does not enrol: another algorithm, digits
// other than 6 or 8, a period other than 30 or 60 seconds (0 included,
// once defaults are applied).
func (p EnrolPolicy) Validate() error {
	p = p.withDefaults()
	switch {
	case p.Algorithm != otp.SHA1 && p.Algorithm != otp.SHA256 && p.Algorithm != otp.SHA512:
		return fmt.Errorf("%w: algorithm %v: want SHA1, SHA256 or SHA512", ErrInvalid, p.Algorithm)
	case p.Digits != 6 && p.Digits != 8:
		return fmt.Errorf("%w: digits %d: want 6 or 8", ErrInvalid, p.Digits)
	case p.Period != 30*time.Second && p.Period != 60*time.Second:
		return fmt.Errorf("%w: period %v: want 30s or 60s", ErrInvalid, p.Period)
	}
	return nil
}

func (p EnrolPolicy) withDefaults() EnrolPolicy {
	if p.Digits == 0 {
		p.Digits = otp.DefaultDigits
	}
	if p.Period == 0 {
		p.Period = otp.DefaultPeriod
	}
	return p
}

// GoogleCompatible reports whether Google Authenticator follows the key
// URI: some of its versions ignore the algorithm, the digits and the
// period, and show SHA-1, 6-digit, 30-second codes whatever it says.
func GoogleCompatible(k otp.Key) bool {
	return (k.Algorithm == otp.SHA1) && (k.Digits == 0 || k.Digits == 6) && (k.Period == 0 || k.Period == 30*time.Second)
}

// CodeDigits is how many digits the codes of the user's confirmed
// authenticators have, or 0 when they differ or there are none.
func (s *Service) CodeDigits(ctx context.Context, userID int64) (int, error) {
	auths, err := s.ConfirmedAuthenticators(ctx, userID)
	if err != nil {
		return 0, err
	}
	d := 0
	for _, a := range auths {
		switch {
		case d == 0:
			d = a.Digits
		case d != a.Digits:
			return 0, nil
		}
	}
	return d, nil
}
