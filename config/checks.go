package config

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// The checks a check tag can name. Each runs on the value one level of the
// file writes, at load, and its message goes to that key's line. Messages
// never repeat the value: it may be a secret pasted into the wrong line.

var (
	// Tenant names become label values and URL path segments
	// (/callback/{tenant}, /probe?tenant=).
	tenantNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	// The project ID is put into the request path; this keeps it from
	// changing which path is called.
	projectIDRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// The region is put into host names.
	regionRE = regexp.MustCompile(`^[a-z0-9-]+$`)
	// A prefix must keep every tenant name valid; "" is allowed.
	namePrefixRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]*$`)
	// A discovery entry's name is the source label of its metrics.
	sourceNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
)

// sampleRegion stands in for "{region}" when an endpoint template is
// checked, so that a template is rejected at load and not per project.
const sampleRegion = "cn-north-4"

// A stringCheck returns the value to keep (some checks normalise it) and,
// when the value is wrong, what is wrong with it.
type stringCheck func(string) (string, string)

var stringChecks = map[string]stringCheck{
	"region":      matches(regionRE, ""),
	"project_id":  matches(projectIDRE, ""),
	"tenant_name": checkName,
	"name_prefix": func(s string) (string, string) {
		if s == "." || s == ".." {
			return s, "must not be . or .., which a URL path would rewrite"
		}
		return matches(namePrefixRE, ", to keep tenant names valid")(s)
	},
	"source_name": matches(sourceNameRE, ""),
	"endpoint": func(s string) (string, string) {
		return strings.TrimRight(s, "/"), checkEndpoint(s)
	},
	"endpoint_template": func(s string) (string, string) {
		return strings.TrimRight(s, "/"), checkEndpoint(strings.ReplaceAll(s, "{region}", sampleRegion))
	},
	"forward_url": func(s string) (string, string) { return s, checkForwardURL(s) },
	"proxy_url":   func(s string) (string, string) { return s, checkProxyURL(s) },
	"name_regex": func(s string) (string, string) {
		if _, err := CompileNameRegex(s); err != nil {
			return s, "not a valid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		}
		return s, ""
	},
	"tls_version": func(s string) (string, string) {
		if _, ok := commoncfg.TLSVersions[s]; !ok {
			return s, "must be one of " + strings.Join(slices.Sorted(maps.Keys(commoncfg.TLSVersions)), ", ")
		}
		return s, ""
	},
}

func matches(re *regexp.Regexp, why string) stringCheck {
	return func(s string) (string, string) {
		if !re.MatchString(s) {
			return s, "must match " + re.String() + why
		}
		return s, ""
	}
}

// checkName is the rule for a tenant name, written or discovered.
func checkName(s string) (string, string) {
	switch {
	case !tenantNameRE.MatchString(s):
		return s, "must match " + tenantNameRE.String()
	case s == "." || s == "..":
		return s, "must not be . or .., which a URL path would rewrite"
	}
	return s, ""
}

// checks are a field's parsed check tag.
type checks struct {
	names    []string // as in the tag, for tests and tools
	required bool
	str      []stringCheck
	dur      []func(time.Duration) string
	num      []func(int) string
}

// parseChecks reads a check tag for a field of kind k; a rule that does not
// exist or does not fit the kind panics, at package initialisation.
func parseChecks(tag string, k fieldKind, where string) checks {
	var c checks
	if tag == "" {
		return c
	}
	for _, rule := range strings.Split(tag, ",") {
		c.names = append(c.names, rule)
		name, arg, _ := strings.Cut(rule, "=")
		ok := false
		switch {
		case name == "required":
			c.required, ok = true, true
		case k == kindString || k == kindSecret || k == kindStrings:
			var sc stringCheck
			sc, ok = stringChecks[name]
			c.str = append(c.str, sc)
		case k == kindDuration:
			var dc func(time.Duration) string
			dc, ok = durationCheck(name, arg)
			c.dur = append(c.dur, dc)
		case k == kindInt && name == "min":
			n, err := strconv.Atoi(arg)
			ok = err == nil
			c.num = append(c.num, func(v int) string {
				if v < n {
					return fmt.Sprintf("must be at least %d", n)
				}
				return ""
			})
		}
		if !ok {
			panic("config: " + where + ": check " + rule + " does not exist for this field")
		}
	}
	return c
}

func durationCheck(name, arg string) (func(time.Duration) string, bool) {
	if name == "positive" {
		return func(d time.Duration) string {
			if d <= 0 {
				return "must be greater than 0"
			}
			return ""
		}, true
	}
	bound, err := model.ParseDuration(arg)
	if err != nil {
		return nil, false
	}
	b := time.Duration(bound)
	switch name {
	case "min":
		return func(d time.Duration) string {
			if d < b {
				return "must be at least " + arg
			}
			return ""
		}, true
	case "off_or_min":
		return func(d time.Duration) string {
			if d != 0 && d < b {
				return "must be 0 (off) or at least " + arg
			}
			return ""
		}, true
	case "max":
		return func(d time.Duration) string {
			if d > b {
				return "must be at most " + arg
			}
			return ""
		}, true
	}
	return nil, false
}

// checkEndpoint is the rule for an endpoint: where calls go, with no room
// for credentials or for changing the API path.
func checkEndpoint(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not contain user info"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not contain a query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not contain a fragment"
	}
	return ""
}

// checkProxyURL accepts what net/http's transport can use as a proxy.
func checkProxyURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "must be an absolute http, https or socks5 URL"
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
		return "must be an absolute http, https or socks5 URL"
	case u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "#"):
		return "must not contain a query or a fragment"
	}
	return ""
}
