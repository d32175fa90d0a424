package web

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// safeSettings meet no condition: limits within the policy below, a signed
// https callback with a key and stream-state events, AUTO_EXIT on.
func safeSettings() metastudio.Settings {
	return metastudio.Settings{
		MaxLiveDurationHours: 12, MaxExceptionWaitingMinutes: 5,
		CallbackConfigured: true, CallbackHTTPS: true, CallbackRoute: "https://mon.example.com/callback/t",
		CallbackAuthType: "MSS_A", CallbackKeyConfigured: true,
		CallbackEvents: []string{"RTMP_STREAM_STATE_CHANGE"}, NotifyEvents: []string{"AUTO_EXIT"},
	}
}

var testPolicy = config.Policy{MaxLiveDuration: 24 * time.Hour, MaxExceptionWaiting: 30 * time.Minute}

// TestFindings: each condition as its rule reads it, at its edges; the
// whole-program test holds them to the rules themselves.
func TestFindings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*FindingInput)
		want   []string
	}{
		{"safe", func(*FindingInput) {}, nil},
		{"unlimited duration", func(in *FindingInput) { in.Settings.MaxLiveDurationHours = 0 }, []string{"MetaStudioLiveDurationUnlimited"}},
		{"duration at the policy", func(in *FindingInput) { in.Settings.MaxLiveDurationHours = 24 }, nil},
		{"duration above the policy", func(in *FindingInput) { in.Settings.MaxLiveDurationHours = 25 }, []string{"MetaStudioLiveDurationAbovePolicy"}},
		{"duration without a policy", func(in *FindingInput) { in.Settings.MaxLiveDurationHours, in.Policy.MaxLiveDuration = 168, 0 }, nil},
		{"unlimited exception waiting", func(in *FindingInput) { in.Settings.MaxExceptionWaitingMinutes = 0 }, []string{"MetaStudioExceptionWaitingUnlimited"}},
		{"exception waiting at the policy", func(in *FindingInput) { in.Settings.MaxExceptionWaitingMinutes = 30 }, nil},
		{"exception waiting above the policy", func(in *FindingInput) { in.Settings.MaxExceptionWaitingMinutes = 31 }, []string{"MetaStudioExceptionWaitingAbovePolicy"}},
		{"plain http", func(in *FindingInput) { in.Settings.CallbackHTTPS = false }, []string{"MetaStudioCallbackNotHttps"}},
		{"unsigned", func(in *FindingInput) { in.Settings.CallbackAuthType = "NONE" }, []string{"MetaStudioCallbackUnsigned"}},
		{"MSS_A_HEAD without a key", func(in *FindingInput) {
			in.Settings.CallbackAuthType, in.Settings.CallbackKeyConfigured = "MSS_A_HEAD", false
		}, []string{"MetaStudioCallbackKeyMissing"}},
		{"NONE without a key", func(in *FindingInput) {
			in.Settings.CallbackAuthType, in.Settings.CallbackKeyConfigured = "NONE", false
		}, []string{"MetaStudioCallbackUnsigned"}},
		{"an auth type the rules do not know, without a key", func(in *FindingInput) {
			in.Settings.CallbackAuthType, in.Settings.CallbackKeyConfigured = "MEITUAN_DEFAULT", false
		}, nil},
		{"no stream-state events", func(in *FindingInput) { in.Settings.CallbackEvents = []string{"SHOOT_SCRIPT_SWITCH"} },
			[]string{"MetaStudioStreamStateEventsDisabled"}},
		{"no AUTO_EXIT", func(in *FindingInput) { in.Settings.NotifyEvents = nil }, []string{"MetaStudioInterruptionNotifyDisabled"}},
		// Without a URL the callback's other settings are moot, as in the
		// rules: only the missing callback (and a key the auth type lacks).
		{"no callback", func(in *FindingInput) {
			in.Settings.CallbackConfigured, in.Settings.CallbackHTTPS, in.Settings.CallbackAuthType, in.Settings.CallbackEvents = false, false, "NONE", nil
		}, []string{"MetaStudioEventCallbackMissing"}},
		{"routed here", func(in *FindingInput) { in.ExternalURL, in.RoutedHere = "https://mon.example.com", true }, nil},
		{"routed elsewhere", func(in *FindingInput) { in.ExternalURL = "https://mon.example.com" }, []string{"MetaStudioCallbackNotRoutedHere"}},
		{"no external URL to compare with", func(in *FindingInput) { in.RoutedHere = false }, nil},
		{"everything, most severe first", func(in *FindingInput) {
			*in.Settings = metastudio.Settings{CallbackConfigured: true, CallbackAuthType: "MSS_A", CallbackRoute: "http://elsewhere.example.com/hook"}
			in.ExternalURL = "https://mon.example.com"
		}, []string{
			"MetaStudioExceptionWaitingUnlimited", "MetaStudioCallbackNotHttps", "MetaStudioCallbackKeyMissing",
			"MetaStudioLiveDurationUnlimited", "MetaStudioStreamStateEventsDisabled", "MetaStudioInterruptionNotifyDisabled", "MetaStudioCallbackNotRoutedHere",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := safeSettings()
			in := FindingInput{Settings: &settings, Policy: testPolicy}
			tc.change(&in)
			var got []string
			for _, f := range Findings(in) {
				got = append(got, f.Alert)
				if f.Severity != FindingAlerts()[f.Alert] || f.Text == "" {
					t.Errorf("%+v: severity or text wrong", f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFindingTexts: the sentences carry the tenant's values and the
// policy's, in the page's duration syntax, and where a callback points
// without its query.
func TestFindingTexts(t *testing.T) {
	settings := safeSettings()
	settings.MaxLiveDurationHours, settings.MaxExceptionWaitingMinutes = 48, 45
	settings.CallbackRoute = "https://elsewhere.example.com/hook"
	got := map[string]string{}
	for _, f := range Findings(FindingInput{Settings: &settings, Policy: testPolicy, ExternalURL: "https://mon.example.com"}) {
		got[f.Alert] = f.Text
	}
	want := map[string]string{
		"MetaStudioLiveDurationAbovePolicy":     "live streams may run up to 2d, above the policy's 1d.",
		"MetaStudioExceptionWaitingAbovePolicy": "a broken live stream stays open up to 45m, above the policy's 30m.",
		"MetaStudioCallbackNotRoutedHere":       "the callback URL points to https://elsewhere.example.com/hook instead of this receiver: the tenant's stream states are not seen here.",
	}
	if !maps.Equal(got, want) {
		t.Errorf("texts:\n%q\nwant\n%q", got, want)
	}
	if f := Findings(FindingInput{}); f != nil {
		t.Errorf("findings without settings: %v", f)
	}
}

// TestInventoryFindings: each room and job condition as its rule reads the
// series, at its edges, one finding per room or job, most severe first.
func TestInventoryFindings(t *testing.T) {
	pageNow := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	d := func(v time.Duration) *time.Duration { return &v }
	forever := new(metastudio.RepeatUntilStopped)
	for _, tc := range []struct {
		name      string
		tenantMax int // the tenant's max_live_duration in hours; -1: its settings not known
		inv       inventory.Status
		want      []string
	}{
		{"nothing listed", 0, inventory.Status{}, nil},
		{"a room that repeats for ever, its own limit 0", 12, rooms(inventory.RoomStatus{ID: "r", Repeats: forever, MaxDuration: d(0)}),
			[]string{"MetaStudioRoomRunsForever room r repeats its script until stopped and its own max_live_duration is 0 (none): a job started in it streams, and bills, until stopped by hand."}},
		{"its own limit set", 0, rooms(inventory.RoomStatus{ID: "r", Repeats: forever, MaxDuration: d(time.Hour)}), nil},
		{"no limit of its own, the tenant's 0", 0, rooms(inventory.RoomStatus{ID: "r", Name: "Loop", Repeats: forever}),
			[]string{"MetaStudioRoomRunsForever room r (Loop) repeats its script until stopped and sets no max_live_duration, and the tenant's is 0 (none): a job started in it streams, and bills, until stopped by hand."}},
		{"no limit of its own, the tenant's set", 12, rooms(inventory.RoomStatus{ID: "r", Repeats: forever}), nil},
		{"no limit of its own, the tenant's not known", -1, rooms(inventory.RoomStatus{ID: "r", Repeats: forever}), nil},
		{"a room that repeats 3 times", 0, rooms(inventory.RoomStatus{ID: "r", Repeats: new(3), MaxDuration: d(0)}), nil},
		{"a plain http callback", 12, rooms(inventory.RoomStatus{ID: "r", Callback: &inventory.CallbackStatus{AuthType: "MSS_A", Scheme: "http"}}),
			[]string{"MetaStudioRoomCallbackUnsafe room r sends its live events to a callback of its own that is not https: events, and any credentials in the URL, travel in clear text."}},
		{"another scheme", 12, rooms(inventory.RoomStatus{ID: "r", Callback: &inventory.CallbackStatus{AuthType: "MSS_A", Scheme: "other"}}),
			[]string{"MetaStudioRoomCallbackUnsafe room r sends its live events to a callback of its own that is not https: events, and any credentials in the URL, travel in clear text."}},
		{"https, unsigned, no credentials", 12, rooms(inventory.RoomStatus{ID: "r", Callback: &inventory.CallbackStatus{AuthType: "NONE", Scheme: "https"}}),
			[]string{"MetaStudioRoomCallbackUnsafe room r sends its live events to a callback of its own that is not signed (auth type NONE) and carries no credentials in its URL: anyone who knows the URL can forge events."}},
		{"https, unsigned, credentials in the URL", 12, rooms(inventory.RoomStatus{ID: "r", Callback: &inventory.CallbackStatus{AuthType: "NONE", Scheme: "https", Credentials: true}}), nil},
		{"https, signed", 12, rooms(inventory.RoomStatus{ID: "r", Callback: &inventory.CallbackStatus{AuthType: "MSS_A_HEAD", Scheme: "https"}}), nil},
		{"a job 29m59s from its limit", 12, jobs(inventory.JobStatus{ID: "j", RoomID: "r", State: "PROCESSING", Duration: 90*time.Minute + time.Second, MaxDuration: 2 * time.Hour, MaxDurationKnown: true}),
			[]string{"MetaStudioLiveJobNearMaxDuration live job j in room r reaches its maximum live duration of 2h in 29m59s and will then be stopped: start its successor in time if the show must go on."}},
		{"a job 30m from its limit", 12, jobs(inventory.JobStatus{ID: "j", RoomID: "r", State: "PROCESSING", Duration: 90 * time.Minute, MaxDuration: 2 * time.Hour, MaxDurationKnown: true}), nil},
		{"a waiting job", 12, jobs(inventory.JobStatus{ID: "j", RoomID: "r", State: "WAITING", Duration: 119 * time.Minute, MaxDuration: 2 * time.Hour, MaxDurationKnown: true}), nil},
		{"a job without a limit", 0, jobs(inventory.JobStatus{ID: "j", RoomID: "r", State: "PROCESSING", Duration: 99 * time.Hour, MaxDurationKnown: true}), nil},
		{"a job whose limit is not known", 12, jobs(inventory.JobStatus{ID: "j", RoomID: "r", State: "PROCESSING", Duration: 99 * time.Hour, MaxDuration: time.Hour}), nil},
		{"failed 14m59s ago", 12, failed(inventory.FailedJobStatus{ID: "j", RoomID: "r", State: "FAILED", ErrorCode: "MSS.00000201", At: pageNow.Add(-14*time.Minute - 59*time.Second)}),
			[]string{"MetaStudioLiveJobFailed live job j in room r failed 14m59s ago (error code MSS.00000201)."}},
		{"blocked, no code", 12, failed(inventory.FailedJobStatus{ID: "j", RoomID: "r", State: "BLOCKED", At: pageNow.Add(-time.Minute)}),
			[]string{"MetaStudioLiveJobFailed live job j in room r was blocked 1m ago (error code none given)."}},
		{"failed 15m ago", 12, failed(inventory.FailedJobStatus{ID: "j", RoomID: "r", State: "FAILED", At: pageNow.Add(-15 * time.Minute)}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := FindingInput{Policy: testPolicy, Inventory: tc.inv, Now: pageNow}
			if tc.tenantMax >= 0 {
				settings := safeSettings()
				settings.MaxLiveDurationHours = tc.tenantMax
				in.Settings = &settings
			}
			var got []string
			for _, f := range Findings(in) {
				if f.Severity != FindingAlerts()[f.Alert] {
					t.Errorf("%+v: severity wrong", f)
				}
				if _, ok := inventoryFindingAlerts[f.Alert]; ok {
					got = append(got, f.Alert+" "+f.Text)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}

	// Several rooms and jobs: one finding each, most severe first.
	in := FindingInput{Now: pageNow, Inventory: inventory.Status{
		Rooms: &inventory.RoomsStatus{Own: []inventory.RoomStatus{
			{ID: "a", Repeats: forever, MaxDuration: d(0)}, {ID: "b", Repeats: forever, MaxDuration: d(0), Callback: &inventory.CallbackStatus{AuthType: "NONE", Scheme: "http"}}}},
		Jobs: &inventory.JobsStatus{
			Running: []inventory.JobStatus{{ID: "j", RoomID: "a", State: "PROCESSING", Duration: time.Hour, MaxDuration: time.Hour, MaxDurationKnown: true}},
			Failed:  []inventory.FailedJobStatus{{ID: "f", RoomID: "b", State: "FAILED", At: pageNow}}},
	}}
	var got []string
	for _, f := range Findings(in) {
		got = append(got, f.Severity+" "+f.Alert)
	}
	want := []string{"warning MetaStudioRoomRunsForever", "warning MetaStudioRoomRunsForever", "warning MetaStudioRoomCallbackUnsafe",
		"warning MetaStudioLiveJobFailed", "info MetaStudioLiveJobNearMaxDuration"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}

func rooms(r ...inventory.RoomStatus) inventory.Status {
	return inventory.Status{Watched: true, Rooms: &inventory.RoomsStatus{Up: true, Own: r}}
}

func jobs(j ...inventory.JobStatus) inventory.Status {
	return inventory.Status{Watched: true, Jobs: &inventory.JobsStatus{Up: true, Running: j}}
}

func failed(f ...inventory.FailedJobStatus) inventory.Status {
	return inventory.Status{Watched: true, Jobs: &inventory.JobsStatus{Up: true, Failed: f}}
}
