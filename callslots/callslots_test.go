package callslots

import (
	"sync"
	"testing"
	"testing/synctest"
)

// The ordering tests run in synctest bubbles: synctest.Wait returns once
// every call started is blocked, so calls are lined up without sleeping,
// and a call that never gets its slot fails the test as a deadlock instead
// of hanging it.

// harness drives a Pool from inside a bubble.
type harness struct {
	t *testing.T
	p *Pool
}

func newHarness(t *testing.T, size, maxBackground int) *harness {
	return &harness{t: t, p: New(size, maxBackground)}
}

// take takes a slot that must be free now.
func (h *harness) take(c Class) {
	h.t.Helper()
	if !h.p.Acquire(c, nil, nil) {
		h.t.Fatalf("Acquire(%v) without stop channels returned false", c)
	}
}

// queue starts an Acquire(c) that must wait, and returns once it waits.
// Its outcome arrives on the returned channel; closing stop ends its wait.
func (h *harness) queue(c Class, stop <-chan struct{}) <-chan bool {
	h.t.Helper()
	got := make(chan bool, 1)
	go func() { got <- h.p.Acquire(c, stop, nil) }()
	synctest.Wait()
	if !pending(got) {
		h.t.Fatalf("Acquire(%v) did not wait", c)
	}
	return got
}

func (h *harness) inUse(all, background int) {
	h.t.Helper()
	if a, b := h.p.InUse(); a != all || b != background {
		h.t.Fatalf("in use: %d (%d background), want %d (%d background)", a, b, all, background)
	}
}

// pending reports whether an Acquire has not returned, once every goroutine
// of the bubble has done what it can.
func pending(got <-chan bool) bool {
	synctest.Wait()
	select {
	case <-got:
		return false
	default:
		return true
	}
}

// TestScrapeGetsTheNextFreeSlot: with every slot taken by background calls
// and both a background call and a scrape waiting, the slot freed next goes
// to the scrape, though the background call queued first; the one after
// goes to the background call.
func TestScrapeGetsTheNextFreeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, 2, 2)
		h.take(Background)
		h.take(Background)
		bg := h.queue(Background, nil)
		scrape := h.queue(Scrape, nil)

		h.p.Release(Background)
		if !<-scrape {
			t.Fatal("the scrape did not get the freed slot")
		}
		if !pending(bg) {
			t.Fatal("the background call took the slot a scrape was waiting for")
		}
		h.inUse(2, 1)

		h.p.Release(Scrape)
		if !<-bg {
			t.Fatal("the background call did not get the slot the scrape gave back")
		}
		h.inUse(2, 2)
	})
}

// TestBackgroundLimit: background calls stop at their own limit with slots
// still free, which scrapes then take at once.
func TestBackgroundLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, 4, 2)
		h.take(Background)
		h.take(Background)
		third := h.queue(Background, nil)
		h.take(Scrape)
		h.take(Scrape)
		h.inUse(4, 2)

		h.p.Release(Scrape)
		if !pending(third) {
			t.Fatal("a third background call ran past the background limit of 2")
		}
		h.inUse(3, 2)
		h.p.Release(Background)
		if !<-third {
			t.Fatal("the third background call did not start when the second ended")
		}
		h.inUse(3, 2)
	})
}

// TestArrivingBackgroundWaitsBehindScrape: a background call that arrives
// while a scrape waits queues, even when the background limit would allow
// it; it never jumps ahead of a scrape.
func TestArrivingBackgroundWaitsBehindScrape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, 1, 4)
		h.take(Scrape)
		scrape := h.queue(Scrape, nil)
		bg := h.queue(Background, nil)
		h.p.Release(Scrape)
		if !<-scrape || !pending(bg) {
			t.Fatal("the waiting scrape did not get the slot before the background call")
		}
		h.p.Release(Scrape)
		if !<-bg {
			t.Fatal("the background call did not get the slot once no scrape waited")
		}
		h.inUse(1, 1)
	})
}

// TestScrapeThatGivesUpLetsBackgroundRun: a scrape that stops waiting
// (its deadline passed) no longer holds back the background call behind it.
func TestScrapeThatGivesUpLetsBackgroundRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, 2, 2)
		h.take(Scrape)
		h.take(Scrape)
		stop := make(chan struct{})
		scrape := h.queue(Scrape, stop)
		bg := h.queue(Background, nil)
		h.p.Release(Scrape) // to the waiting scrape
		if !<-scrape {
			t.Fatal("the waiting scrape did not get the freed slot")
		}
		stopping := h.queue(Scrape, stop)
		close(stop)
		if <-stopping {
			t.Fatal("a stopped Acquire reported a slot")
		}
		if !pending(bg) {
			t.Fatal("the background call started with every slot taken")
		}
		h.p.Release(Scrape)
		if !<-bg {
			t.Fatal("the background call did not get the slot")
		}
		h.inUse(2, 1)
	})
}

// TestScrapesInArrivalOrder: waiting scrapes get slots first come, first
// served.
func TestScrapesInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, 1, 1)
		h.take(Scrape)
		first := h.queue(Scrape, nil)
		second := h.queue(Scrape, nil)
		h.p.Release(Scrape)
		if !<-first || !pending(second) {
			t.Fatal("the second scrape went before the first")
		}
		h.p.Release(Scrape)
		if !<-second {
			t.Fatal("the second scrape never got a slot")
		}
	})
}

// TestBoundsHoldUnderLoad: many goroutines of both classes taking and
// giving back slots, some giving up, never have more than size calls, or
// more than maxBackground background calls, in flight.
func TestBoundsHoldUnderLoad(t *testing.T) {
	const size, maxBackground = 3, 2
	p := New(size, maxBackground)
	var mu sync.Mutex
	var all, background, peakAll, peakBackground int
	enter := func(c Class) {
		mu.Lock()
		defer mu.Unlock()
		all++
		if c == Background {
			background++
		}
		peakAll, peakBackground = max(peakAll, all), max(peakBackground, background)
	}
	leave := func(c Class) {
		mu.Lock()
		defer mu.Unlock()
		all--
		if c == Background {
			background--
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		c := Class(g % 2)
		wg.Go(func() {
			for i := range 300 {
				var stop chan struct{}
				if i%7 == 0 {
					stop = make(chan struct{})
					close(stop) // gives up unless a slot is free at once
				}
				if !p.Acquire(c, stop, nil) {
					continue
				}
				enter(c)
				leave(c)
				p.Release(c)
			}
		})
	}
	wg.Wait()
	if peakAll > size || peakBackground > maxBackground {
		t.Errorf("peak in flight %d (%d background), bounds %d (%d)", peakAll, peakBackground, size, maxBackground)
	}
	if a, b := p.InUse(); a != 0 || b != 0 {
		t.Errorf("after every call: %d slots (%d background) still taken", a, b)
	}
}
