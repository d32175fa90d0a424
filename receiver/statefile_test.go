package receiver

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
)

var liveFamilies = []string{
	"metastudio_live_stream_state", "metastudio_live_stream_state_timestamp_seconds",
	"metastudio_live_job_last_event_timestamp_seconds", "metastudio_live_script_paragraph",
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStateFileRestart: a restart with the state file keeps every stream and
// job series.
func TestStateFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callback-state.json")
	h := newHarness(t, Options{StateFile: path})
	streamsScenario(t, h)
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "state file", string(data))
	var f struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 {
		t.Errorf("state file version %d (%v):\n%s", f.Version, err, data)
	}
	if matches, _ := filepath.Glob(path + ".tmp*"); len(matches) != 0 {
		t.Errorf("temporary files left: %q", matches)
	}

	again := newHarness(t, Options{StateFile: path})
	compare(t, again.rc.StreamCollector(), streamsGolden, liveFamilies...)
	if got := tracked(t, again); got != "2 streams, 2 jobs" {
		t.Errorf("after restart: %s", got)
	}
	if !strings.Contains(again.logBuf.String(), `msg="Read the callback state file" path=`+path+` streams=2 jobs=2`) {
		t.Errorf("no load line:\n%s", again.logBuf.String())
	}
	// The restored table keeps evolving: time moves forward only.
	again.postMSSAt(t, 40*time.Second, rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED"))
	exp := promtext.Gather(t, again.rc.StreamCollector())
	if !strings.Contains(exp, `metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",tenant="mss"} 1`) {
		t.Errorf("after an event on the restored stream:\n%s", exp)
	}
}

// TestStateFileFewerStreams: a restart with a lower max-streams keeps the
// most recently updated streams and counts the rest as evicted.
func TestStateFileFewerStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := newHarness(t, Options{StateFile: path})
	h.postNone(rtmpBody("r", "old", "h", "CONNECTED"))
	h.clock.Advance(time.Second)
	h.postNone(rtmpBody("r", "new", "h", "CONNECTED"))
	h.rc.Close()
	again := newHarness(t, Options{StateFile: path, MaxStreams: 1})
	exp := promtext.Gather(t, again.rc.StreamCollector(), again.rc.ReceiverCollector())
	for _, want := range []string{`job_id="new"`, "metastudio_exporter_callback_evicted_streams_total 1", "metastudio_exporter_callback_tracked_streams 1"} {
		if !strings.Contains(exp, want) {
			t.Errorf("no %s in:\n%s", want, exp)
		}
	}
	if strings.Contains(exp, `job_id="old"`) {
		t.Errorf("the older stream survived:\n%s", exp)
	}
}

// TestStateFileThrottled: a change is written soon, the next not before the
// interval, and Close flushes.
func TestStateFileThrottled(t *testing.T) {
	defer func(d time.Duration) { stateWriteInterval = d }(stateWriteInterval)
	stateWriteInterval = time.Hour
	path := filepath.Join(t.TempDir(), "state.json")
	h := newHarness(t, Options{StateFile: path})
	streams := func() int {
		data, err := os.ReadFile(path)
		if err != nil {
			return -1
		}
		var f stateFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("state file unreadable: %v", err)
		}
		return len(f.Streams)
	}
	h.postNone(rtmpBody("r", "j1", "h", "CONNECTED"))
	waitFor(t, "the first write", func() bool { return streams() == 1 })
	h.postNone(rtmpBody("r", "j2", "h", "CONNECTED"))
	time.Sleep(100 * time.Millisecond)
	if n := streams(); n != 1 {
		t.Errorf("written again within the interval: %d streams", n)
	}
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := streams(); n != 2 {
		t.Errorf("after Close: %d streams, want 2", n)
	}
}

