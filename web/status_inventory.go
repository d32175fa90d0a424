package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// What the page shows of each tenant's rooms and live jobs, and the
// bundled alert conditions they meet, read from the inventory's memory
// (inventory.Status) as the scrapes are served it.

// The room and job conditions of the bundled alerts, with their severities.
const (
	alertRoomRunsForever    = "MetaStudioRoomRunsForever"
	alertRoomCallbackUnsafe = "MetaStudioRoomCallbackUnsafe"
	alertJobNearMaxDuration = "MetaStudioLiveJobNearMaxDuration"
	alertJobFailed          = "MetaStudioLiveJobFailed"
)

var inventoryFindingAlerts = map[string]string{
	alertRoomRunsForever:    "warning",
	alertRoomCallbackUnsafe: "warning",
	alertJobNearMaxDuration: "info",
	alertJobFailed:          "warning",
}

// The thresholds in the rules' expressions.
const (
	nearMaxDuration = 30 * time.Minute // MetaStudioLiveJobNearMaxDuration: < 1800
	recentFailure   = 15 * time.Minute // MetaStudioLiveJobFailed: < 900
)

// inventoryFindings are the conditions of the room and job alerts that a
// tenant's rooms and jobs meet at now, one per room or job, as the rules
// read the series: settings are the tenant's last good answer, whose
// max_live_duration a room without a limit of its own runs under.
func inventoryFindings(s inventory.Status, settings *metastudio.Settings, now time.Time) []Finding {
	var out []Finding
	add := func(alert, text string) {
		out = append(out, Finding{Alert: alert, Severity: inventoryFindingAlerts[alert], Text: text})
	}
	if s.Rooms != nil {
		for _, r := range s.Rooms.Own {
			if r.Repeats != nil && *r.Repeats == metastudio.RepeatUntilStopped {
				switch {
				case r.MaxDuration != nil && *r.MaxDuration == 0:
					add(alertRoomRunsForever, roomName(r)+" repeats its script until stopped and its own max_live_duration is 0 (none): a job started in it streams, and bills, until stopped by hand.")
				case r.MaxDuration == nil && settings != nil && settings.MaxLiveDurationHours == 0:
					add(alertRoomRunsForever, roomName(r)+" repeats its script until stopped and sets no max_live_duration, and the tenant's is 0 (none): a job started in it streams, and bills, until stopped by hand.")
				}
			}
			if cb := r.Callback; cb != nil {
				switch {
				case cb.Scheme != "https":
					add(alertRoomCallbackUnsafe, roomName(r)+" sends its live events to a callback of its own that is not https: events, and any credentials in the URL, travel in clear text.")
				case cb.AuthType == metastudio.AuthNone && !cb.Credentials:
					add(alertRoomCallbackUnsafe, roomName(r)+" sends its live events to a callback of its own that is not signed (auth type NONE) and carries no credentials in its URL: anyone who knows the URL can forge events.")
				}
			}
		}
	}
	if s.Jobs != nil {
		for _, j := range s.Jobs.Running {
			if j.State != metastudio.JobProcessing || !j.MaxDurationKnown || j.MaxDuration <= 0 {
				continue
			}
			if left := j.MaxDuration - j.Duration; left < nearMaxDuration {
				add(alertJobNearMaxDuration, "live job "+j.ID+" in room "+j.RoomID+" reaches its maximum live duration of "+Age(j.MaxDuration)+
					" in "+Age(left)+" and will then be stopped: start its successor in time if the show must go on.")
			}
		}
		for _, f := range s.Jobs.Failed {
			if now.Sub(f.At) < recentFailure {
				what := "failed"
				if f.State == metastudio.JobBlocked {
					what = "was blocked"
				}
				code := f.ErrorCode
				if code == "" {
					code = "none given"
				}
				add(alertJobFailed, "live job "+f.ID+" in room "+f.RoomID+" "+what+" "+Age(now.Sub(f.At))+" ago (error code "+code+").")
			}
		}
	}
	return out
}

func roomName(r inventory.RoomStatus) string {
	if r.Name == "" || r.Name == r.ID {
		return "room " + r.ID
	}
	return "room " + r.ID + " (" + r.Name + ")"
}

// InventoryJob is a running job as its table row shows it.
type InventoryJob struct {
	Tenant string
	inventory.JobStatus
}

// InventoryRoom is a room with settings of its own as its table row shows
// it.
type InventoryRoom struct {
	Tenant string
	inventory.RoomStatus
}

// RunningJobs are every tenant's WAITING and PROCESSING jobs.
func (p *StatusPage) RunningJobs() []InventoryJob {
	var out []InventoryJob
	for _, t := range p.Tenants {
		if t.Inventory.Jobs != nil {
			for _, j := range t.Inventory.Jobs.Running {
				out = append(out, InventoryJob{t.Name, j})
			}
		}
	}
	return out
}

