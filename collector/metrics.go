package collector

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

const namespace = "metastudio"

// tenantDesc is a per-tenant Desc: tenant is always its first label.
func tenantDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, append([]string{"tenant"}, labels...), nil)
}

var (
	upDesc = tenantDesc("up",
		"1 if this tenant's live-streaming config was fetched and decoded in this scrape.")
	scrapeDurationDesc = tenantDesc("scrape_duration_seconds",
		"Time spent on this tenant in this scrape.")
	scrapeErrorDesc = tenantDesc("scrape_error_info",
		"1 while up is 0: why this tenant's config could not be fetched.", "reason", "error_code")
	tenantInfoDesc = tenantDesc("tenant_info",
		"Project and region of the tenant; always 1.", "project_id", "region")
	dataAgeDesc = tenantDesc("data_age_seconds",
		"Age of the data served; 0 unless max_cache_age is set.")
	maxDurationDesc = tenantDesc("live_max_duration_seconds",
		"live_exit_config.max_live_duration in seconds; 0 means livestreams never stop on their own.")
	maxExceptionWaitingDesc = tenantDesc("live_max_exception_waiting_seconds",
		"live_exit_config.max_exception_waiting_duration in seconds; 0 means a broken livestream is never stopped.")
	autoStopModeDesc = tenantDesc("live_auto_stop_mode_info",
		"live_exit_config.auto_stop_mode in force; always 1.", "mode")
	callbackConfiguredDesc = tenantDesc("live_event_callback_configured",
		"1 if live_event_callback_config.live_event_type_callback_url is set.")
	callbackHTTPSDesc = tenantDesc("live_event_callback_https",
		"1 if the live event callback URL is https; 0 when it is not or none is set.")
	callbackAuthTypeDesc = tenantDesc("live_event_callback_auth_type_info",
		"live_event_callback_config.auth_type in force; always 1.", "auth_type")
	callbackKeyDesc = tenantDesc("live_event_callback_key_configured",
		"1 if a callback signing key is set; the key itself never leaves the exporter.")
	callbackEventDesc = tenantDesc("live_event_callback_event_enabled",
		"1 if live_event_callback_config.callback_event_type subscribes this event type.", "event_type")
	notifyEventDesc = tenantDesc("live_notify_event_enabled",
		"1 if live_notify_config.notify_events enables this event.", "event")
	callbackRoutedHereDesc = tenantDesc("live_event_callback_routed_here",
		"1 if the tenant's live event callback URL, query aside, is this exporter's receiver (--callback.external-url); only with that flag.")
	configHashDesc = tenantDesc("live_config_hash",
		"Hash of the effective live-streaming settings; changes whenever any of them changes.")
	policyMaxDurationDesc = tenantDesc("policy_max_live_duration_seconds",
		"The tenant's policy threshold for max live duration; 0 means none.")
	policyMaxExceptionWaitingDesc = tenantDesc("policy_max_exception_waiting_seconds",
		"The tenant's policy threshold for max exception waiting; 0 means none.")
)

// describeTenantMetrics sends every per-tenant Desc.
func describeTenantMetrics(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		upDesc, scrapeDurationDesc, scrapeErrorDesc, tenantInfoDesc, dataAgeDesc,
		maxDurationDesc, maxExceptionWaitingDesc, autoStopModeDesc,
		callbackConfiguredDesc, callbackHTTPSDesc, callbackAuthTypeDesc, callbackKeyDesc,
		callbackEventDesc, notifyEventDesc, callbackRoutedHereDesc, configHashDesc,
		policyMaxDurationDesc, policyMaxExceptionWaitingDesc,
	} {
		ch <- d
	}
}

// Upstream enum values become label values. A hostile or broken upstream
// could send thousands of made-up values; this limit, and promlabel's on
// each value's size, keep the series of one tenant bounded.
const maxUnknownValues = 8

