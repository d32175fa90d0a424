package promlabel

import (
	"strings"
	"testing"
)

func TestBounded(t *testing.T) {
	long := strings.Repeat("A", MaxLen)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"NORMAL", "NORMAL"},
		{long, long},
		{long + "-cut", long},
		// 1 + 64×2 bytes: the cut at MaxLen falls inside the last é.
		{"x" + strings.Repeat("é", 64), "x" + strings.Repeat("é", 63)},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		// A run of invalid bytes becomes one U+FFFD, as strings.ToValidUTF8 does.
		{strings.Repeat("\xff", 200) + long, "\uFFFD" + long[:MaxLen-3]},
	} {
		if got := Bounded(tc.in); got != tc.want {
			t.Errorf("Bounded(%.40q) = %.40q (%d bytes), want %.40q (%d bytes)", tc.in, got, len(got), tc.want, len(tc.want))
		}
	}
}
