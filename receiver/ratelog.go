package receiver

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
)

// rateLogInterval is the least time between two lines of one kind: a
// misconfigured console, a port scanner speaking plain HTTP to a TLS
// listener or an app that is down shows at the default level, without a
// line per request.
const rateLogInterval = time.Minute

// afterFunc calls f in its own goroutine after d and returns the timer's
// Stop, as time.AfterFunc does; tests pass a fake clock's.
type afterFunc func(d time.Duration, f func()) (stop func() bool)

func timeAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// rateLog writes at most one line per key per rateLogInterval, saying how
// many times the thing happened since the last line. The first occurrence
// is written at once, so a user trying something sees the answer; the
// occurrences after it are written by a timer a minute after the previous
// line, so a burst that stops is still told in full, and within a minute.
type rateLog struct {
	logger log.Logger
	now    func() time.Time
	after  afterFunc

	mu     sync.Mutex
	keys   map[string]*rateEntry
	due    time.Time   // when the armed timer fires; zero when none is
	stop   func() bool // the armed timer's Stop
	closed bool
}

type rateEntry struct {
	lastLine time.Time
	count    int   // occurrences since lastLine, not yet written
	kv       []any // the latest of them, written with its count
}

func newRateLog(logger log.Logger, now func() time.Time, after afterFunc) *rateLog {
	return &rateLog{logger: logger, now: now, after: after, keys: map[string]*rateEntry{}}
}

// log counts one occurrence of key and, if key's last line is a minute old
// (or there is none), writes kv with count, the occurrences since that line.
// Otherwise the timer writes them a minute after that line.
func (l *rateLog) log(key string, kv ...any) {
	now := l.now()
	l.mu.Lock()
	e, ok := l.keys[key]
	if !ok {
		e = &rateEntry{}
		l.keys[key] = e
	}
	e.count++
	if ok && now.Sub(e.lastLine) < rateLogInterval {
		e.kv = kv
		l.armLocked(e.lastLine.Add(rateLogInterval), now)
		l.mu.Unlock()
		return
	}
	n := e.count
	e.count, e.lastLine, e.kv = 0, now, nil
	l.mu.Unlock()
	_ = l.logger.Log(append(kv, "count", n)...)
}

// armLocked makes the timer fire at due at the latest. The caller holds
// l.mu.
func (l *rateLog) armLocked(due, now time.Time) {
	if l.closed || !l.due.IsZero() && !due.Before(l.due) {
		return
	}
	if l.stop != nil {
		l.stop()
	}
	l.due, l.stop = due, l.after(due.Sub(now), l.flush)
}

// flush writes the lines that are due and arms the timer for the next.
func (l *rateLog) flush() {
	now := l.now()
	l.mu.Lock()
	l.due, l.stop = time.Time{}, nil
	if l.closed {
		l.mu.Unlock()
		return
	}
	var next time.Time
	lines := l.takeLocked(func(e *rateEntry) bool {
		due := e.lastLine.Add(rateLogInterval)
		if now.Before(due) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			return false
		}
		return true
	}, now)
	if !next.IsZero() {
		l.armLocked(next, now)
	}
	l.mu.Unlock()
	l.write(lines)
}

// takeLocked returns the lines of the keys with occurrences not yet written
// that want says to write now, in the order of their keys, and marks them
// written at now. The caller holds l.mu.
func (l *rateLog) takeLocked(want func(*rateEntry) bool, now time.Time) [][]any {
	var lines [][]any
	for _, k := range slices.Sorted(maps.Keys(l.keys)) {
		e := l.keys[k]
		if e.count == 0 || !want(e) {
			continue
		}
		lines = append(lines, append(slices.Clip(e.kv), "count", e.count))
		e.count, e.lastLine, e.kv = 0, now, nil
	}
	return lines
}

func (l *rateLog) write(lines [][]any) {
	for _, kv := range lines {
		_ = l.logger.Log(kv...)
	}
}

// close stops the timer and writes what is still counted, so that nothing
// counted is lost at shutdown. Later occurrences are written only when they
// come a minute after the key's last line.
func (l *rateLog) close() {
	now := l.now()
	l.mu.Lock()
	l.closed = true
	if l.stop != nil {
		l.stop()
	}
	l.due, l.stop = time.Time{}, nil
	lines := l.takeLocked(func(*rateEntry) bool { return true }, now)
	l.mu.Unlock()
	l.write(lines)
}

// retain forgets the keys keep does not want, so that removed tenants do
// not pile up.
func (l *rateLog) retain(keep func(key string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.keys {
		if !keep(k) {
			delete(l.keys, k)
		}
	}
}
