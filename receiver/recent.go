package receiver

import (
	"net/http"
	"time"
)

// recentCallbacks is how many callbacks Recent keeps.
const recentCallbacks = 100

// CallbackRecord is one callback as the status page shows it. It holds no
// key, token, URL or stream key, and no name that is not a tenant.
type CallbackRecord struct {
	Time      time.Time
	Tenant    string // "" when the request named no tenant
	EventType string // a known event type, "other", or "" when the body was not read
	Result    string // as in metastudio_exporter_callback_requests_total
}

// Accepted says the callback was answered 200: the event was taken, now or
// by an earlier copy.
func (c CallbackRecord) Accepted() bool { return result(c.Result).status() == http.StatusOK }

// recentRing is the last recentCallbacks callbacks; Receiver.mu guards it.
type recentRing struct {
	buf  [recentCallbacks]CallbackRecord
	next int // where the next record goes
	n    int
}

func (r *recentRing) add(rec CallbackRecord) {
	r.buf[r.next] = rec
	r.next = (r.next + 1) % recentCallbacks
	r.n = min(r.n+1, recentCallbacks)
}

// newestFirst copies the records out, newest first.
func (r *recentRing) newestFirst() []CallbackRecord {
	out := make([]CallbackRecord, 0, r.n)
	for i := 1; i <= r.n; i++ {
		out = append(out, r.buf[(r.next-i+recentCallbacks)%recentCallbacks])
	}
	return out
}

// retain drops the records of tenants not in keep.
func (r *recentRing) retain(keep map[string]bool) {
	kept := r.newestFirst()
	*r = recentRing{}
	for i := len(kept) - 1; i >= 0; i-- {
		if keep[kept[i].Tenant] {
			r.add(kept[i])
		}
	}
}

// Recent is the last 100 callbacks the receiver answered, newest first.
func (rc *Receiver) Recent() []CallbackRecord {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.recent.newestFirst()
}