// emitTenant turns one tenant's outcome into metrics. Settings series are
// sent only when the fetch succeeded, so that a failed fetch never looks like
// a change of settings.
//
// receiverRoute is CallbackRoute of --callback.external-url followed by
// /callback/ ("" without the flag): with it, each tenant says whether its events come to this exporter.
func emitTenant(ch chan<- prometheus.Metric, t *config.Tenant, r *result, receiverRoute string) {
	e := tenantEmitter{ch: ch, tenant: t.Name}
	e.gauge(scrapeDurationDesc, r.duration.Seconds())
	e.gauge(tenantInfoDesc, 1, t.ProjectID, t.Region)
	e.gauge(policyMaxDurationDesc, t.Policy.MaxLiveDuration.Seconds())
	e.gauge(policyMaxExceptionWaitingDesc, t.Policy.MaxExceptionWaiting.Seconds())
	if r.err != nil {
		e.gauge(upDesc, 0)
		e.gauge(scrapeErrorDesc, 1, string(metastudio.ReasonOf(r.err)), promlabel.Bounded(metastudio.ErrorCodeOf(r.err)))
		return
	}
	s := &r.settings
	e.gauge(upDesc, 1)
	e.gauge(dataAgeDesc, r.age.Seconds())
	e.gauge(maxDurationDesc, float64(s.MaxLiveDurationHours)*3600)
	e.gauge(maxExceptionWaitingDesc, float64(s.MaxExceptionWaitingMinutes)*60)
	e.gauge(autoStopModeDesc, 1, promlabel.Bounded(s.AutoStopMode))
	e.gauge(callbackConfiguredDesc, boolValue(s.CallbackConfigured))
	e.gauge(callbackHTTPSDesc, boolValue(s.CallbackHTTPS))
	e.gauge(callbackAuthTypeDesc, 1, promlabel.Bounded(s.CallbackAuthType))
	e.gauge(callbackKeyDesc, boolValue(s.CallbackKeyConfigured))
	e.enumSet(callbackEventDesc, metastudio.KnownCallbackEvents, s.CallbackEvents)
	e.enumSet(notifyEventDesc, metastudio.KnownNotifyEvents, s.NotifyEvents)
	if receiverRoute != "" {
		e.gauge(callbackRoutedHereDesc, boolValue(routedHere(s.CallbackRoute, receiverRoute, t.Name)))
	}
	e.gauge(configHashDesc, float64(s.Hash))
}

// routedHere reports whether a callback route is receiverRoute followed by
// tenant: the tenant's events come to this exporter. The two are compared
// in place, so that no string is built per tenant per scrape.
func routedHere(route, receiverRoute, tenant string) bool {
	return receiverRoute != "" && strings.HasPrefix(route, receiverRoute) && route[len(receiverRoute):] == tenant
}

// tenantEmitter sends one tenant's gauges; every series starts with the
// tenant label.
type tenantEmitter struct {
	ch     chan<- prometheus.Metric
	tenant string
}

// gauge sends a sample of d. values are d's labels besides tenant, in Desc
// order. MustNewConstMetric rather than a metric type of our own: one that
// carved a tenant's series out of a single allocation saved 185 of 324
// allocations and 3.7 KiB per tenant in BenchmarkScrape at 1,000 tenants,
// but only 10-22 % of the CPU per tenant (14 % in a real exporter process
// under the load harness), less than the quarter that would pay for a
// second implementation of what client_golang provides.
func (e tenantEmitter) gauge(d *prometheus.Desc, v float64, values ...string) {
	var buf [3]string // tenant and at most two more: kept off the heap
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(append(buf[:0], e.tenant), values...)...)
}

// enumSet sends one 0/1 series per known value and a 1 for each unknown
// value that is enabled (up to maxUnknownValues).
func (e tenantEmitter) enumSet(d *prometheus.Desc, known, enabled []string) {
	for _, k := range known {
		e.gauge(d, boolValue(slices.Contains(enabled, k)), k)
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
		e.gauge(d, 1, v)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
