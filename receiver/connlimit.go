package receiver

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons of metastudio_exporter_callback_connections_closed_total.
const (
	closedIdleAtCapacity = "idle_at_capacity" // closed to admit a new connection
	closedTimeout        = "timeout"          // a header, request or idle timeout ran out
	closedHeaderTooLarge = "header_too_large" // answered 431
)

var closedReasons = []string{closedIdleAtCapacity, closedTimeout, closedHeaderTooLarge}

// Where a connection is, for connLimiter. Only an idle one may be closed to
// admit another.
const (
	connNew     int32 = iota // accepted, no request finished yet
	connIdle                 // between requests, read nothing of the next
	connBusy                 // reading or serving a request
	connEvicted              // closed to admit another
)

// connLimiter is the receiver's listener. It holds at most max connections
// at once; at max, it closes the connection that has been idle between
// keep-alive requests the longest to admit a new one, so that clients
// holding every slot with a request now and then cannot shut MetaStudio
// out. A connection in a request is never closed for this: when none is
// idle, a new connection waits until one is, or closes. It also works out
// why net/http closes a connection, for the metrics.
type connLimiter struct {
	net.Listener
	max            int
	maxHeaderBytes int
	metrics        *connMetrics
	lines          *rateLog        // the at-capacity warn lines
	hook           func(connEvent) // tests' view of what happens; nil = none

	mu   sync.Mutex
	open int
	idle list.List // of *trackedConn, the longest idle first

	freed     chan struct{} // a connection closed or went idle
	done      chan struct{} // the listener is closed
	closeOnce sync.Once
}

// connEvent is what the tests' hook hears.
type connEvent struct {
	kind   string // "idle", "reading" (an idle one's next request began), "waiting" (at max, none idle) or "closed"
	reason string // for "closed": a reason of connections_closed_total, or ""
}

func newConnLimiter(ln net.Listener, max, maxHeaderBytes int, m *connMetrics, lines *rateLog, hook func(connEvent)) *connLimiter {
	return &connLimiter{
		Listener: ln, max: max, maxHeaderBytes: maxHeaderBytes, metrics: m, lines: lines, hook: hook,
		freed: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// Accept takes the next connection and admits it, closing the longest-idle
// one if all slots are taken. Until it is admitted, nothing else is
// accepted: further connections wait in the kernel's backlog.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.admit(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &trackedConn{Conn: c, l: l}, nil
}

func (l *connLimiter) admit() error {
	waiting := false
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			l.metrics.open.Inc()
			return nil
		}
		victim := l.longestIdleLocked()
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Close()
			l.lines.log(closedIdleAtCapacity, "msg", "Callback receiver at --callback.max-connections: closed its longest-idle keep-alive connections to admit new ones",
				"max_connections", l.max)
			continue
		}
		if !waiting {
			waiting = true
			l.lines.log("waiting", "msg", "Callback receiver at --callback.max-connections with every connection in a request: new connections wait",
				"max_connections", l.max)
			l.event(connEvent{kind: "waiting"})
		}
		select {
		case <-l.freed:
		case <-l.done:
			return net.ErrClosed
		}
	}
}

// longestIdleLocked takes the longest-idle connection off the idle list and
// marks it evicted; connections that started a request meanwhile are
// dropped from the list on the way. The caller holds l.mu.
func (l *connLimiter) longestIdleLocked() *trackedConn {
	for e := l.idle.Front(); e != nil; e = l.idle.Front() {
		c := l.idle.Remove(e).(*trackedConn)
		c.elem = nil
		if c.state.CompareAndSwap(connIdle, connEvicted) {
			return c
		}
	}
	return nil
}

// connState is the server's http.Server.ConnState.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	c := asTracked(nc)
	if c == nil {
		return
	}
	switch st {
	case http.StateIdle:
		c.headBytes.Store(0)
		c.served.Store(false)
		l.mu.Lock()
		// net/http marks a connection idle before it tells this hook, so
		// a shutdown may have closed it already.
		if !c.released && c.state.Load() != connEvicted {
			if c.elem != nil {
				l.idle.Remove(c.elem)
			}
			c.state.Store(connIdle)
			c.elem = l.idle.PushBack(c)
		}
		l.mu.Unlock()
		l.signal()
		l.event(connEvent{kind: "idle"})
	case http.StateActive:
		l.mu.Lock()
		if c.elem != nil {
			l.idle.Remove(c.elem)
			c.elem = nil
		}
		c.state.CompareAndSwap(connIdle, connBusy)
		c.state.CompareAndSwap(connNew, connBusy)
		l.mu.Unlock()
	}
}

