package collector

import (
	"testing"
	"testing/synctest"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
)

// TestScrapeGoesBeforeBackgroundCalls: a Scraper given a pool it shares
// with background calls waits only for the calls in flight. With the one
// slot taken by a background call and another background call queued
// first, the scrape's call gets the slot when it frees; the queued
// background call runs only after the scrape's call. synctest.Wait tells
// when each has queued.
func TestScrapeGoesBeforeBackgroundCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := callslots.New(1, 1)
		if !pool.Acquire(callslots.Background, nil, nil) {
			t.Fatal("the free slot was refused")
		}
		queued := make(chan bool, 1)
		go func() { queued <- pool.Acquire(callslots.Background, nil, nil) }()
		synctest.Wait()

		gate := newGate(nil)
		s := NewScraper(gate, Options{Slots: pool})
		scrape := scrapeAsync(s, t.Context(), testTenant("first"))
		synctest.Wait()
		if n := gate.calls.Load(); n != 0 {
			t.Fatalf("%d calls started with the only slot taken", n)
		}

		pool.Release(callslots.Background)
		<-gate.entered
		synctest.Wait()
		select {
		case <-queued:
			t.Fatal("the queued background call took the slot the scrape was waiting for")
		default:
		}
		gate.outcome <- nil
		if r := <-scrape; r.err != nil {
			t.Fatalf("scrape: %v", r.err)
		}
		if !<-queued {
			t.Fatal("the background call never got the slot back from the scrape")
		}
		pool.Release(callslots.Background)
	})
}
