package receiver

import (
	"sync"
	"time"

	"github.com/go-kit/log"
)

// rateLogInterval is the least time between two lines of one kind: a
// misconfigured console, a port scanner speaking plain HTTP to a TLS
// listener or an app that is down shows at the default level, without a
// line per request.
const rateLogInterval = time.Minute

// rateLog writes at most one line per key per rateLogInterval, saying how
// many times the thing happened since the last line. The first occurrence
// is written at once, so a user trying something sees the answer.
type rateLog struct {
	logger log.Logger
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*rateEntry
}

type rateEntry struct {
	lastLine time.Time
	count    int // occurrences since lastLine, not yet written
}

func newRateLog(logger log.Logger, now func() time.Time) *rateLog {
	return &rateLog{logger: logger, now: now, keys: map[string]*rateEntry{}}
}

// log counts one occurrence of key and, if key's last line is a minute old
// (or there is none), writes kv with count, the occurrences since that line.
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
		l.mu.Unlock()
		return
	}
	n := e.count
	e.count, e.lastLine = 0, now
	l.mu.Unlock()
	_ = l.logger.Log(append(kv, "count", n)...)
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
