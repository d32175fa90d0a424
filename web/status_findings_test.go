package web

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
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
