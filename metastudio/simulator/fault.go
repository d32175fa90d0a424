package simulator

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Fault makes a route misbehave. It applies after authentication (and, on
// the list routes, after the query is validated), as a failing backend
// behind a healthy gateway would. The steps run in field order: Latency,
// Hang, RetryAfter, then the first of Status, ResetMidBody, Body, BodySize
// that is set. Count, RepeatFirstPage and IgnoreLimit change the page the
// list routes answer with and apply to them only.
type Fault struct {
	Latency      time.Duration // delay before answering, honouring request cancellation
	Hang         bool          // never answer until the client goes away
	Status       int           // answer this status with an error body instead of the config
	ErrorCode    string        // defaults by status (e.g. 429 → APIGW.0308, 500 → MSS.00000001)
	ErrorMsg     string
	RetryAfter   string // Retry-After header value, if set
	Body         []byte // raw 200 body instead of the stored config (malformed JSON, wrong types)
	BodySize     int64  // stream a 200 body of this many bytes (valid JSON start, padded), without holding it in memory
	ResetMidBody bool   // send headers and part of the body, then hijack and close the connection abruptly

	Count           int64 // non-zero: the count a list answers with, whatever it holds (one that never ends)
	RepeatFirstPage bool  // answer every page as the first, whatever the offset (endless pages)
	IgnoreLimit     bool  // answer every entry from the offset on in one page, however many limit allows
}

func (f *Fault) isZero() bool {
	return f.Latency == 0 && !f.Hang && f.Status == 0 && f.ErrorCode == "" && f.ErrorMsg == "" &&
		f.RetryAfter == "" && f.Body == nil && f.BodySize == 0 && !f.ResetMidBody &&
		f.Count == 0 && !f.RepeatFirstPage && !f.IgnoreLimit
}

// sleepCtx waits d unless the request is cancelled first; it reports
// whether the full delay passed. A timer, not a goroutine, keeps thousands
// of delayed requests cheap.
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func serveFault(w http.ResponseWriter, r *http.Request, f *Fault, stored []byte) {
	if f.Latency > 0 && !sleepCtx(r, f.Latency) {
		return
	}
	if f.Hang {
		<-r.Context().Done()
		return
	}
	if f.RetryAfter != "" {
		w.Header()["Retry-After"] = []string{f.RetryAfter}
	}
	switch {
	case f.Status >= 400:
		code, msg := defaultError(f.Status)
		if f.ErrorCode != "" {
			code = f.ErrorCode
		}
		if f.ErrorMsg != "" {
			msg = f.ErrorMsg
		}
		writeError(w, &apiError{status: f.Status, code: code, msg: msg})
	case f.Status > 0:
		// Non-error statuses (204, 302) answer bare, to exercise clients
		// that only expect 200 or an error.
		w.WriteHeader(f.Status)
	case f.ResetMidBody:
		resetMidBody(w, f, stored)
	case f.Body != nil:
		writeJSON(w, http.StatusOK, f.Body)
	case f.BodySize > 0:
		setLength(w, f.BodySize)
		w.WriteHeader(http.StatusOK)
		_ = writePadded(w, f.BodySize, f.BodySize)
	default:
		writeJSON(w, http.StatusOK, stored)
	}
}

func setLength(w http.ResponseWriter, n int64) {
	h := w.Header()
	h["Content-Type"] = []string{contentTypeJSON}
	h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
}

// resetMidBody promises a whole body in Content-Length, sends half of it and
// drops the connection. The close is a plain one rather than an RST (linger
// 0): an RST may discard the half already sent, and clients then fail on
// the headers instead of mid-body, which is not the case under test.
func resetMidBody(w http.ResponseWriter, f *Fault, stored []byte) {
	size := f.BodySize
	if size == 0 {
		if f.Body != nil {
			stored = f.Body
		}
		size = int64(len(stored))
	}
	setLength(w, size)
	w.WriteHeader(http.StatusOK)
	if f.BodySize > 0 {
		_ = writePadded(w, size, size/2)
	} else {
		_, _ = w.Write(stored[:size/2])
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		// net/http drops the connection without logging for this panic.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

var (
	padHead = []byte(`{"padding":"`)
	padTail = []byte(`"}`)
	// padding is shared read-only by every streaming answer.
	padding = bytes.Repeat([]byte{'x'}, 32<<10)
)

// writePadded writes the first n bytes of a size-byte JSON object
// {"padding":"xxx…"}; bodies too small to hold it are a truncated start.
func writePadded(w io.Writer, size, n int64) error {
	n = min(n, size)
	if size < int64(len(padHead)+len(padTail)) {
		_, err := w.Write(padHead[:n])
		return err
	}
	head := min(n, int64(len(padHead)))
	if _, err := w.Write(padHead[:head]); err != nil {
		return err
	}
	written := head
	padEnd := size - int64(len(padTail))
	for stop := min(n, padEnd); written < stop; {
		c := min(int64(len(padding)), stop-written)
		if _, err := w.Write(padding[:c]); err != nil {
			return err
		}
		written += c
	}
	if n > padEnd {
		_, err := w.Write(padTail[:n-padEnd])
		return err
	}
	return nil
}