// OwnRooms are every tenant's rooms with settings of their own.
func (p *StatusPage) OwnRooms() []InventoryRoom {
	var out []InventoryRoom
	for _, t := range p.Tenants {
		if t.Inventory.Rooms != nil {
			for _, r := range t.Inventory.Rooms.Own {
				out = append(out, InventoryRoom{t.Name, r})
			}
		}
	}
	return out
}

// TimeLeft says how long until the job's limit stops it, classed info
// when MetaStudioLiveJobNearMaxDuration's condition holds.
func (j InventoryJob) TimeLeft() Verdict {
	switch {
	case !j.MaxDurationKnown:
		return Verdict{"not known yet: its room's or tenant's limit is not read yet", "pending"}
	case j.MaxDuration <= 0:
		return Verdict{"no limit", ""}
	}
	left := j.MaxDuration - j.Duration
	class := ""
	if j.State == metastudio.JobProcessing && left < nearMaxDuration {
		class = "info"
	}
	return Verdict{Age(left) + " of " + Age(j.MaxDuration), class}
}

// CallbackText says which callback the job runs with.
func (j InventoryJob) CallbackText() string {
	if j.Callback == nil {
		return "none reported"
	}
	return j.Callback.AuthType + " over " + j.Callback.Scheme
}

// RepeatsText is the room's play_policy.repeat_count in words.
func (r InventoryRoom) RepeatsText() string {
	switch {
	case r.Repeats == nil:
		return "the tenant's"
	case *r.Repeats == metastudio.RepeatUntilStopped:
		return "until stopped (-1)"
	}
	return strconv.Itoa(*r.Repeats)
}

// LimitText is one of the room's live_exit_config limits in words.
func LimitText(d *time.Duration) string {
	switch {
	case d == nil:
		return "the tenant's"
	case *d == 0:
		return "none (0)"
	}
	return Age(*d)
}

// CallbackText is the room's own callback in words, and whether it is
// safe: https, and signed or carrying credentials.
func (r InventoryRoom) CallbackText() Verdict {
	cb := r.Callback
	if cb == nil {
		return Verdict{"the tenant's", ""}
	}
	parts := []string{cb.AuthType, "over " + cb.Scheme}
	if cb.AuthType == metastudio.AuthNone {
		if cb.Credentials {
			parts = append(parts, "credentials in the URL")
		} else {
			parts = append(parts, "no credentials in the URL")
		}
	}
	class := "up"
	if cb.Scheme != "https" || cb.AuthType == metastudio.AuthNone && !cb.Credentials {
		class = "warning"
	}
	return Verdict{strings.Join(parts, ", "), class}
}

// RoomsState says how the tenant's rooms are refreshed.
func (p *StatusPage) RoomsState(t *TenantStatus) Verdict {
	s := t.Inventory.Rooms
	switch {
	case t.RoomsInterval <= 0:
		return Verdict{"not watched: rooms.refresh_interval is 0", "pending"}
	case s == nil:
		return notListedYet(t.Inventory.Watched)
	}
	text := plural(s.Listed, "room") + ", " + strconv.Itoa(s.Detailed) + " with their settings read"
	if s.Skipped > 0 {
		text += ", " + strconv.Itoa(s.Skipped) + " past max_rooms"
	}
	return p.refreshed(text, s.Up, s.LastSuccess, s.Interval)
}

// JobsState says how the tenant's live jobs are refreshed.
func (p *StatusPage) JobsState(t *TenantStatus) Verdict {
	s := t.Inventory.Jobs
	switch {
	case t.JobsInterval <= 0:
		return Verdict{"not watched: live_jobs.refresh_interval is 0", "pending"}
	case s == nil:
		return notListedYet(t.Inventory.Watched)
	}
	text := strconv.Itoa(len(s.Running)) + " running, " + strconv.Itoa(len(s.Failed)) + " failed or blocked in the failed window"
	return p.refreshed(text, s.Up, s.LastSuccess, s.Interval)
}

func notListedYet(watched bool) Verdict {
	if watched {
		return Verdict{"listing them for the first time", "pending"}
	}
	return Verdict{"not listed: they are while /metrics or /probe is scraped for them", "pending"}
}

func (p *StatusPage) refreshed(text string, up bool, last time.Time, every time.Duration) Verdict {
	if !up && last.IsZero() {
		return Verdict{"refreshing fails: never listed", "down"}
	}
	if !up {
		return Verdict{text + " as last listed; refreshing fails, last success " + p.Ago(last), "down"}
	}
	return Verdict{text + "; refreshed every " + Age(every) + ", last " + p.Ago(last), "up"}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
