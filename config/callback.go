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
// top of the tenant's own live settings, which it fetches.
type Callback struct {
	// Key overrides the key from the tenant's user-config; unset, that key
	// is used.
	Key secret.String
	// KeyFile is the path Key was read from, as written, for /config; ""
	// when Key is inline or unset.
	KeyFile string
	// ForwardURL is the tenant's own app, which gets every verified event;
	// unset, nothing is relayed. Its query may carry the app's credentials,
	// so the whole URL is kept as a secret.
	ForwardURL           secret.String
	ForwardTimeout       time.Duration
	AllowUnauthenticated bool
}

func defaultCallback() Callback { return Callback{ForwardTimeout: DefaultForwardTimeout} }

// configured tells whether anything differs from the defaults; /config
// leaves an unconfigured callback out.
func (c Callback) configured() bool { return c != defaultCallback() }

// callback applies a callback section over fallback key by key, as policy
// is, so a tenant can override the defaults' forward_url alone. key and
// key_file on different levels are not a conflict: the nearer one wins.
func (r *resolver) callback(c rawCallback, path string, fallback Callback) Callback {
	out := fallback
	if key, ok := r.secretValue(c.key, c.keyFile, c.line, path, "key", false); ok && key != "" {
		out.Key, out.KeyFile = secret.String(key), ""
		if c.keyFile.set() {
			out.KeyFile = c.keyFile.val
		}
	}
	if c.forwardURL.set() {
		if msg := checkForwardURL(c.forwardURL.val); msg != "" {
			r.add(c.forwardURL.line, joinPath(path, "forward_url"), "%s", msg)
		} else {
			out.ForwardURL = secret.String(c.forwardURL.val)
		}
	}
	out.ForwardTimeout = r.timeout(c.forwardTimeout, joinPath(path, "forward_timeout"), out.ForwardTimeout)
	if c.allowUnauthenticated.set {
		out.AllowUnauthenticated = c.allowUnauthenticated.val
	}
	// Relaying what nobody authenticated would hand any sender the app's
	// trust (and, with NONE, its URL credentials). The error goes where
	// this level made the pair: a level that sets neither inherits it from
	// defaults, which reported it already.
	if out.AllowUnauthenticated && out.ForwardURL.IsSet() {
		switch {
		case c.allowUnauthenticated.set:
			r.add(c.allowUnauthenticated.line, joinPath(path, "allow_unauthenticated"), "%s", msgUnauthenticatedRelay)
		case c.forwardURL.set():
			r.add(c.forwardURL.line, joinPath(path, "forward_url"), "%s", msgUnauthenticatedRelay)
		}
	}
	return out
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
