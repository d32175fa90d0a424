package receiver

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestStreamsStatus: the status page's view of the stream table is each
// tenant's streams in order, with the latest state and its event's time
// (a late retry of an older event moves neither), the host of the output
// URL alone, and no stream past its retention.
func TestStreamsStatus(t *testing.T) {
	h := newHarness(t, Options{EndRetention: time.Minute})
	streamsScenario(t, h) // tenant mss
	h.postNone(rtmpBody("room-2", "job-9", "h", "END"))
	h.postNone(rtmpBody("room-0", "job-1", "h", "CONNECTING"))

	at := func(offset time.Duration) time.Time { return time.UnixMilli(t0.Add(offset).UnixMilli()) }
	want := map[string][]StreamStatus{
		"mss": {
			{RoomID: "room-1", JobID: "job-1", OutputHost: "b.example.net:1935", State: "other", Since: at(20 * time.Second)},
			{RoomID: "room-1", JobID: "job-1", OutputHost: "live.example.com", State: "DISCONNECTED", Since: at(20 * time.Second)},
		},
		"none": {
			{RoomID: "room-0", JobID: "job-1", OutputHost: "h", State: "CONNECTING", Since: at(0)},
			{RoomID: "room-2", JobID: "job-9", OutputHost: "h", State: "END", Since: at(0)},
		},
	}
	got := h.rc.Streams()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Streams:\n got %+v\nwant %+v", got, want)
	}
	assertNoSecret(t, "Streams", fmt.Sprintf("%+v", got))

	// Past end-retention the END stream is gone, as from the metrics.
	h.clock.Advance(time.Minute + time.Millisecond)
	want["none"] = want["none"][:1]
	if got := h.rc.Streams(); !reflect.DeepEqual(got, want) {
		t.Errorf("Streams past end-retention:\n got %+v\nwant %+v", got, want)
	}
}
