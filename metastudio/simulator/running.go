package simulator

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is a Server listening on a loopback port.
type Running struct {
	URL    string // e.g. http://127.0.0.1:41234
	Server *Server
	Close  func() error // stops listening, drops connections, waits for handlers
}

// Start listens on 127.0.0.1:0 and serves a new Server with the tenants.
func Start(opts Options, tenants ...Tenant) (*Running, error) {
	return Listen("127.0.0.1:0", opts, tenants...)
}

// Listen is Start on the address addr (host:port), for a simulator that
// users point their own config at.
func Listen(addr string, opts Options, tenants ...Tenant) (*Running, error) {
	s := New(opts)
	for _, t := range tenants {
		if err := s.AddTenant(t); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen: %w", err)
	}
	inflight := newHandlerCount()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inflight.enter()
			defer inflight.leave()
			s.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Aborted and hijacked connections are the point of some faults;
		// net/http's complaints about them are noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var once sync.Once
	var closeErr error
	closeFn := func() error {
		once.Do(func() {
			// Close, not Shutdown: hanging handlers only return once their
			// connection is gone.
			closeErr = srv.Close()
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && closeErr == nil {
				closeErr = err
			}
			inflight.waitZero()
			if closeErr != nil {
				closeErr = fmt.Errorf("simulator: close: %w", closeErr)
			}
		})
		return closeErr
	}
	return &Running{URL: "http://" + ln.Addr().String(), Server: s, Close: closeFn}, nil
}

// handlerCount lets Close wait for handlers that were still running when
// their connection was dropped. A sync.WaitGroup does not fit: handlers may
// start (Add from zero) while Close is already waiting.
type handlerCount struct {
	mu   sync.Mutex
	zero *sync.Cond
	n    int
}

func newHandlerCount() *handlerCount {
	c := &handlerCount{}
	c.zero = sync.NewCond(&c.mu)
	return c
}

func (c *handlerCount) enter() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *handlerCount) leave() {
	c.mu.Lock()
	c.n--
	if c.n == 0 {
		c.zero.Broadcast()
	}
	c.mu.Unlock()
}

func (c *handlerCount) waitZero() {
	c.mu.Lock()
	for c.n > 0 {
		c.zero.Wait()
	}
	c.mu.Unlock()
}
