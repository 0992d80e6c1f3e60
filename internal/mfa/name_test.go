package mfa

import (
	"errors"
	"testing"
	"unicode"
)

// TestValidateDisplayNameHidden: a display name goes verbatim into the
// Remote-Name header and onto apps' pages, so it may not turn text around
// (bidi controls), hide characters, or hold markup.
func TestValidateDisplayNameHidden(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"Ada Lovelace", true},
		{"O'Brien & Sons \"Bob\"", true},
		{"مریم\u200cزاده", true},    // Persian with a zero-width non-joiner
		{"क्\u200dष", true},         // Devanagari with a zero-width joiner
		{"👩\u200d💻 Ada", true},      // an emoji sequence
		{"Ada\u202egnp.exe", false}, // right-to-left override
		{"\u202dAda", false},        // left-to-right override
		{"Ada\u202a", false},        // left-to-right embedding
		{"Ada\u2066x\u2069", false}, // isolates
		{"Ada\u200fx", false},       // right-to-left mark
		{"Ada\u061cx", false},       // Arabic letter mark
		{"Ad\u200ba", false},        // zero-width space
		{"Ada\ufeff", false},        // byte order mark
		{"Ad\u00ada", false},        // soft hyphen
		{"Ada\u2060", false},        // word joiner
		{"Ada\U000e0041", false},    // tag character
		{"Ada\u2028x", false},       // line separator
		{"Ada\u2029x", false},       // paragraph separator
		{"<script>alert(1)</script>", false},
		{"Ada <img src=x onerror=alert(1)>", false},
		{"a > b", false},
	}
	for _, tc := range tests {
		err := ValidateDisplayName(tc.in)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateDisplayName(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
	// Every format character but the two joiners is refused.
	for _, r16 := range unicode.Cf.R16 {
		for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
			if err := ValidateDisplayName("a" + string(r) + "b"); (err == nil) != (r == 0x200c || r == 0x200d) {
				t.Errorf("ValidateDisplayName with U+%04X = %v", r, err)
			}
		}
	}
	for _, r32 := range unicode.Cf.R32 {
		for r := rune(r32.Lo); r <= rune(r32.Hi); r += rune(r32.Stride) {
			if err := ValidateDisplayName("a" + string(r) + "b"); err == nil {
				t.Errorf("ValidateDisplayName with U+%04X = nil, want refused", r)
			}
		}
	}
}
