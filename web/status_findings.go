package web

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Finding is a condition of a bundled alert that a tenant's settings meet
// now: the alert fires once it has held for the alert's `for`.
type Finding struct {
	Alert    string // the alert's name, e.g. MetaStudioLiveDurationUnlimited
	Severity string // its severity label: critical, warning or info; also the CSS class
	Text     string // what it means, with the tenant's values; no secret
}

// FindingInput is what the findings of one tenant are read from: the
// settings series of its last good answer and its policy, and its rooms
// and jobs as the scrapes are served them, the same values the rules
// compare.
type FindingInput struct {
	Settings *metastudio.Settings
	Policy   config.Policy
	// Inventory is the tenant's rooms and jobs; Now is when the page is
	// built, which a job's failure is measured from.
	Inventory inventory.Status
	Now       time.Time
	// ExternalURL is --callback.external-url ("" without it); RoutedHere
	// says whether the tenant's callback URL points at
	// ExternalURL/callback/{tenant}, as its routed_here series does.
	ExternalURL string
	RoutedHere  bool
}

// findingRule is one bundled alert's condition, written as its expression
// reads the settings series: the comparisons are the rules' own (== 0 is
// unlimited, a policy of 0 is none), on the values the metrics carry.
type findingRule struct {
	alert, severity string
	met             func(in *FindingInput) (string, bool)
}

// Severity labels of the bundled alerts, most severe first.
var severities = []string{"critical", "warning", "info"}

var findingRules = []findingRule{
	{"MetaStudioLiveDurationUnlimited", "warning", func(in *FindingInput) (string, bool) {
		return "max_live_duration is 0 (unlimited): a live stream nobody stops keeps running, and billing, for days.",
			in.Settings.MaxLiveDurationHours == 0
	}},
	{"MetaStudioLiveDurationAbovePolicy", "warning", func(in *FindingInput) (string, bool) {
		limit := time.Duration(in.Settings.MaxLiveDurationHours) * time.Hour
		return "live streams may run up to " + Age(limit) + ", above the policy's " + Age(in.Policy.MaxLiveDuration) + ".",
			abovePolicy(limit, in.Policy.MaxLiveDuration)
	}},
	{"MetaStudioExceptionWaitingUnlimited", "critical", func(in *FindingInput) (string, bool) {
		return "max_exception_waiting_duration is 0 (unlimited): a stream whose push failed stays open, and billing, until someone stops it.",
			in.Settings.MaxExceptionWaitingMinutes == 0
	}},
	{"MetaStudioExceptionWaitingAbovePolicy", "warning", func(in *FindingInput) (string, bool) {
		wait := time.Duration(in.Settings.MaxExceptionWaitingMinutes) * time.Minute
		return "a broken live stream stays open up to " + Age(wait) + ", above the policy's " + Age(in.Policy.MaxExceptionWaiting) + ".",
			abovePolicy(wait, in.Policy.MaxExceptionWaiting)
	}},
	{"MetaStudioCallbackNotHttps", "critical", func(in *FindingInput) (string, bool) {
		return "the live event callback URL is not https: events, and any credentials in the URL, travel in clear text.",
			in.Settings.CallbackConfigured && !in.Settings.CallbackHTTPS
	}},
	{"MetaStudioCallbackUnsigned", "warning", func(in *FindingInput) (string, bool) {
		return "callbacks are not signed (auth_type NONE): a receiver cannot tell MetaStudio's events from forged ones.",
			in.Settings.CallbackConfigured && in.Settings.CallbackAuthType == metastudio.AuthNone
	}},
	{"MetaStudioCallbackKeyMissing", "critical", func(in *FindingInput) (string, bool) {
		signed := in.Settings.CallbackAuthType == metastudio.AuthMSSA || in.Settings.CallbackAuthType == metastudio.AuthMSSAHead
		return "callbacks are signed with " + in.Settings.CallbackAuthType + " but no key is set: a receiver cannot verify them.",
			signed && !in.Settings.CallbackKeyConfigured
	}},
	{"MetaStudioStreamStateEventsDisabled", "warning", func(in *FindingInput) (string, bool) {
		return "RTMP_STREAM_STATE_CHANGE is not subscribed: dropped or interrupted streams go unseen.",
			in.Settings.CallbackConfigured && !slices.Contains(in.Settings.CallbackEvents, metastudio.EventRTMPStreamStateChange)
	}},
	{"MetaStudioEventCallbackMissing", "info", func(in *FindingInput) (string, bool) {
		return "no live event callback URL is set: script switches, stream state changes and command replies are reported nowhere.",
			!in.Settings.CallbackConfigured
	}},
	{"MetaStudioInterruptionNotifyDisabled", "warning", func(in *FindingInput) (string, bool) {
		return "the AUTO_EXIT notification is off: when MetaStudio ends a live stream by itself, nobody is told.",
			!slices.Contains(in.Settings.NotifyEvents, metastudio.NotifyAutoExit)
	}},
	{"MetaStudioCallbackNotRoutedHere", "warning", func(in *FindingInput) (string, bool) {
		where := "the callback URL does not point to this receiver"
		if route := in.Settings.CallbackRoute; route != "" {
			where = "the callback URL points to " + route + " instead of this receiver"
		}
		return where + ": the tenant's stream states are not seen here.",
			in.ExternalURL != "" && in.Settings.CallbackConfigured && !in.RoutedHere
	}},
}

// abovePolicy is the AbovePolicy alerts' comparison: a finite value over a
// policy that is set.
func abovePolicy(value, policy time.Duration) bool {
	return value > 0 && policy > 0 && value.Seconds() > policy.Seconds()
}

// Findings returns the conditions in.Settings meet, then those of the
// tenant's rooms and jobs (one per room or job), most severe first and in
// a fixed order within a severity; nil when there are none.
func Findings(in FindingInput) []Finding {
	var out []Finding
	if in.Settings != nil {
		for _, r := range findingRules {
			if text, met := r.met(&in); met {
				out = append(out, Finding{Alert: r.alert, Severity: r.severity, Text: text})
			}
		}
	}
	out = append(out, inventoryFindings(in.Inventory, in.Settings, in.Now)...)
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Compare(slices.Index(severities, a.Severity), slices.Index(severities, b.Severity))
	})
	return out
}

// FindingAlerts returns the alerts a finding can stand for, with their
// severities: those of the bundled rules whose condition is in a tenant's
// settings, or in its rooms and jobs as last listed.
func FindingAlerts() map[string]string {
	out := make(map[string]string, len(findingRules)+len(inventoryFindingAlerts))
	for _, r := range findingRules {
		out[r.alert] = r.severity
	}
	maps.Copy(out, inventoryFindingAlerts)
	return out
}
