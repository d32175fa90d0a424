package config

import (
	"strings"
	"testing"
)

// TestQuoteBounded: at most 64 bytes of the value, never half a character.
func TestQuoteBounded(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		{strings.Repeat("a", 65), `"` + strings.Repeat("a", 64) + `"…`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 32) + `"…`},
		{"x" + strings.Repeat("é", 40), `"x` + strings.Repeat("é", 31) + `"…`},
		{"\xff\xfe", `"\xff\xfe"`},
	} {
		if got := QuoteBounded(tc.in); got != tc.want {
			t.Errorf("QuoteBounded(%.20q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
