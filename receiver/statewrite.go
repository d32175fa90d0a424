package receiver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log/level"
)

// stateWriteInterval is the least time between two writes of the state file.
var stateWriteInterval = time.Second

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
