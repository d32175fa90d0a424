package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// wantRoomAndJobAlerts are the alerts of rooms and jobs the demo must
// raise, each with the labels that say which room or job: its rooms as
// docs/simulator.md lists them.
var wantRoomAndJobAlerts = []map[string]string{
	{"alertname": "MetaStudioRoomRunsForever", "severity": "warning", "tenant": "demo-risky", "room_id": "room-risky"},
	{"alertname": "MetaStudioRoomCallbackUnsafe", "severity": "warning", "tenant": "demo-risky", "room_id": "room-partner-hook"},
	{"alertname": "MetaStudioLiveJobNearMaxDuration", "severity": "info", "tenant": "demo-safe", "room_id": "room-marathon", "job_id": "job-marathon"},
	{"alertname": "MetaStudioLiveJobStreamStalled", "severity": "critical", "tenant": "demo-safe", "room_id": "room-night-stream", "job_id": "job-outage"},
	{"alertname": "MetaStudioLiveJobFailed", "severity": "warning", "tenant": "demo-safe", "room_id": "room-flash-sale", "job_id": "job-flash-sale-1",
		"state": "FAILED", "error_code": "MSS.00000201"},
}

// TestRoomAndJobAlerts runs the exporter as the README's quick start does
// (--demo) under a real Prometheus and Alertmanager, and follows the alerts
// on rooms and live jobs to the webhook: a room that runs forever and one
// whose own callback is unsafe (demo-risky), a job near its room's limit, a
// job whose push has been down (the outage job drops 12 s after the start,
// for 3 minutes) and a job that failed minutes ago (demo-safe), each with
// the labels of its room or job; the safe tenant's rooms raise nothing.
func TestRoomAndJobAlerts(t *testing.T) {
	promBin := requireBinary(t, "prometheus", "prometheus")
	amBin := requireBinary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	dir := t.TempDir()
	rules := loadBundledRules(t)
	exporterBin := buildExporter(ctx, t, dir)

	exporterAddr := loopback.FreeAddress(t)
	exporter := start(t, dir, "exporter", exporterBin, "--demo",
		"--web.listen-address="+exporterAddr, "--callback.listen-address="+loopback.FreeAddress(t),
		"--scrape.timeout-offset=0.1s")
	hook := newStreamWebhook(t)
	promAddr := startAlerting(ctx, t, dir, amBin, promBin, hook.url, alerting{
		groupBy: "[alertname, tenant, room_id, job_id]", groupWait: "0s", job: job,
		rules: shortenFor(t, rules.raw, "2s"), targets: []string{exporterAddr},
	})
	if err := waitReady(ctx, exporter, "http://"+exporterAddr+"/-/ready"); err != nil {
		t.Fatal(err)
	}
	api := &promAPI{base: "http://" + promAddr}
	started := time.Now()

	for _, want := range wantRoomAndJobAlerts {
		n := hook.wait(ctx, t, want["alertname"], "firing")
		t.Logf("%s firing %v after the exporter was ready", want["alertname"], n.received.Sub(started).Round(time.Second))
		got := n.alert
		for k, v := range want {
			if got.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q (all: %v)", want["alertname"], k, got.Labels[k], v, got.Labels)
			}
		}
		if got.Labels["job"] != job || got.Labels["instance"] != exporterAddr {
			t.Errorf("%s: job %q, instance %q; want %q, %q", want["alertname"], got.Labels["job"], got.Labels["instance"], job, exporterAddr)
		}
		r := rules.alerts[want["alertname"]]
		d := got.Annotations["description"]
		if got.Annotations["summary"] != r.Annotations["summary"] || got.Annotations["runbook_url"] != runbookPrefix+strings.ToLower(want["alertname"]) ||
			!strings.Contains(d, want["tenant"]) || !strings.Contains(d, want["room_id"]) || !strings.Contains(d, want["job_id"]) ||
			strings.Contains(d, "{{") || strings.Contains(d, "<no value>") {
			t.Errorf("%s: annotations %v do not match the rule or do not name its room and job", want["alertname"], got.Annotations)
		}
	}

	// The safe tenant's rooms: once the settings of each of its three
	// rooms with settings of their own have been read, and more rounds in
	// which an alert on them would fire, none has.
	waitUntil(ctx, t, "demo-safe's rooms to have their settings read", func() (bool, string) {
		n, err := api.query(ctx, `metastudio_room_play_repeats{tenant="demo-safe"} or metastudio_room_event_callback_https{tenant="demo-safe"}`)
		return n == 3, fmt.Sprintf("%d of 3 rooms, %v", n, err)
	})
	api.waitRounds(ctx, t, 4)
	firing, pending := api.alerts(ctx, t)
	for _, a := range append(firing, pending...) {
		if strings.HasPrefix(a.Labels["alertname"], "MetaStudioRoom") && a.Labels["tenant"] == "demo-safe" {
			t.Errorf("the safe tenant's room %s raised %s (%s)", a.Labels["room_id"], a.Labels["alertname"], a.State)
		}
	}
	for _, n := range hook.all("MetaStudioRoom") {
		if strings.Contains(n, "tenant:demo-safe") {
			t.Errorf("webhook: %s", n)
		}
	}
	// Each room and job alerts once: one notification per alert and room
	// or job, none for another room or job.
	var notified []string
	for _, prefix := range []string{"MetaStudioRoom", "MetaStudioLiveJob"} {
		for _, n := range hook.all(prefix) {
			if strings.HasPrefix(n, "firing ") && !slices.Contains(notified, n) {
				notified = append(notified, n)
			}
		}
	}
	if len(notified) != len(wantRoomAndJobAlerts) {
		t.Errorf("webhook: %d distinct room and job alerts, want %d:\n%s", len(notified), len(wantRoomAndJobAlerts), strings.Join(notified, "\n"))
	}
	t.Logf("the test took %v", time.Since(began).Round(time.Second))
}
