package receiver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the receiver.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// benchBody appends a signed tenant's RTMP event for job n to dst; seq
// makes bodies distinct, as real events are.
func benchBody(dst []byte, n, seq int) []byte {
	dst = append(dst, `{"event_type":"RTMP_STREAM_STATE_CHANGE","message":"{\"room_id\":\"room-1\",\"job_id\":\"job-`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `\",\"state\":\"CONNECTED\",\"output_url\":\"rtmp://live.example.com/app/key-`...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	return append(dst, `\",\"stream_key\":\"key\"}"}`...)
}

// fullReceiver is a receiver whose table holds max-streams (2000) streams.
func fullReceiver(b *testing.B) (*Receiver, *url.URL) {
	rc, u := filledReceiver(b)
	b.Cleanup(func() { _ = rc.Close() })
	return rc, u
}

func filledReceiver(b *testing.B) (*Receiver, *url.URL) {
	clock := fakeclock.New(t0)
	rc, err := New(Options{Now: clock.Now, AfterFunc: clock.AfterFunc, Logger: log.NewNopLogger()}, newSource(testTenants()))
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse("/callback/mss?" + signedQuery(testKey, mssURL, t0))
	w := &discardWriter{h: http.Header{}}
	var buf []byte
	for i := range DefaultMaxStreams {
		buf = benchBody(buf[:0], i, -i-1)
		rc.Handler().ServeHTTP(w, &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(buf)), ContentLength: int64(len(buf))})
		if w.code != 200 {
			b.Fatalf("filling: %d", w.code)
		}
	}
	if n := len(rc.table.streams); n != DefaultMaxStreams {
		b.Fatalf("%d streams", n)
	}
	return rc, u
}

// fullHeap is the heap a receiver with a full table holds (streams, jobs,
// and the replay entries of the events that filled it).
func fullHeap(b *testing.B) float64 {
	var with, without runtime.MemStats
	rc, _ := filledReceiver(b)
	runtime.GC()
	runtime.ReadMemStats(&with)
	_ = rc.Close()
	runtime.KeepAlive(rc)
	rc = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	return float64(int64(with.HeapAlloc)-int64(without.HeapAlloc)) / (1 << 20)
}

// BenchmarkReceiver measures accepted MSS_A events through the handler
// with max-streams full: updates of tracked streams, and new streams that
// each evict one.
func BenchmarkReceiver(b *testing.B) {
	for _, bc := range []struct {
		name string
		job  func(i int) int
	}{
		{"update", func(i int) int { return i % DefaultMaxStreams }},
		{"new-stream-evicting", func(i int) int { return DefaultMaxStreams + i }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			heap := fullHeap(b)
			rc, u := fullReceiver(b)
			h := rc.Handler()
			w := &discardWriter{h: http.Header{}}
			var buf []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf = benchBody(buf[:0], bc.job(i), i)
				h.ServeHTTP(w, &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{},
					Body: io.NopCloser(bytes.NewReader(buf)), ContentLength: int64(len(buf))})
				if w.code != 200 {
					b.Fatalf("event %d: %d", i, w.code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(heap, "MiB-full-table")
		})
	}
}

// BenchmarkReceiverHTTP posts accepted events over loopback HTTP from
// parallel clients, with max-streams full, and reports the p99 latency.
func BenchmarkReceiverHTTP(b *testing.B) {
	rc, u := fullReceiver(b)
	srv := httptest.NewServer(rc.Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	target := srv.URL + u.String()
	var seq atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		var mine []time.Duration
		for pb.Next() {
			i := int(seq.Add(1))
			buf = benchBody(buf[:0], i%DefaultMaxStreams, i)
			start := time.Now()
			resp, err := client.Post(target, "application/json", bytes.NewReader(buf))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(start))
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkCollectStreams measures one scrape of the stream series with
// max-streams full.
func BenchmarkCollectStreams(b *testing.B) {
	rc, _ := fullReceiver(b)
	reg := prometheus.NewRegistry()
	reg.MustRegister(rc.StreamCollector(), rc.ReceiverCollector())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
