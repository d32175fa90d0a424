package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log/level"
)

// stateFileVersion is the format written; a file of another version is
// treated as unusable (and set aside), never guessed at.
const stateFileVersion = 1

// stateWriteInterval is the least time between two writes of the state file.
var stateWriteInterval = time.Second

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
	var f stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
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

// load reads the state file at start. It reports whether the file may be
// written: not when an unusable file could not be set aside, so that
// nothing is overwritten unseen.
func (rc *Receiver) load(path string) bool {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err == nil {
		var t *table
		var future int
		now := rc.now()
		if t, future, err = restore(data, rc.table.maxStreams, rc.table.endRetention, now.Add(rc.skew).UnixMilli()); err == nil {
			rc.table = t
			rc.table.prune(now.UnixMilli())
			if future > 0 {
				rc.dirty = true // written again without them
				_ = level.Warn(rc.logger).Log("msg", "Dropped callback state file entries dated after now plus --callback.max-clock-skew; a clock was wrong when they were written",
					"path", path, "entries", future)
			}
			_ = level.Info(rc.logger).Log("msg", "Read the callback state file", "path", path,
				"streams", len(t.streams), "jobs", len(t.jobs))
			return true
		}
	}
	rc.countStateError(stateOpLoad)
	aside := path + ".corrupt"
	if rerr := os.Rename(path, aside); rerr != nil {
		rc.logStateError("Callback state file unusable and cannot be set aside; starting with an empty stream table and not writing the file in this run",
			path, err, "rename_err", rerr)
		return false
	}
	rc.logStateError("Callback state file unusable; set it aside and starting with an empty stream table", path, err, "moved_to", aside)
	return true
}

// stateWriter writes the state file after each change, at most once per
// stateWriteInterval, and once more when stopped.
type stateWriter struct {
	path     string
	rc       *Receiver
	interval time.Duration
	kickCh   chan struct{}
	done     chan struct{}
	stopped  chan struct{}
	failing  bool // the last write failed; only the first failure is logged
	lastErr  error
}

func newStateWriter(path string, rc *Receiver) *stateWriter {
	return &stateWriter{
		path: path, rc: rc, interval: stateWriteInterval,
		kickCh: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
	}
}

func (w *stateWriter) start() { go w.loop() }

func (w *stateWriter) kick() {
	select {
	case w.kickCh <- struct{}{}:
	default:
	}
}

func (w *stateWriter) stop() error {
	close(w.done)
	<-w.stopped
	return w.lastErr
}

func (w *stateWriter) loop() {
	defer close(w.stopped)
	for {
		select {
		case <-w.kickCh:
		case <-w.done:
			w.flush()
			return
		}
		w.flush()
		t := time.NewTimer(w.interval)
		select {
		case <-t.C:
		case <-w.done:
			t.Stop()
			w.flush()
			return
		}
	}
}

// flush writes the table if it changed since the last write.
func (w *stateWriter) flush() {
	rc := w.rc
	rc.mu.Lock()
	if !rc.dirty {
		rc.mu.Unlock()
		return
	}
	snap := rc.table.snapshot()
	rc.dirty = false
	rc.mu.Unlock()

	data, err := json.Marshal(snap)
	if err == nil {
		err = writeAtomic(w.path, data)
	}
	if err != nil {
		rc.mu.Lock()
		rc.dirty = true
		rc.mu.Unlock()
		rc.countStateError(stateOpSave)
		if !w.failing {
			rc.logStateError("Cannot write the callback state file; retrying every second", w.path, err)
		}
		w.failing, w.lastErr = true, err
		w.kick()
		return
	}
	if w.failing {
		_ = level.Info(rc.logger).Log("msg", "Wrote the callback state file again", "path", w.path)
	}
	w.failing, w.lastErr = false, nil
}

// writeAtomic replaces path with data so that a crash leaves the old file or
// the new one, never a mix: a synced temporary file in the same directory,
// renamed over path, then the directory synced.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
