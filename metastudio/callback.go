package metastudio

import (
	"net/url"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// CallbackAuth is what verifying a tenant's live events takes, as the
// tenant's user-config holds it. Key and URL are secrets (the URL may carry
// credentials in its query): they stay in memory and never reach a metric,
// log line or answer.
type CallbackAuth struct {
	AuthType string        // effective: NONE when absent
	Key      secret.String // "" when none is set
	URL      secret.String // live_event_type_callback_url, exactly as held
}

// CallbackAuth returns the tenant's callback settings in force.
func (c *UserConfig) CallbackAuth() CallbackAuth {
	a := CallbackAuth{AuthType: DefaultAuthType}
	if cb := c.LiveEventCallbackConfig; cb != nil {
		if cb.AuthType != nil && *cb.AuthType != "" {
			a.AuthType = *cb.AuthType
		}
		a.Key, a.URL = cb.Key, cb.LiveEventTypeCallbackURL
	}
	return a
}

// CallbackRoute reduces a callback URL to where events go: scheme, host and
// path, without user info, query or fragment, scheme and host lower-cased.
// It holds no credential, so it can be compared and kept freely. It is ""
// for an empty or unparseable URL.
func CallbackRoute(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	route := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	return route.String()
}
