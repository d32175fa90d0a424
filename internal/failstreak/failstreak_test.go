package failstreak

import (
	"testing"
	"time"

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