// TestCorruptStateFile: an unusable file is logged, counted and set aside;
// the receiver starts empty and writes a fresh file.
func TestCorruptStateFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string // "" = a directory
		err     string
	}{
		{"garbage", "{not json", `err="not a JSON state file: invalid character 'n' looking for beginning of object key string"`},
		{"truncated", `{"version":1,"streams":[`, `err="not a JSON state file: unexpected end of JSON input"`},
		{"no version", `{"streams":[]}`, `err="no version"`},
		{"newer version", `{"version":2,"streams":[]}`, `err="version 2; this exporter reads version 1"`},
		{"wrong type", `{"version":1,"streams":{}}`, `err="version 1: json: cannot unmarshal object into Go struct field stateFile.streams of type []receiver.streamEntry"`},
		{"unknown state", `{"version":1,"streams":[{"tenant":"mss","room_id":"r","job_id":"j","output_host":"h","latest":"PAUSED","states_ms":{"PAUSED":1}}]}`,
			`err="streams[0]: latest state \"PAUSED\" is not one of [\"CONNECTING\" \"CONNECTED\" \"DISCONNECTED\" \"RECONNECTING\" \"END\" \"other\"]"`},
		{"latest without time", `{"version":1,"streams":[{"tenant":"mss","room_id":"r","job_id":"j","output_host":"h","latest":"END","states_ms":{"CONNECTED":1}}]}`,
			`err="streams[0]: latest state \"END\" has no time in states_ms"`},
		{"empty job id", `{"version":1,"jobs":[{"tenant":"mss","room_id":"r","job_id":"","last_event_ms":1}]}`,
			`err="jobs[0]: tenant, room_id and job_id must be non-empty valid label values"`},
		{"directory", "", `err="read `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.content == "" {
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, Options{StateFile: path})
			wantLog := `level=error msg="Callback state file unusable; set it aside and starting with an empty stream table" path=` + path + ` ` + tc.err
			if logs := h.logBuf.String(); !strings.Contains(logs, wantLog) || !strings.Contains(logs, `moved_to=`+path+`.corrupt`) {
				t.Errorf("log:\n%s\nwant a line with:\n%s", logs, wantLog)
			}
			compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_state_file_errors_total State file failures: load (unreadable or corrupt at start; the file is set aside as .corrupt) or save.
# TYPE metastudio_exporter_callback_state_file_errors_total counter
metastudio_exporter_callback_state_file_errors_total{operation="load"} 1
metastudio_exporter_callback_state_file_errors_total{operation="save"} 0
# HELP metastudio_exporter_callback_tracked_streams Streams in the receiver's table.
# TYPE metastudio_exporter_callback_tracked_streams gauge
metastudio_exporter_callback_tracked_streams 0
`, "metastudio_exporter_callback_state_file_errors_total", "metastudio_exporter_callback_tracked_streams")
			if tc.content != "" {
				if kept, err := os.ReadFile(path + ".corrupt"); err != nil || string(kept) != tc.content {
					t.Errorf("set-aside file %q, %v", kept, err)
				}
			} else if fi, err := os.Stat(path + ".corrupt"); err != nil || !fi.IsDir() {
				t.Errorf("set-aside directory: %v", err)
			}
			h.postNone(rtmpBody("r", "j", "h", "CONNECTED"))
			if err := h.rc.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := restoreFile(path); err != nil {
				t.Errorf("the fresh state file: %v", err)
			}
		})
	}
}

func restoreFile(path string) (*table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, _, err := restore(data, DefaultMaxStreams, DefaultEndRetention, math.MaxInt64)
	return t, err
}

// TestCorruptStateFileCannotBeSetAside: when the file cannot be moved, it is
// not overwritten either.
func TestCorruptStateFileCannotBeSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path+".corrupt", "occupied"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{StateFile: path})
	if logs := h.logBuf.String(); !strings.Contains(logs, `msg="Callback state file unusable and cannot be set aside; starting with an empty stream table and not writing the file in this run" path=`+path) {
		t.Errorf("log:\n%s", logs)
	}
	h.postNone(rtmpBody("r", "j", "h", "CONNECTED"))
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "garbage" {
		t.Errorf("the unusable file was overwritten: %q", data)
	}
}

// TestStateFileSaveError: a failing write is counted each time, logged once,
// retried, and its recovery logged.
func TestStateFileSaveError(t *testing.T) {
	defer func(d time.Duration) { stateWriteInterval = d }(stateWriteInterval)
	stateWriteInterval = 5 * time.Millisecond
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	h := newHarness(t, Options{StateFile: path})
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	h.postNone(rtmpBody("r", "j", "h", "CONNECTED"))
	saveErrors := func() int {
		return int(testutil.ToFloat64(h.rc.counters.stateErrors.WithLabelValues(stateOpSave)))
	}
	waitFor(t, "three failed writes", func() bool { return saveErrors() >= 3 })
	if n := strings.Count(h.logBuf.String(), "Cannot write the callback state file"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, h.logBuf.String())
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the recovery", func() bool { return strings.Contains(h.logBuf.String(), "Wrote the callback state file again") })
	if err := h.rc.Close(); err != nil {
		t.Errorf("Close after recovery: %v", err)
	}
	if _, err := restoreFile(path); err != nil {
		t.Error(err)
	}
}
