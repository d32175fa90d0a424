// Package conncount counts a test server's connections as they open and
// close, so that a test can see whether calls shared a connection and wait
// for a close that the code under test causes, without sleeping.
package conncount

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Counter is safe for concurrent use.
type Counter struct {
	opened, closed atomic.Int32
	closes         chan struct{}
}

// Watch makes srv report its connections to a new Counter, in place of its
// ConnState; call it before the server starts.
func Watch(srv *http.Server) *Counter {
	c := &Counter{closes: make(chan struct{}, 64)}
	srv.ConnState = c.connState
	return c
}

func (c *Counter) connState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed:
		c.closed.Add(1)
		select {
		case c.closes <- struct{}{}:
		default: // the channel is full: a waiter has that many to read
		}
	}
}

// Opened is how many connections the server has accepted.
func (c *Counter) Opened() int { return int(c.opened.Load()) }

// Closed is how many of them have closed.
func (c *Counter) Closed() int { return int(c.closed.Load()) }

// WaitClosed waits until n connections have closed in all; after 10 s,
// far past what a working program needs, it fails the test.
func (c *Counter) WaitClosed(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for c.Closed() < n {
		select {
		case <-c.closes:
		case <-deadline:
			t.Fatalf("%d of %d connections closed after 10s", c.Closed(), n)
		}
	}
}
