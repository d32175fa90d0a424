// Package callslots is the one bound on upstream calls in flight
// (--scrape.max-concurrency), shared by scrapes and the background refreshes
// of rooms and live jobs. Scrapes come first: a background call takes a
// slot only when no scrape is waiting for one and fewer than the background
// limit (--background.max-concurrency) of background calls run, so that
// watching rooms and jobs never delays a scrape beyond the calls already in
// flight.
package callslots

import (
	"slices"
	"sync"
)

// Class is who a call is for.
type Class int

const (
	// Scrape is a call a scrape waits for; it goes ahead of every
	// background call.
	Scrape Class = iota
	// Background is a refresh nobody waits for.
	Background
)

// Pool hands out the slots. Its methods are safe for concurrent use.
type Pool struct {
	size          int
	maxBackground int

	mu         sync.Mutex
	inUse      int // slots taken, background ones included
	background int // slots taken by background calls
	// Waiters in arrival order, per class; each gets its slot by the close
	// of its channel.
	scrapes     []*waiter
	backgrounds []*waiter
}

type waiter struct {
	ready   chan struct{}
	granted bool // set, under the pool's lock, when ready is closed
}

// New returns a pool of size slots, at most maxBackground of them taken by
// background calls at once. Both are at least 1.
func New(size, maxBackground int) *Pool {
	return &Pool{size: max(size, 1), maxBackground: max(maxBackground, 1)}
}

// Size is the number of slots.
func (p *Pool) Size() int { return p.size }

// Acquire takes a slot for a call of class c, waiting for one if need be,
// and reports whether it got it. It gives up, with false, once stop or halt
// is closed (either may be nil): a caller bound by two contexts passes both
// Done channels, so that waiting allocates nothing until it has to wait.
// Every true must be followed by one Release(c).
func (p *Pool) Acquire(c Class, stop, halt <-chan struct{}) bool {
	p.mu.Lock()
	if p.mayTakeLocked(c) {
		p.takeLocked(c)
		p.mu.Unlock()
		return true
	}
	w := &waiter{ready: make(chan struct{})}
	if c == Scrape {
		p.scrapes = append(p.scrapes, w)
	} else {
		p.backgrounds = append(p.backgrounds, w)
	}
	p.mu.Unlock()

	select {
	case <-w.ready:
		return true
	case <-stop:
	case <-halt:
	}
	p.mu.Lock()
	if w.granted {
		// The slot came as the caller gave up: pass it on.
		p.releaseLocked(c)
		p.mu.Unlock()
		return false
	}
	if c == Scrape {
		p.scrapes = remove(p.scrapes, w)
	} else {
		p.backgrounds = remove(p.backgrounds, w)
	}
	// A scrape that stops waiting may have been all that held a
	// background call back.
	p.grantLocked()
	p.mu.Unlock()
	return false
}

// Release gives back a slot taken for class c.
func (p *Pool) Release(c Class) {
	p.mu.Lock()
	p.releaseLocked(c)
	p.mu.Unlock()
}

// InUse returns the slots taken now, all and by background calls.
func (p *Pool) InUse() (all, background int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse, p.background
}

// mayTakeLocked reports whether a call of class c arriving now may take a
// slot at once: one is free, nobody of its class came first, and for a
// background call no scrape waits and the background limit is not reached.
func (p *Pool) mayTakeLocked(c Class) bool {
	if p.inUse >= p.size || len(p.scrapes) > 0 {
		return false
	}
	return c == Scrape || len(p.backgrounds) == 0 && p.background < p.maxBackground
}

func (p *Pool) takeLocked(c Class) {
	p.inUse++
	if c == Background {
		p.background++
	}
}

func (p *Pool) releaseLocked(c Class) {
	p.inUse--
	if c == Background {
		p.background--
	}
	p.grantLocked()
}

// grantLocked hands free slots to waiters: scrapes first, in order, then
// background calls while the background limit allows.
func (p *Pool) grantLocked() {
	for p.inUse < p.size {
		var w *waiter
		switch {
		case len(p.scrapes) > 0:
			w, p.scrapes = pop(p.scrapes)
			p.takeLocked(Scrape)
		case len(p.backgrounds) > 0 && p.background < p.maxBackground:
			w, p.backgrounds = pop(p.backgrounds)
			p.takeLocked(Background)
		default:
			return
		}
		w.granted = true
		close(w.ready)
	}
}

// pop takes the first waiter off q; the array forgets it, so that a long
// queue does not keep waiters that have gone.
func pop(q []*waiter) (*waiter, []*waiter) {
	w := q[0]
	q[0] = nil
	return w, q[1:]
}

func remove(q []*waiter, w *waiter) []*waiter {
	if i := slices.Index(q, w); i >= 0 {
		return slices.Delete(q, i, i+1)
	}
	return q
}
