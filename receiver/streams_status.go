package receiver

import (
	"cmp"
	"slices"
	"time"
)

// StreamStatus is one stream the receiver tracks, as the status page shows
// it: no stream key, and of the output URL its host alone.
type StreamStatus struct {
	RoomID, JobID, OutputHost string
	State                     string    // the latest state, as metastudio_live_stream_state has it
	Since                     time.Time // the time of the event that set State
}

// Streams returns the streams the receiver tracks, by tenant, each
// tenant's sorted by room, job and output host. Streams past their
// retention are dropped first, as a scrape would drop them.
func (rc *Receiver) Streams() map[string][]StreamStatus {
	rc.prune()
	rc.mu.Lock()
	out := make(map[string][]StreamStatus)
	for k, s := range rc.table.streams {
		out[k.tenant] = append(out[k.tenant], StreamStatus{
			RoomID:     k.roomID,
			JobID:      k.jobID,
			OutputHost: k.outputHost,
			State:      stateNames[s.latest],
			Since:      time.UnixMilli(s.at[s.latest]),
		})
	}
	rc.mu.Unlock()
	for _, streams := range out {
		slices.SortFunc(streams, func(a, b StreamStatus) int {
			return cmp.Or(cmp.Compare(a.RoomID, b.RoomID), cmp.Compare(a.JobID, b.JobID), cmp.Compare(a.OutputHost, b.OutputHost))
		})
	}
	return out
}
