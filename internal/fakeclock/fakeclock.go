// Package fakeclock is the tests' clock: it stands still until the test
// sets it or moves it on, and the timers armed on it run when it passes
// their time, so that a test can cross a cache age, a backoff or a rate
// window at once and know what the code did when the step returns.
// Its methods have the shapes of the clock options the packages take
// (Now func() time.Time; AfterFunc as time.AfterFunc returning Stop).
package fakeclock

import (
	"slices"
	"sync"
	"time"
)

// Clock is safe for concurrent use. The zero value stands at the zero time.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

type timer struct {
	at time.Time
	f  func()
}

// New returns a clock that stands at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now is where the clock stands.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set puts the clock at t, forward or back, then runs the timers that are
// due as Advance does.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
	c.fire()
}

// Advance moves the clock on by d, then runs the timers that are due, the
// earliest first (those armed first among equals), in the caller's
// goroutine: when it returns, what they do is done. A timer sees the clock
// where Advance put it, and one that a running timer arms runs too if it
// is due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.fire()
}

// AfterFunc is the clock's time.AfterFunc: f runs in the Set or Advance
// that reaches now+d. stop disarms the timer and reports whether it was
// still armed, as (*time.Timer).Stop does.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i >= 0 {
			c.timers = slices.Delete(c.timers, i, i+1)
		}
		return i >= 0
	}
}

// PendingTimers is how many timers are armed and have neither run nor
// been stopped.
func (c *Clock) PendingTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// fire runs the due timers one at a time, outside the lock, so that a
// timer may read the clock and arm or stop timers.
func (c *Clock) fire() {
	for {
		c.mu.Lock()
		i := -1
		for j, t := range c.timers {
			if !t.at.After(c.now) && (i < 0 || t.at.Before(c.timers[i].at)) {
				i = j
			}
		}
		if i < 0 {
			c.mu.Unlock()
			return
		}
		t := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		c.mu.Unlock()
		t.f()
	}
}
