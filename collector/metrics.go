package collector

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

const namespace = "metastudio"

// tenantFamily is one metric family of the tenants' exposition: its name,
// help and labels (tenant is always the first), and how one tenant's
// outcome becomes its series. A scrape builds the families one at a time,
// each for every tenant (exposition.go), with the Descs of the tenants'
// fixed label names (tenantDescs).
type tenantFamily struct {
	name   string // fully-qualified, which orders the families
	help   string
	labels []string
	series func(e *tenantEmitter)
}

// family is a tenantFamily whose series every tenant has, up or not.
func family(name, help string, labels []string, series func(e *tenantEmitter)) tenantFamily {
	return tenantFamily{
		name:   namespace + "_" + name,
		help:   help,
		labels: append([]string{"tenant"}, labels...),
		series: series,
	}
}

// settingsFamily is a family of the fetched settings: only a tenant that is
// up has its series, so that a failed fetch never looks like a change of
// settings.
func settingsFamily(name, help string, labels []string, series func(e *tenantEmitter, s *metastudio.Settings)) tenantFamily {
	return family(name, help, labels, func(e *tenantEmitter) {
		if e.r.err == nil {
			series(e, &e.r.settings)
		}
	})
}

// tenantFamilies are every per-tenant family, in name order as an
// exposition lists them.
var tenantFamilies = sortedByName(
	family("up", "1 if this tenant's live-streaming config was fetched and decoded in this scrape.", nil,
		func(e *tenantEmitter) { e.gauge(boolValue(e.r.err == nil)) }),
	family("scrape_duration_seconds", "Time spent on this tenant in this scrape.", nil,
		func(e *tenantEmitter) { e.gauge(e.r.duration.Seconds()) }),
	family("scrape_error_info", "1 while up is 0: why this tenant's config could not be fetched.", []string{"reason", "error_code"},
		func(e *tenantEmitter) {
			if e.r.err != nil {
				e.gauge(1, string(metastudio.ReasonOf(e.r.err)), promlabel.Bounded(metastudio.ErrorCodeOf(e.r.err)))
			}
		}),
	family("tenant_info", "Project and region of the tenant; always 1.", []string{"project_id", "region"},
		func(e *tenantEmitter) { e.gauge(1, e.t.ProjectID, e.t.Region) }),
	family("policy_max_live_duration_seconds", "The tenant's policy threshold for max live duration; 0 means none.", nil,
		func(e *tenantEmitter) { e.gauge(e.t.Policy.MaxLiveDuration.Seconds()) }),
	family("policy_max_exception_waiting_seconds", "The tenant's policy threshold for max exception waiting; 0 means none.", nil,
		func(e *tenantEmitter) { e.gauge(e.t.Policy.MaxExceptionWaiting.Seconds()) }),
	settingsFamily("data_age_seconds", "Age of the data served; 0 unless max_cache_age is set.", nil,
		func(e *tenantEmitter, _ *metastudio.Settings) { e.gauge(e.r.age.Seconds()) }),
	settingsFamily("live_max_duration_seconds", "live_exit_config.max_live_duration in seconds; 0 means livestreams never stop on their own.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(float64(s.MaxLiveDurationHours) * 3600) }),
	settingsFamily("live_max_exception_waiting_seconds", "live_exit_config.max_exception_waiting_duration in seconds; 0 means a broken livestream is never stopped.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(float64(s.MaxExceptionWaitingMinutes) * 60) }),
	settingsFamily("live_auto_stop_mode_info", "live_exit_config.auto_stop_mode in force; always 1.", []string{"mode"},
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(1, promlabel.Bounded(s.AutoStopMode)) }),
	settingsFamily("live_event_callback_configured", "1 if live_event_callback_config.live_event_type_callback_url is set.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(boolValue(s.CallbackConfigured)) }),
	settingsFamily("live_event_callback_https", "1 if the live event callback URL is https; 0 when it is not or none is set.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(boolValue(s.CallbackHTTPS)) }),
	settingsFamily("live_event_callback_auth_type_info", "live_event_callback_config.auth_type in force; always 1.", []string{"auth_type"},
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(1, promlabel.Bounded(s.CallbackAuthType)) }),
	settingsFamily("live_event_callback_key_configured", "1 if a callback signing key is set; the key itself never leaves the exporter.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(boolValue(s.CallbackKeyConfigured)) }),
	settingsFamily("live_event_callback_event_enabled", "1 if live_event_callback_config.callback_event_type subscribes this event type.", []string{"event_type"},
		func(e *tenantEmitter, s *metastudio.Settings) {
			e.enumSet(metastudio.KnownCallbackEvents, s.CallbackEvents)
		}),
	settingsFamily("live_notify_event_enabled", "1 if live_notify_config.notify_events enables this event.", []string{"event"},
		func(e *tenantEmitter, s *metastudio.Settings) {
			e.enumSet(metastudio.KnownNotifyEvents, s.NotifyEvents)
		}),
	// Only with --callback.external-url: each tenant says whether its
	// events come to this exporter.
	settingsFamily("live_event_callback_routed_here", "1 if the tenant's live event callback URL, query aside, is this exporter's receiver (--callback.external-url); only with that flag.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) {
			if e.receiverRoute != "" {
				e.gauge(boolValue(routedHere(s.CallbackRoute, e.receiverRoute, e.t.Name)))
			}
		}),
	settingsFamily("live_config_hash", "Hash of the effective live-streaming settings; changes whenever any of them changes.", nil,
		func(e *tenantEmitter, s *metastudio.Settings) { e.gauge(float64(s.Hash)) }),
)

func sortedByName(fs ...tenantFamily) []tenantFamily {
	slices.SortFunc(fs, func(a, b tenantFamily) int { return cmp.Compare(a.name, b.name) })
	return fs
}

// tenantDescs are the Descs of tenantFamilies, in their order, for each set
// of fixed label names a scrape serves.
var tenantDescs = func() *fixedlabels.Descs {
	fs := make([]fixedlabels.Family, len(tenantFamilies))
	for i, f := range tenantFamilies {
		fs[i] = fixedlabels.Family{Name: f.name, Help: f.help, Labels: f.labels}
	}
	return fixedlabels.NewDescs(fs...)
}()

// Upstream enum values become label values. A hostile or broken upstream
// could send thousands of made-up values; this limit, and promlabel's on
// each value's size, keep the series of one tenant bounded.
const maxUnknownValues = 8

// routedHere reports whether a callback route is receiverRoute followed by
// tenant: the tenant's events come to this exporter. The two are compared
// in place, so that no string is built per tenant per scrape.
func routedHere(route, receiverRoute, tenant string) bool {
	return receiverRoute != "" && strings.HasPrefix(route, receiverRoute) && route[len(receiverRoute):] == tenant
}

// tenantEmitter builds one family's series for one tenant after another;
// every series starts with the tenant label and ends with the tenant's
// fixed labels.
type tenantEmitter struct {
	desc *prometheus.Desc
	// labelNames are the fixed label names the family is served with: the
	// union of the tenant set's, or a probed tenant's own.
	labelNames []string
	// metrics are the family's series so far, errs the series refused.
	metrics []*dto.Metric
	errs    prometheus.MultiError
	// receiverRoute is CallbackRoute of --callback.external-url followed
	// by /callback/; "" without the flag.
	receiverRoute string

	t *config.Tenant
	r *result
}

// gauge adds a sample to the family. values are its labels besides
// tenant, in Desc order; the tenant's fixed labels follow them. A const
// metric written out, rather than a metric type of our own: one that
// carved a tenant's series out of a single allocation saved 185 of 324
// allocations and 3.7 KiB per tenant in BenchmarkScrape at 1,000 tenants,
// but only 10-22 % of the CPU per tenant (14 % in a real exporter process
// under the load harness), less than the quarter that would pay for a
// second implementation of what client_golang provides. A label value
// client_golang refuses (not UTF-8) leaves the series out with an error
// that names the tenant.
func (e *tenantEmitter) gauge(v float64, values ...string) {
	// tenant, at most two more and a few fixed labels: kept off the heap.
	var buf [8]string
	lv, ok := fixedlabels.Append(append(append(buf[:0], e.t.Name), values...), e.labelNames, e.t.Labels.Names(), e.t.Labels.Values())
	if !ok {
		e.errs = append(e.errs, fixedlabels.NotServed(e.t.Name, e.t.Labels.Names(), e.labelNames))
		return
	}
	m, err := prometheus.NewConstMetric(e.desc, prometheus.GaugeValue, v, lv...)
	if err == nil {
		dm := new(dto.Metric)
		if err = m.Write(dm); err == nil {
			e.metrics = append(e.metrics, dm)
			return
		}
	}
	e.errs = append(e.errs, fmt.Errorf("tenant %q: %w", e.t.Name, err))
}

// enumSet sends one 0/1 series per known value and a 1 for each unknown
// value that is enabled (up to maxUnknownValues).
func (e *tenantEmitter) enumSet(known, enabled []string) {
	for _, k := range known {
		e.gauge(boolValue(slices.Contains(enabled, k)), k)
	}
	var seenBuf [maxUnknownValues]string
	seen := seenBuf[:0]
	for _, v := range enabled {
		if slices.Contains(known, v) {
			continue
		}
		v = promlabel.Bounded(v)
		if slices.Contains(seen, v) {
			continue // two long values may share their first promlabel.MaxLen bytes
		}
		if len(seen) == maxUnknownValues {
			break
		}
		seen = append(seen, v)
		e.gauge(1, v)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
