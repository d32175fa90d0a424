package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// stateFileVersion is the format written; a file of another version is
// treated as unusable (and set aside), never guessed at.
const stateFileVersion = 1

// Operations of metastudio_exporter_callback_state_file_errors_total.
const (
	stateOpLoad = "load"
	stateOpSave = "save"
)

// stateFile is the state file: streams and jobs, least recently updated
// first, so that reading it back restores the eviction order. Times are Unix
// milliseconds. It holds no key, URL, stream key or output path.
type stateFile struct {
	Version int           `json:"version"`
	Streams []streamEntry `json:"streams"`
	Jobs    []jobEntry    `json:"jobs"`
}

type streamEntry struct {
	Tenant     string           `json:"tenant"`
	RoomID     string           `json:"room_id"`
	JobID      string           `json:"job_id"`
	OutputHost string           `json:"output_host"`
	Latest     string           `json:"latest"`
	StatesMs   map[string]int64 `json:"states_ms"`
}

type jobEntry struct {
	Tenant      string   `json:"tenant"`
	RoomID      string   `json:"room_id"`
	JobID       string   `json:"job_id"`
	LastEventMs int64    `json:"last_event_ms"`
	Paragraph   *float64 `json:"paragraph,omitempty"`
	ParagraphMs int64    `json:"paragraph_ms,omitempty"`
	Ended       bool     `json:"ended,omitempty"`
}

// snapshot is the table as a state file. The caller holds rc.mu.
func (t *table) snapshot() *stateFile {
	f := &stateFile{
		Version: stateFileVersion,
		Streams: make([]streamEntry, 0, len(t.streams)),
		Jobs:    make([]jobEntry, 0, len(t.jobs)),
	}
	for _, e := range t.streamLRU.ordered() {
		s := e.(*stream)
		states := make(map[string]int64, numStates)
		for i, at := range s.at {
			if at != 0 {
				states[stateNames[i]] = at
			}
		}
		f.Streams = append(f.Streams, streamEntry{
			Tenant: s.key.tenant, RoomID: s.key.roomID, JobID: s.key.jobID, OutputHost: s.key.outputHost,
			Latest: stateNames[s.latest], StatesMs: states,
		})
	}
	for _, e := range t.jobLRU.ordered() {
		j := e.(*job)
		je := jobEntry{Tenant: j.key.tenant, RoomID: j.key.roomID, JobID: j.key.jobID, LastEventMs: j.lastEventMs, Ended: j.ended}
		if j.paragraphMs != 0 {
			p := j.paragraph
			je.Paragraph, je.ParagraphMs = &p, j.paragraphMs
		}
		f.Jobs = append(f.Jobs, je)
	}
	return f
}

// restore reads a state file into a new table. Entries dated after
// latestMs are left out and counted in dropped: a clock that was wrong
// when they were written must not pin a stream's state, since times only
// move forward.
func restore(data []byte, maxStreams int, endRetention time.Duration, latestMs int64) (t *table, dropped int, err error) {
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, 0, fmt.Errorf("not a JSON state file: %w", err)
	}
	if v.Version == nil {
		return nil, 0, errors.New("no version")
	}
	if *v.Version != stateFileVersion {
		return nil, 0, fmt.Errorf("version %d; this exporter reads version %d", *v.Version, stateFileVersion)
	}
	// Fields this version does not know are ignored: a later version may
	// add some, and a rollback to this one must keep the state.
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, 0, fmt.Errorf("version %d: %w", stateFileVersion, err)
	}
	t = newTable(maxStreams, endRetention)
	for i := range f.Streams {
		future, err := t.restoreStream(&f.Streams[i], latestMs)
		if err != nil {
			return nil, 0, fmt.Errorf("streams[%d]: %w", i, err)
		}
		if future {
			dropped++
		}
	}
	for i := range f.Jobs {
		future, err := t.restoreJob(&f.Jobs[i], latestMs)
		if err != nil {
			return nil, 0, fmt.Errorf("jobs[%d]: %w", i, err)
		}
		if future {
			dropped++
		}
	}
	return t, dropped, nil
}

// restoreStream adds e unless it is dated after latestMs (future).
func (t *table) restoreStream(e *streamEntry, latestMs int64) (future bool, err error) {
	if err := checkLabels(e.Tenant, e.RoomID, e.JobID); err != nil {
		return false, err
	}
	if labelValue(e.OutputHost) != e.OutputHost {
		return false, errors.New("output_host is not a valid label value")
	}
	k := streamKey{e.Tenant, e.RoomID, e.JobID, e.OutputHost}
	if _, dup := t.streams[k]; dup {
		return false, errors.New("the same stream twice")
	}
	latest := stateIndex(e.Latest)
	if stateNames[latest] != e.Latest {
		return false, fmt.Errorf("latest state %q is not one of %q", e.Latest, stateNames)
	}
	var at [numStates]int64
	for name, ms := range e.StatesMs {
		i := stateIndex(name)
		if stateNames[i] != name || ms <= 0 {
			return false, fmt.Errorf("states_ms: %q: want a state of %q and a positive time", name, stateNames)
		}
		at[i] = ms
		future = future || ms > latestMs
	}
	if at[latest] == 0 {
		return false, fmt.Errorf("latest state %q has no time in states_ms", e.Latest)
	}
	if future {
		return true, nil
	}
	s := t.stream(k, latest)
	s.at = at
	return false, nil
}

// restoreJob adds e unless it is dated after latestMs (future).
func (t *table) restoreJob(e *jobEntry, latestMs int64) (future bool, err error) {
	if err := checkLabels(e.Tenant, e.RoomID, e.JobID); err != nil {
		return false, err
	}
	k := jobKey{e.Tenant, e.RoomID, e.JobID}
	if _, dup := t.jobs[k]; dup {
		return false, errors.New("the same job twice")
	}
	if e.LastEventMs <= 0 || (e.Paragraph != nil) != (e.ParagraphMs > 0) {
		return false, errors.New("last_event_ms must be positive, and paragraph and paragraph_ms go together")
	}
	if e.LastEventMs > latestMs || e.ParagraphMs > latestMs {
		return true, nil
	}
	j := t.job(k)
	j.lastEventMs, j.ended = e.LastEventMs, e.Ended
	if e.Paragraph != nil {
		j.paragraph, j.paragraphMs = *e.Paragraph, e.ParagraphMs
	}
	return false, nil
}

func checkLabels(tenant, roomID, jobID string) error {
	for _, v := range []string{tenant, roomID, jobID} {
		if v == "" || labelValue(v) != v {
			return errors.New("tenant, room_id and job_id must be non-empty valid label values")
		}
	}
	return nil
}
