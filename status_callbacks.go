package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

// callbackJournal keeps the last callbacks the receiver answered and each
// tenant's last accepted event, for the status page. It watches the
// receiver's handler from outside: the answer's result, the tenant of the
// path, and the body's event_type, and nothing else of the request (no
// query, header, key or stream key).
type callbackJournal struct {
	now func() time.Time

	mu        sync.Mutex
	ring      [web.MaxRecentCallbacks]web.CallbackStatus
	next, n   int
	lastEvent map[string]time.Time
}

func newCallbackJournal() *callbackJournal {
	return &callbackJournal{now: time.Now, lastEvent: map[string]time.Time{}}
}

// journalBodyLimit is the receiver's own body limit: a body it reads whole
// is seen whole here.
const journalBodyLimit = 64 << 10

// wrap records every answer h gives.
func (j *callbackJournal) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		if r.Body != nil {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.TeeReader(r.Body, &limitedWriter{&body, journalBodyLimit}), r.Body}
		}
		rw := &answerRecorder{ResponseWriter: w}
		h.ServeHTTP(rw, r)
		var answer struct {
			Result string `json:"result"`
		}
		if json.Unmarshal(rw.head.Bytes(), &answer) != nil || answer.Result == "" {
			return
		}
		rec := web.CallbackStatus{Time: j.now(), Result: answer.Result}
		// As the receiver counts them: a request turned away before its
		// tenant was known belongs to none.
		if answer.Result != "unknown_tenant" && answer.Result != "method_not_allowed" {
			rec.Tenant = strings.TrimPrefix(r.URL.Path, "/callback/")
		}
		// The receiver names the event only once it has verified and
		// parsed it.
		if answer.Result == "accepted" || answer.Result == "duplicate" || answer.Result == "forward_failed" {
			rec.EventType = eventTypeLabel(body.Bytes())
		}
		j.add(rec)
	})
}

func (j *callbackJournal) add(rec web.CallbackStatus) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ring[j.next] = rec
	j.next = (j.next + 1) % len(j.ring)
	j.n = min(j.n+1, len(j.ring))
	if rec.Result == "accepted" {
		j.lastEvent[rec.Tenant] = rec.Time
	}
}

// Recent returns the callbacks kept, newest first.
func (j *callbackJournal) Recent() []web.CallbackStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]web.CallbackStatus, 0, j.n)
	for i := 1; i <= j.n; i++ {
		out = append(out, j.ring[(j.next-i+len(j.ring))%len(j.ring)])
	}
	return out
}

// LastEvent returns when tenant's last event was accepted; zero if none.
func (j *callbackJournal) LastEvent(tenant string) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastEvent[tenant]
}

// retain forgets the last events of tenants no longer served.
func (j *callbackJournal) retain(tenants []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for name := range j.lastEvent {
		if !slices.Contains(tenants, name) {
			delete(j.lastEvent, name)
		}
	}
}

// eventTypeLabel is the body's event_type as metastudio_live_events_total
// labels it: a known type, or "other".
func eventTypeLabel(body []byte) string {
	var b struct {
		EventType string `json:"event_type"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	if slices.Contains(metastudio.KnownCallbackEvents, b.EventType) {
		return b.EventType
	}
	return "other"
}

// answerRecorder keeps the start of an answer, where its result is.
type answerRecorder struct {
	http.ResponseWriter
	head bytes.Buffer
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	_, _ = (&limitedWriter{&a.head, 512}).Write(p)
	return a.ResponseWriter.Write(p)
}

// limitedWriter keeps at most limit bytes in buf and drops the rest.
type limitedWriter struct {
	buf   *bytes.Buffer
	limit int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.limit - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
