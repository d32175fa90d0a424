package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// samplePage has a tenant of each kind: up and fetched at every scrape,
// up from its cache, down with a reason, not scraped yet, and discovered.
// Its findings are set by hand: rendering shows what it is given, and
// status_findings_test.go tests how they are found.
func samplePage() StatusPage {
	return StatusPage{
		Name:  "metastudio_exporter",
		Build: BuildInfo{Version: "1.2.3", Revision: "0123abc", GoVersion: "go1.26.0"},
		Now:   now,
		Tenants: []TenantStatus{
			{Name: "shop-a", ProjectID: "p-a", Region: "cn-north-4",
				TenantStatus: collector.TenantStatus{Called: true, Up: true, LastSuccess: now.Add(-12 * time.Second),
					CallbackKnown: true, CallbackRoute: "https://mon.example.com:10037/callback/shop-a", RoutedHere: true, Settings: &metastudio.Settings{}},
				LastEvent:     now.Add(-3 * time.Second),
				RoomsInterval: time.Minute, JobsInterval: time.Minute,
				Inventory: inventory.Status{Watched: true,
					Rooms: &inventory.RoomsStatus{Up: true, LastSuccess: now.Add(-20 * time.Second), Interval: time.Minute, Listed: 3, Detailed: 2, Skipped: 4,
						Own: []inventory.RoomStatus{
							{ID: "room-1", Name: "Morning", Repeats: new(0)},
							{ID: "room-loop", Name: "Loop", Repeats: new(-1), MaxDuration: new(2 * time.Hour), MaxExceptionWaiting: new(time.Duration(0)),
								Callback: &inventory.CallbackStatus{AuthType: "MSS_A_HEAD", Scheme: "https"}},
							{ID: "room-hook", Name: "Hook", Callback: &inventory.CallbackStatus{AuthType: "NONE", Scheme: "http", Credentials: true}},
						}},
					Jobs: &inventory.JobsStatus{Up: true, LastSuccess: now.Add(-5 * time.Second), Interval: time.Minute,
						Running: []inventory.JobStatus{
							{ID: "job-1", RoomID: "room-loop", State: "PROCESSING", Duration: 95 * time.Minute, StreamDuration: 90 * time.Minute,
								MaxDuration: 2 * time.Hour, MaxDurationKnown: true, Callback: &inventory.CallbackStatus{AuthType: "MSS_A_HEAD", Scheme: "https"}},
							{ID: "job-7", RoomID: "room-2", State: "PROCESSING", Duration: 3 * time.Hour, StreamDuration: 3 * time.Hour, MaxDurationKnown: true},
							{ID: "job-w", RoomID: "room-1", State: "WAITING"},
						},
						Failed: []inventory.FailedJobStatus{{ID: "job-f", RoomID: "room-1", State: "FAILED", ErrorCode: "MSS.00000201", At: now.Add(-6 * time.Minute)}}}},
				Streams: []receiver.StreamStatus{
					{RoomID: "room-1", JobID: "job-1", OutputHost: "push.example.com", State: "CONNECTED", Since: now.Add(-90 * time.Second)},
					{RoomID: "room-2", JobID: "job-7", OutputHost: "push.example.net:1935", State: "DISCONNECTED", Since: now.Add(-5 * time.Second)},
				}},
			{Name: "shop-b", ProjectID: "p-b", Region: "cn-north-4",
				TenantStatus: collector.TenantStatus{Called: true, Up: true, LastSuccess: now.Add(-100 * time.Second), Cached: true, CacheAge: 100 * time.Second,
					CallbackKnown: true, CallbackRoute: "https://elsewhere.example.com/hook", Settings: &metastudio.Settings{}}, MaxCacheAge: 5 * time.Minute,
				JobsInterval: time.Minute, Inventory: inventory.Status{Watched: true},
				Findings: []Finding{
					{Alert: "MetaStudioExceptionWaitingUnlimited", Severity: "critical", Text: "waits forever."},
					{Alert: "MetaStudioCallbackNotRoutedHere", Severity: "warning", Text: "points elsewhere."},
					{Alert: "MetaStudioInterruptionNotifyDisabled", Severity: "warning", Text: "nobody is told."},
				}},
			{Name: "broken", ProjectID: "p-x", Region: "cn-east-3",
				TenantStatus: collector.TenantStatus{Called: true, Reason: "auth", ErrorCode: "APIGW.0301",
					Error: "get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information", LastSuccess: now.Add(-2 * time.Hour), Settings: &metastudio.Settings{}},
				RoomsInterval: 10 * time.Minute, JobsInterval: time.Minute,
				Inventory: inventory.Status{Watched: true, Rooms: &inventory.RoomsStatus{Interval: 10 * time.Minute},
					Jobs: &inventory.JobsStatus{LastSuccess: now.Add(-3 * time.Minute), Interval: time.Minute, Running: []inventory.JobStatus{{ID: "job-old", RoomID: "room-9", State: "PROCESSING"}}}},
				Findings: []Finding{{Alert: "MetaStudioCallbackUnsigned", Severity: "warning", Text: "unsigned."}}},
			{Name: "locked", ProjectID: "p-l", Region: "cn-north-4",
				TenantStatus:  collector.TenantStatus{Called: true, Reason: "forbidden", ErrorCode: "MSS.00000003", Error: "get user config: HTTP 403 MSS.00000003: no permission"},
				RoomsInterval: 10 * time.Minute, JobsInterval: time.Minute},
			{Name: "new", ProjectID: "p-n", Region: "cn-north-4"},
			{Name: "cn-north-4_found", ProjectID: "p-f", Region: "cn-north-4",
				TenantStatus: collector.TenantStatus{Called: true, Up: true, LastSuccess: now.Add(-time.Second), CallbackKnown: true, Settings: &metastudio.Settings{}},
				Findings:     []Finding{{Alert: "MetaStudioEventCallbackMissing", Severity: "info", Text: "no callback."}},
				Discovered:   true, DiscoveryEntry: "fleet"},
		},
		Discovery: []DiscoveryStatus{
			{tenants.EntryStatus{Index: 0, Label: "0", Errors: 3, LastError: "list IAM projects: HTTP 503 APIGW.0202: Backend unavailable"}},
			{tenants.EntryStatus{Index: 1, Name: "fleet", Label: "fleet", LastSuccess: now.Add(-90 * time.Second), Listed: 8, Matched: 3, Served: 2}},
			{tenants.EntryStatus{Index: 2, Name: "east", Label: "east", Previous: true, LastSuccess: now.Add(-time.Hour), Listed: 4, Matched: 1, Served: 1,
				Errors: 1, LastError: "list IAM projects: HTTP 401 APIGW.0301: Incorrect IAM authentication information"}},
		},
		Receiver: &ReceiverStatus{ListenAddress: "[::]:10037", ExternalURL: "https://mon.example.com:10037/"},
		Recent: []receiver.CallbackRecord{
			{Time: now.Add(-3 * time.Second), Tenant: "shop-a", EventType: "RTMP_STREAM_STATE_CHANGE", Result: "accepted"},
			{Time: now.Add(-2 * time.Second), Tenant: "shop-b", EventType: "", Result: "bad_signature"},
			{Time: now.Add(-4 * time.Second), Result: "unknown_tenant"},
		},
		Links: []Link{{Address: "/metrics", Text: "Metrics", Description: "every tenant"}, {Address: "/sd", Text: "Service discovery"}},
	}
}

