package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// load reads the state file at start, through symbolic links: it returns
// the file to write, and whether it may be written: not when an unusable
// file could not be set aside, so that nothing is overwritten unseen.
func (rc *Receiver) load(path string) (string, bool) {
	file, err := followLinks(path)
	if err == nil {
		rc.removeTempsLeft(file)
		var data []byte
		limit, what := stateFileLimit(rc.table.maxStreams)
		data, err = readStateFile(file, limit, what)
		if errors.Is(err, fs.ErrNotExist) {
			return file, true
		}
		if err == nil {
			err = rc.restoreTable(file, data)
		}
		if err == nil {
			return file, true
		}
	} else {
		file = path
	}
	rc.countStateError(stateOpLoad)
	aside := file + ".corrupt"
	if rerr := os.Rename(file, aside); rerr != nil {
		rc.logStateError("Callback state file unusable and cannot be set aside; starting with an empty stream table and not writing the file in this run",
			file, err, "rename_err", rerr)
		return file, false
	}
	rc.logStateError("Callback state file unusable; set it aside and starting with an empty stream table", file, err, "moved_to", aside)
	return file, true
}

// restoreTable makes the table the one data holds.
func (rc *Receiver) restoreTable(file string, data []byte) error {
	now := rc.now()
	t, future, err := restore(data, rc.table.maxStreams, rc.table.endRetention, now.Add(rc.skew).UnixMilli())
	if err != nil {
		return err
	}
	rc.table = t
	rc.table.prune(now.UnixMilli())
	if future > 0 {
		rc.dirty = true // written again without them
		_ = level.Warn(rc.logger).Log("msg", "Dropped callback state file entries dated after now plus --callback.max-clock-skew; a clock was wrong when they were written",
			"path", file, "entries", future)
	}
	_ = level.Info(rc.logger).Log("msg", "Read the callback state file", "path", file,
		"streams", len(t.streams), "jobs", len(t.jobs))
	return nil
}

// stateFileCap is the most of a state file ever read, whatever
// --callback.max-streams allows.
const stateFileCap = 64 << 20

// stateEntryBytes bounds generously what one stream and its job take in
// the state file: seven label values of at most 128 bytes, each byte
// escaped as at most six (\u00XX), the six states' times and the keys.
const stateEntryBytes = 8 << 10

// stateFileLimit is the most a state file of maxStreams streams can take,
// and the words for it: a larger file was not written by this exporter
// with this limit.
func stateFileLimit(maxStreams int) (int64, string) {
	if n := 4<<10 + int64(maxStreams)*stateEntryBytes; n < stateFileCap {
		return n, fmt.Sprintf("a state file of %d streams can take (%d bytes)", maxStreams, n)
	}
	return stateFileCap, "the 64 MiB a state file may take"
}

// readStateFile reads file, unless it is larger than limit: that is known
// from its size before anything is read, and a file that grows meanwhile
// is read no further than limit.
func readStateFile(file string, limit int64, what string) ([]byte, error) {
	tooLarge := func(size int64) error {
		return fmt.Errorf("%d bytes, more than %s; not read", size, what)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, tooLarge(fi.Size())
	}
	var b bytes.Buffer
	b.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(b.Len()) > limit {
		return nil, tooLarge(int64(b.Len()))
	}
	return b.Bytes(), nil
}

// maxLinks is how many symbolic links followLinks follows, as the kernel's
// own limit.
const maxLinks = 40

// followLinks follows path for as long as it is a symbolic link, so that
// the state file is written where the link points and the link stays. A
// target that does not exist yet is where the file will be.
func followLinks(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("more than %d symbolic links", maxLinks)
}

// tempPattern is os.CreateTemp's pattern for file's temporary files:
// file's name, ".tmp" and a random number.
func tempPattern(file string) string { return filepath.Base(file) + ".tmp*" }

// isTempOf tells whether name is one of file's temporary files.
func isTempOf(name, file string) bool {
	rest, ok := strings.CutPrefix(name, filepath.Base(file)+".tmp")
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

// removeTempsLeft removes the temporary files a process killed while
// writing file left beside it; no other process writes them.
func (rc *Receiver) removeTempsLeft(file string) {
	dir := filepath.Dir(file)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // reading the file says why, if it matters
	}
	removed := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), file) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			_ = level.Warn(rc.logger).Log("msg", "Cannot remove a temporary file a stopped process left beside the callback state file", "path", file, "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		_ = level.Info(rc.logger).Log("msg", "Removed temporary files a stopped process left beside the callback state file", "path", file, "files", removed)
	}
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
	f, err := os.CreateTemp(dir, tempPattern(path))
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
