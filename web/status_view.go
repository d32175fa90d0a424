package web

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The methods here are what the template asks of the page: wording and
// arithmetic stay in Go, where the tests read them.

// Ago says how long before the page's time t was: "12s ago", "1h5m ago",
// or "never" for the zero time.
func (p *StatusPage) Ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Age(p.Now.Sub(t)) + " ago"
}

// Age writes d in Prometheus' duration syntax, to the second.
func Age(d time.Duration) string {
	return model.Duration(max(d, 0).Round(time.Second)).String()
}

// Clock writes t as UTC, to the second.
func Clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z07:00") }

// TenantsUp counts the tenants whose last call succeeded.
func (p *StatusPage) TenantsUp() int {
	n := 0
	for _, t := range p.Tenants {
		if t.Up {
			n++
		}
	}
	return n
}

// CallbackURL is the URL to paste into the MetaStudio console for tenant,
// {external-url}/callback/{tenant}; "" without an external URL.
func (r *ReceiverStatus) CallbackURL(tenant string) string {
	if r.ExternalURL == "" {
		return ""
	}
	return strings.TrimSuffix(r.ExternalURL, "/") + "/callback/" + url.PathEscape(tenant)
}

// Origin says where the tenant comes from.
func (t *TenantStatus) Origin() string {
	if t.Discovered {
		return "discovery entry " + t.DiscoveryEntry
	}
	return "config file"
}

// State is the word for the tenant's state, also its CSS class.
func (t *TenantStatus) State() string {
	switch {
	case !t.Called:
		return "pending"
	case t.Up:
		return "up"
	}
	return "down"
}

// Why is the reason a tenant is down as metastudio_scrape_error_info
// labels it: "auth (APIGW.0301)", or the reason alone without a code.
func (t *TenantStatus) Why() string {
	if t.ErrorCode == "" {
		return t.Reason
	}
	return t.Reason + " (" + t.ErrorCode + ")"
}

// DataServed says what a scrape serves the tenant now.
func (t *TenantStatus) DataServed() string {
	switch {
	case !t.Up:
		return "none: up is 0"
	case t.MaxCacheAge <= 0:
		return "fetched at every scrape"
	case t.Cached:
		return Age(t.CacheAge) + " old (max_cache_age " + Age(t.MaxCacheAge) + ")"
	}
	return "older than max_cache_age " + Age(t.MaxCacheAge) + ": the next scrape fetches"
}

// Verdict is a sentence for a table cell and its CSS class.
type Verdict struct{ Text, Class string }

// Routing says whether the tenant's callback URL points at this receiver.
func (r *ReceiverStatus) Routing(t TenantStatus) Verdict {
	switch {
	case r.ExternalURL == "":
		return Verdict{"unknown without --callback.external-url", "pending"}
	case !t.CallbackKnown && t.Called && !t.Up:
		return Verdict{"unknown: its settings could not be fetched", "pending"}
	case !t.CallbackKnown:
		return Verdict{"not known until its settings are fetched", "pending"}
	case t.RoutedHere:
		return Verdict{"yes", "up"}
	case t.CallbackRoute == "":
		return Verdict{"no: no callback URL is set", "down"}
	}
	return Verdict{"no: it points to " + t.CallbackRoute, "down"}
}

// State is the word for a discovery entry's state, also its CSS class.
func (d *DiscoveryStatus) State() string {
	switch {
	case d.LastError != "":
		return "down"
	case d.LastSuccess.IsZero():
		return "pending"
	}
	return "up"
}

// Line is the build as one line, with what is known only: "version 1.2.0,
// revision 1a2b3c4, branch main, built 20260101-12:00:00, go1.26.0".
func (b BuildInfo) Line() string {
	var parts []string
	for _, p := range []struct{ name, value string }{
		{"version ", b.Version}, {"revision ", b.Revision}, {"branch ", b.Branch}, {"built ", b.BuildDate}, {"", b.GoVersion},
	} {
		if p.value != "" {
			parts = append(parts, p.name+p.value)
		}
	}
	return strings.Join(parts, ", ")
}

// FindingsSummary counts the tenant's findings by severity for its row,
// classed by the most severe; without settings it says why there are none.
func (t *TenantStatus) FindingsSummary() Verdict {
	switch {
	case t.Settings == nil && len(t.Findings) == 0 && t.Called && !t.Up:
		return Verdict{"unknown: its settings could not be fetched", "pending"}
	case t.Settings == nil && len(t.Findings) == 0:
		return Verdict{"not known until its settings are fetched", "pending"}
	case len(t.Findings) == 0:
		return Verdict{"no findings", "up"}
	}
	var parts []string
	class := ""
	for _, sev := range severities {
		n := 0
		for _, f := range t.Findings {
			if f.Severity == sev {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+sev)
			class = cmp.Or(class, sev)
		}
	}
	return Verdict{strings.Join(parts, ", "), class}
}

// streamStateClass is the CSS class of a stream's state: a push that is up,
// one that is down, one on its way up, and one that is over.
func streamStateClass(state string) string {
	switch state {
	case "CONNECTED":
		return "up"
	case "DISCONNECTED", "RECONNECTING":
		return "down"
	case "CONNECTING":
		return "warning"
	}
	return "pending"
}

// StreamCount is how many streams the receiver tracks for the page's
// tenants.
func (p *StatusPage) StreamCount() int {
	n := 0
	for _, t := range p.Tenants {
		n += len(t.Streams)
	}
	return n
}
