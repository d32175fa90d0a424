package receiver

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
)

// TestConcurrentUse runs requests, scrapes, Retain and state writes at
// once; under -race it checks the locking, and at the end every request is
// counted once and the table is within its bound.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{MaxStreams: 50, StateFile: filepath.Join(t.TempDir(), "state.json")})
	const workers, perWorker = 4, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				job := strconv.Itoa(w*perWorker + i)
				if w%2 == 0 {
					h.postMSS(rtmpBody("r", job, "h", "CONNECTED"))
				} else {
					h.postNone(switchBody("r", job, i))
				}
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
				h.rc.Retain([]string{"mss", "none"})
			}
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	if got := totalRequests(h.rc); got != workers*perWorker {
		t.Errorf("%v requests counted, want %d", got, workers*perWorker)
	}
	if got := tracked(t, h); got != "50 streams, 50 jobs" {
		t.Errorf("table: %s", got)
	}
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
}