// release gives c's slot back once it is closed, and counts why.
func (l *connLimiter) release(c *trackedConn, reason string) {
	l.mu.Lock()
	if c.elem != nil {
		l.idle.Remove(c.elem)
		c.elem = nil
	}
	c.released = true
	l.open--
	l.mu.Unlock()
	l.metrics.open.Dec()
	if reason != "" {
		l.metrics.closed.WithLabelValues(reason).Inc()
	}
	l.signal()
	l.event(connEvent{kind: "closed", reason: reason})
}

func (l *connLimiter) signal() {
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

func (l *connLimiter) event(e connEvent) {
	if l.hook != nil {
		l.hook(e)
	}
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// connContext is the server's http.Server.ConnContext: it lets the handler
// mark the connection's request as served.
func connContext(ctx context.Context, nc net.Conn) context.Context {
	if c := asTracked(nc); c != nil {
		return context.WithValue(ctx, trackedConnKey{}, c)
	}
	return ctx
}

type trackedConnKey struct{}

// markServed wraps h so that each request that reaches it marks its
// connection: one closed before any did, after reading more than the
// header limit, was answered 431.
func markServed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(trackedConnKey{}).(*trackedConn); ok {
			c.served.Store(true)
		}
		h.ServeHTTP(w, r)
	})
}

// asTracked finds the trackedConn under nc, which is one, or a *tls.Conn
// around one.
func asTracked(nc net.Conn) *trackedConn {
	switch c := nc.(type) {
	case *trackedConn:
		return c
	case interface{ NetConn() net.Conn }:
		if tc, ok := c.NetConn().(*trackedConn); ok {
			return tc
		}
	}
	return nil
}

// trackedConn is a connection connLimiter admitted. What its reads see
// tells why net/http closes it.
type trackedConn struct {
	net.Conn
	l     *connLimiter
	state atomic.Int32
	// Guarded by l.mu: where it is in l.idle while idle, and whether its
	// slot was given back.
	elem     *list.Element
	released bool

	// pastDeadline: the read deadline set last lies in the past, which is
	// net/http waking a read of its own, not a client being slow.
	pastDeadline atomic.Bool
	timedOut     atomic.Bool  // the last read ended on a deadline that was not in the past
	headBytes    atomic.Int64 // bytes read since the connection was new or idle
	served       atomic.Bool  // a request since then reached the handler

	closeOnce sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		// The next request has begun: it may no longer be closed to admit
		// another, and if that happened just now, it is not served.
		if c.state.CompareAndSwap(connIdle, connBusy) {
			c.l.event(connEvent{kind: "reading"})
		}
		if c.state.Load() == connEvicted {
			return 0, net.ErrClosed
		}
		c.headBytes.Add(int64(n))
	}
	c.timedOut.Store(err != nil && isTimeout(err) && !c.pastDeadline.Load())
	return n, err
}

func (c *trackedConn) SetDeadline(t time.Time) error {
	c.noteReadDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.noteReadDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) noteReadDeadline(t time.Time) {
	c.pastDeadline.Store(!t.IsZero() && !t.After(time.Now()))
}

// CloseWrite lets net/http half-close the connection after a 431, as it
// does with a plain TCP connection, so the client reads the answer.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close gives the slot back, counting why the connection ends, before the
// client can see it end.
func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() { c.l.release(c, c.closeReason()) })
	return c.Conn.Close()
}

func (c *trackedConn) closeReason() string {
	switch {
	case c.state.Load() == connEvicted:
		return closedIdleAtCapacity
	case c.timedOut.Load():
		return closedTimeout
	case !c.served.Load() && c.headBytes.Load() > int64(c.l.maxHeaderBytes):
		return closedHeaderTooLarge
	}
	return ""
}
