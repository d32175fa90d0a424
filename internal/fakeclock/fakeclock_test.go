package fakeclock

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)

func TestNowSetAdvance(t *testing.T) {
	var zero Clock
	if got := zero.Now(); !got.IsZero() {
		t.Errorf("zero Clock stands at %v, want the zero time", got)
	}
	c := New(t0)
	for _, step := range []struct {
		move func()
		want time.Time
	}{
		{func() {}, t0},
		{func() { c.Advance(90 * time.Second) }, t0.Add(90 * time.Second)},
		{func() { c.Advance(0) }, t0.Add(90 * time.Second)},
		{func() { c.Set(t0.Add(-time.Hour)) }, t0.Add(-time.Hour)},
		{func() { c.Advance(time.Hour + time.Millisecond) }, t0.Add(time.Millisecond)},
	} {
		step.move()
		if got := c.Now(); !got.Equal(step.want) {
			t.Fatalf("Now() = %v, want %v", got, step.want)
		}
	}
}

// recorder notes which timers ran and where the clock stood for each.
type recorder struct {
	c   *Clock
	ran []string
}

func (r *recorder) timer(name string) func() {
	return func() { r.ran = append(r.ran, fmt.Sprintf("%s@%s", name, r.c.Now().Sub(t0))) }
}

func (r *recorder) take() []string {
	ran := r.ran
	r.ran = nil
	return ran
}

func TestTimersRunWhenDueEarliestFirst(t *testing.T) {
	c := New(t0)
	r := &recorder{c: c}
	c.AfterFunc(3*time.Second, r.timer("c"))
	c.AfterFunc(time.Second, r.timer("a"))
	c.AfterFunc(2*time.Second, r.timer("b1"))
	c.AfterFunc(2*time.Second, r.timer("b2"))
	c.AfterFunc(time.Hour, r.timer("late"))
	for _, step := range []struct {
		by      time.Duration
		want    []string
		pending int
	}{
		{999 * time.Millisecond, nil, 5},
		{time.Millisecond, []string{"a@1s"}, 4},
		// Both b timers and c are due; each sees the clock where the
		// step put it.
		{2500 * time.Millisecond, []string{"b1@3.5s", "b2@3.5s", "c@3.5s"}, 1},
		{time.Minute, nil, 1},
	} {
		c.Advance(step.by)
		if got := r.take(); !slices.Equal(got, step.want) {
			t.Errorf("Advance(%v) ran %q, want %q", step.by, got, step.want)
		}
		if got := c.PendingTimers(); got != step.pending {
			t.Errorf("after Advance(%v): %d timers pending, want %d", step.by, got, step.pending)
		}
	}
}

func TestSetRunsTimersItPasses(t *testing.T) {
	c := New(t0)
	r := &recorder{c: c}
	c.AfterFunc(time.Minute, r.timer("m"))
	c.Set(t0.Add(-time.Hour))
	if got := r.take(); got != nil {
		t.Errorf("Set back ran %q", got)
	}
	c.Set(t0.Add(time.Minute))
	if got, want := r.take(), []string{"m@1m0s"}; !slices.Equal(got, want) {
		t.Errorf("Set to the timer's time ran %q, want %q", got, want)
	}
}

func TestStop(t *testing.T) {
	c := New(t0)
	r := &recorder{c: c}
	stopEarly := c.AfterFunc(time.Second, r.timer("early"))
	stopLate := c.AfterFunc(time.Second, r.timer("late"))
	if !stopEarly() {
		t.Error("stop of an armed timer = false, want true")
	}
	if stopEarly() {
		t.Error("second stop = true, want false")
	}
	c.Advance(time.Second)
	if got, want := r.take(), []string{"late@1s"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if stopLate() {
		t.Error("stop of a timer that ran = true, want false")
	}
	if n := c.PendingTimers(); n != 0 {
		t.Errorf("%d timers pending, want 0", n)
	}
}

// A timer runs outside the clock's lock: it reads the clock and arms the
// next, which runs in the same step if it is due.
func TestTimerArmsTimers(t *testing.T) {
	c := New(t0)
	r := &recorder{c: c}
	c.AfterFunc(time.Second, func() {
		r.timer("first")()
		c.AfterFunc(0, r.timer("now"))
		c.AfterFunc(time.Second, r.timer("next"))
	})
	c.Advance(1500 * time.Millisecond)
	if got, want := r.take(), []string{"first@1.5s", "now@1.5s"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	c.Advance(time.Second)
	if got, want := r.take(), []string{"next@2.5s"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

// Goroutines that read the clock, arm and stop timers while the test moves
// it: every timer either runs once or is stopped, never both (the race
// detector checks the rest).
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker = 4, 200
	c := New(t0)
	var ran, stopped atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				before := c.Now()
				stop := c.AfterFunc(time.Duration(i%7)*time.Millisecond, func() { ran.Add(1) })
				if (i+w)%3 == 0 && stop() {
					stopped.Add(1)
				}
				if c.Now().Before(before) {
					t.Errorf("the clock went back while only Advance moved it")
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			c.Advance(time.Millisecond)
		}
	}
	c.Advance(time.Second)
	if got := ran.Load() + stopped.Load(); got != workers*perWorker {
		t.Errorf("%d timers ran and %d were stopped: %d in all, want %d", ran.Load(), stopped.Load(), got, workers*perWorker)
	}
	if n := c.PendingTimers(); n != 0 {
		t.Errorf("%d timers pending, want 0", n)
	}
}
