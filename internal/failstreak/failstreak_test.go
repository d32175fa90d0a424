package failstreak

import (
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// TestStreak walks one streak through every kind of notice: the first
// failure, quiet repeats, the reminder WarnEvery later with the count since
// the last warning, a new reason, and the recovery with the whole count.
func TestStreak(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	var s Streak
	steps := []struct {
		name string
		got  Notice
		want Notice
	}{
		{"success before any failure", s.Succeeded(at(0)), Notice{Kind: Debug}},
		{"first failure", s.Failed(metastudio.ReasonServerError, at(0)), Notice{Kind: Started}},
		{"same reason", s.Failed(metastudio.ReasonServerError, at(time.Minute)), Notice{Kind: Debug}},
		{"same reason, just short of WarnEvery", s.Failed(metastudio.ReasonServerError, at(WarnEvery-time.Second)), Notice{Kind: Debug}},
		{"same reason, WarnEvery after the warning", s.Failed(metastudio.ReasonServerError, at(WarnEvery)), Notice{Kind: Still, Calls: 3, Since: WarnEvery}},
		{"another reason", s.Failed(metastudio.ReasonThrottled, at(WarnEvery+time.Minute)), Notice{Kind: Started}},
		{"recovery", s.Succeeded(at(WarnEvery + 2*time.Minute)), Notice{Kind: Recovered, Calls: 5, Since: WarnEvery + 2*time.Minute}},
		{"success after the recovery", s.Succeeded(at(WarnEvery + 3*time.Minute)), Notice{Kind: Debug}},
		{"a new streak", s.Failed(metastudio.ReasonThrottled, at(WarnEvery+4*time.Minute)), Notice{Kind: Started}},
	}
	for _, st := range steps {
		if st.got != st.want {
			t.Errorf("%s: %+v, want %+v", st.name, st.got, st.want)
		}
	}
}

// TestLines: each notice's line, as the collector's and the inventory's
// logs show it.
func TestLines(t *testing.T) {
	lines := Lines{Failed: "Listing failed", Still: "Listing still failing", Recovered: "Listing succeeded again"}
	failed := func(n Notice) string {
		var b strings.Builder
		logger, kv := lines.Failure(log.NewLogfmtLogger(&b), "shop", n)
		_ = logger.Log(append(kv, "err", "HTTP 503")...)
		return b.String()
	}
	recovered := func(n Notice) (string, bool) {
		var b strings.Builder
		logged := lines.Recovery(log.NewLogfmtLogger(&b), "shop", n)
		return b.String(), logged
	}
	for _, tc := range []struct {
		n    Notice
		want string
	}{
		{Notice{Kind: Started}, `level=warn msg="Listing failed" tenant=shop err="HTTP 503"` + "\n"},
		{Notice{Kind: Debug}, `level=debug msg="Listing failed" tenant=shop err="HTTP 503"` + "\n"},
		{Notice{Kind: Still, Calls: 3, Since: WarnEvery + 1400*time.Millisecond},
			`level=warn msg="Listing still failing" tenant=shop failed_calls_since_last_warning=3 failing_for=10m1s err="HTTP 503"` + "\n"},
	} {
		if got := failed(tc.n); got != tc.want {
			t.Errorf("Failure(%+v) logs %q, want %q", tc.n, got, tc.want)
		}
	}
	if got, logged := recovered(Notice{Kind: Recovered, Calls: 5, Since: 12*time.Minute + 29*time.Second + 600*time.Millisecond}); !logged ||
		got != `level=info msg="Listing succeeded again" tenant=shop failed_calls=5 failing_for=12m30s`+"\n" {
		t.Errorf("Recovery of a streak: logged %v %q", logged, got)
	}
	for _, n := range []Notice{{Kind: Debug}, {Kind: Started}, {Kind: Still, Calls: 1}} {
		if got, logged := recovered(n); logged || got != "" {
			t.Errorf("Recovery(%+v): logged %v %q, want nothing", n, logged, got)
		}
	}
}
