package web

import (
	"testing"

	"github.com/otpgate/otpgate/internal/mfa"
)

// TestDisplayHeader: whatever the store holds, Remote-Name carries text
// that ValidateDisplayName accepts (but for its length and spaces), with
// the refused characters shown as U+FFFD.
func TestDisplayHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ada Lovelace", "Ada Lovelace"},
		{"O'Brien & \"Bob\"", "O'Brien & \"Bob\""},
		{"مریم\u200cزاده", "مریم\u200cزاده"},
		{"Ada\u202egnp.exe", "Ada\ufffdgnp.exe"},
		{"<script>x</script>", "\ufffdscript\ufffdx\ufffd/script\ufffd"},
		{"Eve\r\nX-Evil: 1", "Eve\ufffd\ufffdX-Evil: 1"},
		{"a\u2028b\u2066c\ufeff", "a\ufffdb\ufffdc\ufffd"},
		{"bad \xff utf-8", "bad \ufffd utf-8"},
	}
	for _, tc := range tests {
		got := displayHeader(tc.in)
		if got != tc.want {
			t.Errorf("displayHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := mfa.ValidateDisplayName(got); err != nil {
			t.Errorf("displayHeader(%q) = %q, refused by ValidateDisplayName: %v", tc.in, got, err)
		}
	}
}
