// Package promlabel bounds strings that come from the MetaStudio API before
// they become label values. A hostile or broken upstream could send
// megabyte names or invalid UTF-8; a label value of either would bloat
// every series that carries it, or make client_golang refuse the metric.
package promlabel

import (
	"strings"
	"unicode/utf8"
)

// MaxLen is the most bytes of an upstream string a label value keeps.
const MaxLen = 128

// Bounded returns v as a valid label value of at most MaxLen bytes: invalid
// UTF-8 replaced by U+FFFD, and a longer value cut at a character boundary.
func Bounded(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if len(v) <= MaxLen {
		return v
	}
	v = v[:MaxLen]
	for !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}
