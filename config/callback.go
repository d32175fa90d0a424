package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// DefaultForwardTimeout bounds one relay of an event to callback.forward_url.
const DefaultForwardTimeout = 5 * time.Second

// Callback is what the live-event receiver needs from a tenant's config on
// top of the tenant's own live settings, which it fetches. Its keys apply
// one by one over the level below, so a tenant can override the defaults'
// forward_url alone; key and key_file on different levels are not a
// conflict: the nearer one wins.
type Callback struct {
	// Key overrides the key from the tenant's user-config; unset, that key
	// is used. Written inline or read from key_file.
	Key secret.String `yaml:"key,orfile"`
	// KeyFile is the path Key was read from, as written, for /config; ""
	// when Key is inline or unset.
	KeyFile string
	// ForwardURL is the tenant's own app, which gets every verified event;
	// unset, nothing is relayed. Its query may carry the app's credentials,
	// so the whole URL is kept as a secret and shown redacted.
	ForwardURL           secret.String `yaml:"forward_url,url" check:"forward_url"`
	ForwardTimeout       time.Duration `yaml:"forward_timeout" check:"positive"`
	AllowUnauthenticated bool          `yaml:"allow_unauthenticated"`
}

// configured tells whether anything differs from the defaults; the
// --config.check summary counts the tenants that have one.
func (c Callback) configured() bool { return c != BuiltinSettings().Callback }

// checkLevel refuses a relay of what nobody authenticated: it would hand
// any sender the app's trust (and, with NONE, its URL credentials). The
// error goes where this level made the pair: a level that sets neither key
// inherits the pair from defaults, which reported it already.
func (c Callback) checkLevel(w *written, report func(key, msg string)) {
	if !c.AllowUnauthenticated || !c.ForwardURL.IsSet() {
		return
	}
	switch {
	case w.set("allow_unauthenticated"):
		report("allow_unauthenticated", msgUnauthenticatedRelay)
	case w.set("forward_url"):
		report("forward_url", msgUnauthenticatedRelay)
	}
}

const msgUnauthenticatedRelay = "allow_unauthenticated cannot go with forward_url: unauthenticated bodies would be relayed to the app signed with the tenant's key"

// checkForwardURL is checkEndpoint with a query allowed: an app that
// verifies as MetaStudio's NONE auth type takes its credentials there.
// Messages never repeat the URL.
func checkForwardURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not contain user info (credentials go in the query)"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not contain a fragment"
	}
	return ""
}

// RedactURL shows where a URL points and hides what may hold credentials:
// the password of its user info (as xxxxx) and its query. It is the one way
// the exporter shows a URL that may carry a secret.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return secret.Redacted
	}
	if u.RawQuery == "" && !u.ForceQuery {
		return u.Redacted()
	}
	u.RawQuery, u.ForceQuery = "", false
	return u.Redacted() + "?" + secret.Redacted
}
