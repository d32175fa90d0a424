package web

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs NewServer's server for h, with ReadTimeout cut down to
// readTimeout so that the test need not wait the real 30 s.
func serve(t *testing.T, h http.Handler, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, nil)
	srv.ReadTimeout = readTimeout
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestSlowScrapeOutlivesReadTimeout: the read timeout bounds reading a
// request, not serving it; a scrape slower than it is answered whole, its
// context not cancelled.
func TestSlowScrapeOutlivesReadTimeout(t *testing.T) {
	if NewServer(nil, nil).WriteTimeout != 0 {
		t.Fatal("a WriteTimeout would cut slow scrapes")
	}
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
			_, _ = io.WriteString(w, strings.Repeat("metastudio_up 1\n", 1000))
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		}
	}), 50*time.Millisecond)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || len(body) != 16000 {
		t.Fatalf("%d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
}

// TestHeaderLimit: a request whose headers pass MaxHeaderBytes is refused
// before any handler runs.
func TestHeaderLimit(t *testing.T) {
	var called atomic.Bool
	url := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Store(true) }), ReadTimeout)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", MaxHeaderBytes+8<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || called.Load() {
		t.Fatalf("%d, handler called %v", resp.StatusCode, called.Load())
	}
}
