package config

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxQuoted bounds how much of an outside value (a request's own input, a
// name IAM answered with) an error or a log line quotes: enough to
// recognise it, not enough to make the line as large as the value.
const maxQuoted = 64

// QuoteBounded quotes at most the first 64 bytes of s, cut at a character
// boundary, and marks a cut with "…". It is the one way the exporter echoes
// a value it did not write itself.
func QuoteBounded(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// CheckTenantName tells why name cannot be a tenant name (a label value and
// a URL parameter), or nil if it can.
func CheckTenantName(name string) error {
	switch _, msg := checkName(name); {
	case msg == "":
		return nil
	case !tenantNameRE.MatchString(name):
		return fmt.Errorf("tenant name %s does not match %s", QuoteBounded(name), tenantNameRE)
	default:
		return fmt.Errorf("tenant name %s %s", QuoteBounded(name), msg)
	}
}

// CheckProjectID tells why id cannot be a project ID (it is put into the
// request path), or nil if it can.
func CheckProjectID(id string) error {
	if projectIDRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("project ID %s does not match %s", QuoteBounded(id), projectIDRE)
}