func render(t *testing.T, page StatusPage, path string) (int, string) {
	t.Helper()
	h := NewStatusPage(func(context.Context) StatusPage { return page }, log.NewNopLogger())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

var tags = regexp.MustCompile(`<[^>]*>`)

// rows returns the table rows of the page as text: cells separated by " | ",
// markup dropped.
func rows(html string) []string {
	var out []string
	for _, row := range regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`).FindAllStringSubmatch(html, -1) {
		cells := regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`).FindAllStringSubmatch(row[1], -1)
		var texts []string
		for _, c := range cells {
			texts = append(texts, strings.Join(strings.Fields(tags.ReplaceAllString(strings.ReplaceAll(c[1], "<br>", " "), "")), " "))
		}
		out = append(out, strings.Join(strings.Fields(strings.Join(texts, " | ")), " "))
	}
	return out
}

func TestStatusPageRows(t *testing.T) {
	code, html := render(t, samplePage(), "/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	got := strings.Join(rows(html), "\n")
	want := strings.Join([]string{
		"tenant | state | findings | reason | last successful fetch | data served | from | project / region |",
		"shop-a | up | no findings | | 12s ago | fetched at every scrape | config file | p-a cn-north-4 | probe",
		"shop-b | up | 1 critical, 2 warning | | 1m40s ago | 1m40s old (max_cache_age 5m) | config file | p-b cn-north-4 | probe",
		"broken | down | 1 warning | auth (APIGW.0301) get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information | 2h ago | none: up is 0 | config file | p-x cn-east-3 | probe",
		"locked | down | unknown: its settings could not be fetched | forbidden (MSS.00000003) get user config: HTTP 403 MSS.00000003: no permission | never | none: up is 0 | config file | p-l cn-north-4 | probe",
		"new | not scraped yet | not known until its settings are fetched | | never | | config file | p-n cn-north-4 | probe",
		"cn-north-4_found | up | 1 info | | 1s ago | fetched at every scrape | discovery entry fleet | p-f cn-north-4 | probe",
		"tenant | bundled alert conditions its settings, rooms and live jobs meet now",
		"shop-a | no findings",
		"shop-b | critical MetaStudioExceptionWaitingUnlimited: waits forever. warning MetaStudioCallbackNotRoutedHere: points elsewhere. warning MetaStudioInterruptionNotifyDisabled: nobody is told.",
		"broken | warning MetaStudioCallbackUnsigned: unsigned. From its last good answer, 2h ago.",
		"locked | unknown: its settings could not be fetched",
		"new | not known until its settings are fetched",
		"cn-north-4_found | info MetaStudioEventCallbackMissing: no callback.",
		"tenant | rooms | live jobs",
		"shop-a | 3 rooms, 2 with their settings read, 4 past max_rooms; refreshed every 1m, last 20s ago | 3 running, 1 failed or blocked in the failed window; refreshed every 1m, last 5s ago",
		"shop-b | not watched: rooms.refresh_interval is 0 | listing them for the first time",
		"broken | refreshing fails: never listed | 1 running, 0 failed or blocked in the failed window as last listed; refreshing fails, last success 3m ago",
		"locked | not listed: they are while /metrics or /probe is scraped for them | not listed: they are while /metrics or /probe is scraped for them",
		"new | not watched: rooms.refresh_interval is 0 | not watched: live_jobs.refresh_interval is 0",
		"cn-north-4_found | not watched: rooms.refresh_interval is 0 | not watched: live_jobs.refresh_interval is 0",
		"tenant | job | room | state | live for | stream up for | time left before its limit | callback it runs with",
		"shop-a | job-1 | room-loop | PROCESSING | 1h35m | 1h30m | 25m of 2h | MSS_A_HEAD over https",
		"shop-a | job-7 | room-2 | PROCESSING | 3h | 3h | no limit | none reported",
		"shop-a | job-w | room-1 | WAITING | 0s | 0s | not known yet: its room&#39;s or tenant&#39;s limit is not read yet | none reported",
		"broken | job-old | room-9 | PROCESSING | 0s | 0s | not known yet: its room&#39;s or tenant&#39;s limit is not read yet | none reported",
		"tenant | room | name | repeats | max live duration | max exception waiting | its own callback",
		"shop-a | room-1 | Morning | 0 | the tenant&#39;s | the tenant&#39;s | the tenant&#39;s",
		"shop-a | room-loop | Loop | until stopped (-1) | 2h | none (0) | MSS_A_HEAD, over https",
		"shop-a | room-hook | Hook | the tenant&#39;s | the tenant&#39;s | the tenant&#39;s | NONE, over http, credentials in the URL",
		"entry | state | last success | projects listed | matched | served | failed listings | last error",
		"discovery entry 0 | failing | never | 0 | 0 | 0 | 3 | list IAM projects: HTTP 503 APIGW.0202: Backend unavailable",
		"discovery entry fleet | ok | 1m30s ago | 8 | 3 | 2 | 0 |",
		"discovery entry east | failing; serving its previous version's list until it lists | 1h ago | 4 | 1 | 1 | 1 | list IAM projects: HTTP 401 APIGW.0301: Incorrect IAM authentication information",
		"tenant | callback URL for the MetaStudio console | settings point here | last event",
		"shop-a | https://mon.example.com:10037/callback/shop-a | yes | 3s ago",
		"shop-b | https://mon.example.com:10037/callback/shop-b | no: it points to https://elsewhere.example.com/hook | never",
		"broken | https://mon.example.com:10037/callback/broken | unknown: its settings could not be fetched | never",
		"locked | https://mon.example.com:10037/callback/locked | unknown: its settings could not be fetched | never",
		"new | https://mon.example.com:10037/callback/new | not known until its settings are fetched | never",
		"cn-north-4_found | https://mon.example.com:10037/callback/cn-north-4_found | no: no callback URL is set | never",
		"tenant | room | job | output host | state | since",
		"shop-a | room-1 | job-1 | push.example.com | CONNECTED | 2030-01-02 03:02:35Z (1m30s ago)",
		"shop-a | room-2 | job-7 | push.example.net:1935 | DISCONNECTED | 2030-01-02 03:04:00Z (5s ago)",
		"time | tenant | event type | result",
		"2030-01-02 03:04:03Z (2s ago) | shop-b | | bad_signature",
		"2030-01-02 03:04:02Z (3s ago) | shop-a | RTMP_STREAM_STATE_CHANGE | accepted",
		"2030-01-02 03:04:01Z (4s ago) | unknown | | unknown_tenant",
	}, "\n")
	if got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range []string{
		"Tenants: 3 of 6 up",
		`<td class="down">down</td>`,
		`<td class="up">accepted</td>`,
		`<a href="/probe?tenant=cn-north-4_found">probe</a>`,
		`<a href="/metrics">Metrics</a>: every tenant`,
		`<p id="build">version 1.2.3, revision 0123abc, go1.26.0 &middot; page built 2030-01-02 03:04:05Z</p>`,
		"Listening on <code>[::]:10037</code>",
		// The summary links to the tenant's findings, coloured by the most
		// severe; each finding is coloured by its own severity.
		`<td class="critical"><a class="critical" href="#findings-shop-b">1 critical, 2 warning</a></td>`,
		`<tr id="findings-shop-b" class="critical">`,
		`<li class="warning" data-alert="MetaStudioCallbackNotRoutedHere"><span class="severity">warning</span> <strong>MetaStudioCallbackNotRoutedHere</strong>: points elsewhere.</li>`,
		`<tr id="findings-shop-a" class="up">`,
		`<td class="down">DISCONNECTED</td>`,
		// A job near its limit reads as its alert's severity, an unsafe
		// room's callback as a warning.
		`<td class="info">25m of 2h</td>`,
		`<td class="warning">NONE, over http, credentials in the URL</td>`,
		`<td class="up">MSS_A_HEAD, over https</td>`,
	} {
		if !strings.Contains(html, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("the page has a script; it must read without JavaScript")
	}
	if strings.Contains(html, "reload failed") {
		t.Error("the page shows a reload failure, and there was none")
	}
}

// TestStatusPageWithoutExternalURL: each tenant's URL is shown with a
// placeholder, and the page says how to set the flag.
func TestStatusPageWithoutExternalURL(t *testing.T) {
	page := samplePage()
	page.Receiver.ExternalURL = ""
	_, html := render(t, page, "/")
	if r := rows(html); !contains(r, "shop-a | {external-url}/callback/shop-a | unknown without --callback.external-url | 3s ago") {
		t.Errorf("rows:\n%s", strings.Join(r, "\n"))
	}
	if want := "<strong>no external URL is set</strong>: start the exporter with <code>--callback.external-url=https://host:port</code>"; !strings.Contains(html, want) {
		t.Errorf("the page does not say how to set the external URL:\n%s", html)
	}
}

// TestStatusPageReceiverOff: no receiver table, no callbacks, and the flag
// that turns it on.
func TestStatusPageReceiverOff(t *testing.T) {
	page := samplePage()
	page.Receiver, page.Discovery = nil, nil
	_, html := render(t, page, "/")
	for _, absent := range []string{"callback URL for the MetaStudio console", "Recent callbacks", "Project discovery", "Live streams"} {
		if strings.Contains(html, absent) {
			t.Errorf("the page shows %q", absent)
		}
	}
	if want := "Off. <code>--callback.listen-address=:10037</code> turns it on"; !strings.Contains(html, want) {
		t.Errorf("the page lacks %q", want)
	}
}

// TestStatusPageEscapes: names come from config files and IAM project
// names; markup in them stays text, in cells and in links alike.
func TestStatusPageEscapes(t *testing.T) {
	page := samplePage()
	evil := `<script>alert("x")</script>&`
	page.Tenants[0].Name = evil
	page.Tenants[2].Error = `<img src=x onerror=alert(1)>`
	page.Recent[0].Tenant = evil
	// Room names and ids come from the API.
	page.Tenants[0].Inventory.Rooms.Own[0].Name = evil
	page.Tenants[0].Inventory.Jobs.Running[0].ID = `<img src=y onerror=alert(2)>`
	_, html := render(t, page, "/")
	for _, bad := range []string{"<script>", "<img"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{
		`<td class="name">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;</td>`,
		`href="/probe?tenant=%3cscript%3ealert%28%22x%22%29%3c%2fscript%3e%26"`,
		`<code>https://mon.example.com:10037/callback/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E&amp;</code>`,
		`&lt;img src=x onerror=alert(1)&gt;`,
		`<td>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;</td>`,
		`<td>&lt;img src=y onerror=alert(2)&gt;</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestStatusPageRecentCap: however many callbacks the source hands over,
// the page lists the newest 100, newest first.
func TestStatusPageRecentCap(t *testing.T) {
	page := samplePage()
	page.Recent = nil
	for i := range 150 { // oldest first, the wrong way round
		page.Recent = append(page.Recent, receiver.CallbackRecord{Time: now.Add(time.Duration(i-150) * time.Second), Tenant: fmt.Sprintf("t%03d", i), Result: "accepted"})
	}
	_, html := render(t, page, "/")
	var listed []string
	for _, r := range rows(html) {
		if m := regexp.MustCompile(`^\S+ \S+ \(\S+ ago\) \| (t\d{3}) \|`).FindStringSubmatch(r); m != nil {
			listed = append(listed, m[1])
		}
	}
	if len(listed) != MaxRecentCallbacks || listed[0] != "t149" || listed[99] != "t050" {
		t.Errorf("%d callbacks listed, first %v last %v; want 100 from t149 down to t050", len(listed), first(listed), last(listed))
	}
	if !strings.Contains(html, "The last 100 callbacks, newest first") {
		t.Error("the page does not say how many callbacks it lists")
	}
	if len(page.Recent) != 150 || page.Recent[0].Tenant != "t000" {
		t.Error("rendering changed the caller's slice")
	}
}

// TestStatusPageReloadFailure: a failed reload is a banner above
// everything else, with when and the whole error, escaped.
func TestStatusPageReloadFailure(t *testing.T) {
	page := samplePage()
	page.ReloadFailure = &ReloadFailure{At: now.Add(-90 * time.Second),
		Error: "metastudio.yml:2: tenants[0].project_id: required\nmetastudio.yml:3: tenants[0].<b>: unknown key"}
	_, html := render(t, page, "/")
	want := `<main>
<div class="banner" id="reload-failed" role="alert">
<strong>The last config reload failed</strong> 1m30s ago (2030-01-02 03:02:35Z): the exporter keeps serving the config it loaded before. Fix the file and reload again (SIGHUP or <code>POST /-/reload</code>).
<pre>metastudio.yml:2: tenants[0].project_id: required
metastudio.yml:3: tenants[0].&lt;b&gt;: unknown key</pre>
</div>
<p id="build">`
	if !strings.Contains(html, want) {
		t.Errorf("the page does not open with the banner:\n%s", html)
	}
}

// TestStatusPageNoStreams: with the receiver on and nothing tracked, the
// page says when streams appear.
func TestStatusPageNoStreams(t *testing.T) {
	page := samplePage()
	page.Tenants[0].Streams = nil
	_, html := render(t, page, "/")
	if want := "No stream is tracked: streams appear with their first <code>RTMP_STREAM_STATE_CHANGE</code> event."; !strings.Contains(html, want) {
		t.Errorf("the page lacks %q", want)
	}
	if strings.Contains(html, "<th>output host</th>") {
		t.Error("the page shows an empty streams table")
	}
}

// TestBuildLine: the version line shows what is known and leaves out what
// a plain go build did not set, instead of "branch=," and "unknown".
func TestBuildLine(t *testing.T) {
	for _, tc := range []struct {
		b    BuildInfo
		want string
	}{
		{BuildInfo{Version: "dev", GoVersion: "go1.26.0"}, "version dev, go1.26.0"},
		{BuildInfo{Version: "dev", Revision: "0123abc-modified", GoVersion: "go1.26.0"}, "version dev, revision 0123abc-modified, go1.26.0"},
		{BuildInfo{Version: "1.4.0", Revision: "0123abc", Branch: "main", BuildDate: "20260301-10:00:00", GoVersion: "go1.26.0"},
			"version 1.4.0, revision 0123abc, branch main, built 20260301-10:00:00, go1.26.0"},
	} {
		if got := tc.b.Line(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.b, got, tc.want)
		}
	}
}

func TestStatusPageOnlyAtRoot(t *testing.T) {
	if code, body := render(t, samplePage(), "/nope"); code != http.StatusNotFound || body != "404 page not found\n" {
		t.Errorf("/nope: %d %q", code, body)
	}
}

func TestAge(t *testing.T) {
	page := StatusPage{Now: now}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now, "0s ago"},
		{now.Add(time.Second), "0s ago"}, // a clock step back is not "in the future"
		{now.Add(-1499 * time.Millisecond), "1s ago"},
		{now.Add(-61 * time.Minute), "1h1m ago"},
		{now.Add(-49 * time.Hour), "2d1h ago"},
	} {
		if got := page.Ago(tc.at); got != tc.want {
			t.Errorf("Ago(now%+v) = %q, want %q", tc.at.Sub(now), got, tc.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
