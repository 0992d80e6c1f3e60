package userfile

import (
	"testing"
	"time"
)

func TestRateLimitWait(t *testing.T) {
	now := time.Unix(1_800_000_100, 0)
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{"room left", "3 30 1800000090 1800000095", 0},
		{"full", "3 30 1800000080 1800000090 1800000095", 11 * time.Second},
		{"one expired", "3 30 1800000060 1800000090 1800000095", 0},
		{"more than full", "2 60 1800000050 1800000070 1800000090 1800000100", 51 * time.Second},
		// The module counts a stamp exactly interval seconds old.
		{"boundary", "2 30 1800000070 1800000090", 1 * time.Second},
		{"no stamps", "3 30", 0},
		{"malformed", "x 30 1800000090", 0},
		{"empty", "", 0},
	}
	for _, tc := range tests {
		if got := rateLimitWait(tc.v, now); got != tc.want {
			t.Errorf("%s: rateLimitWait(%q) = %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
}
