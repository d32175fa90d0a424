package receiver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/exporter-toolkit/web"
)

// Defaults of ServerOptions. A client that trickles its headers or body, or
// holds a connection idle, is cut off after these; the receiver's callers
// are MetaStudio and relays, which send a small body at once.
const (
	DefaultMaxConnections    = 1000
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// ServerOptions configure the receiver's own listener. A zero value means
// the default.
type ServerOptions struct {
	Address       string // where to listen, e.g. ":10037"
	WebConfigFile string // exporter-toolkit web config (TLS, basic auth); "" = plain HTTP

	// MaxConnections is how many connections are held at once. At it, the
	// longest-idle keep-alive connection is closed to admit a new one;
	// when every connection is in a request, new ones wait in the kernel's
	// backlog (and are refused once it is full), so that a flood costs
	// neither memory nor file descriptors.
	MaxConnections    int
	ReadHeaderTimeout time.Duration // to read a request's headers
	ReadTimeout       time.Duration // to read a whole request, body included
	IdleTimeout       time.Duration // a keep-alive connection waiting for its next request
	MaxHeaderBytes    int

	// ToolkitLogger is exporter-toolkit's logger; default: none.
	ToolkitLogger *slog.Logger

	// onConn, when a test sets it, hears connections go idle, close, and
	// new ones wait for a slot, so that tests line them up without sleeps.
	onConn func(connEvent)
}

// Server is the receiver's listener, serving Handler.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	addr string
	done chan struct{} // closed once serving ended, at Shutdown or on failure
	err  error         // why serving ended; set before done is closed
	// lines are the listener's warn lines, once a minute per kind:
	// net/http's complaints and being at max connections.
	lines *rateLog
}

// Listen listens on opts.Address and serves the receiver there in the
// background until Shutdown. Listening here, before anything else starts,
// makes a busy port an error of the start that leaves nothing behind.
func (rc *Receiver) Listen(opts ServerOptions) (*Server, error) {
	if opts.MaxConnections < 0 || opts.ReadHeaderTimeout < 0 || opts.ReadTimeout < 0 || opts.IdleTimeout < 0 || opts.MaxHeaderBytes < 0 {
		return nil, fmt.Errorf("receiver: max connections (%d), read header timeout (%s), read timeout (%s), idle timeout (%s) and max header bytes (%d) must not be negative",
			opts.MaxConnections, opts.ReadHeaderTimeout, opts.ReadTimeout, opts.IdleTimeout, opts.MaxHeaderBytes)
	}
	opts.MaxConnections = cmp.Or(opts.MaxConnections, DefaultMaxConnections)
	opts.ReadHeaderTimeout = cmp.Or(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	opts.ReadTimeout = cmp.Or(opts.ReadTimeout, DefaultReadTimeout)
	opts.IdleTimeout = cmp.Or(opts.IdleTimeout, DefaultIdleTimeout)
	opts.MaxHeaderBytes = cmp.Or(opts.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if opts.ToolkitLogger == nil {
		opts.ToolkitLogger = slog.New(slog.DiscardHandler)
	}

	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, err
	}
	lines := newRateLog(level.Warn(rc.logger), rc.now, rc.after)
	limiter := newConnLimiter(ln, opts.MaxConnections, opts.MaxHeaderBytes, &rc.conns, lines, opts.onConn)
	rc.conns.max.Set(float64(opts.MaxConnections))
	s := &Server{
		lines: lines,
		srv: &http.Server{
			Handler:           markServed(rc.Handler()),
			ConnState:         limiter.connState,
			ConnContext:       connContext,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			ReadTimeout:       opts.ReadTimeout,
			IdleTimeout:       opts.IdleTimeout,
			MaxHeaderBytes:    opts.MaxHeaderBytes,
			// net/http's own complaints (TLS handshake errors from scanners
			// and plain-HTTP clients) go through the receiver's logger,
			// once a minute per kind.
			ErrorLog: stdlog.New(httpErrorLog{lines}, "", 0),
		},
		addr: ln.Addr().String(),
		ln:   ln,
		done: make(chan struct{}),
	}
	_ = level.Info(rc.logger).Log("msg", "Receiving live events", "address", s.addr, "tls", opts.WebConfigFile != "",
		"max_connections", opts.MaxConnections)
	webConfig := opts.WebConfigFile
	flagConfig := &web.FlagConfig{WebConfigFile: &webConfig}
	go func() {
		s.err = web.Serve(limiter, s.srv, flagConfig, opts.ToolkitLogger)
		close(s.done)
	}()
	return s, nil
}

// Addr is the address listened on, a port the system chose included.
func (s *Server) Addr() string { return s.addr }

// Done is closed once the server stops serving: at Shutdown, or because
// serving failed (a web config that cannot be used, the listener lost), so
// that the program stops instead of running on with a deaf receiver.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err says why serving stopped once Done is closed: nil after Shutdown.
func (s *Server) Err() error {
	<-s.done
	if errors.Is(s.err, http.ErrServerClosed) {
		return nil
	}
	return s.err
}

// Shutdown stops accepting, waits for requests in flight until ctx ends,
// and closes the listener.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.lines.close()
	if serr := s.Err(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// httpErrorLog takes net/http's error lines. go-kit's StdlibAdapter would
// read "http: TLS handshake error from 127.0.0.1:5000: …" as a file:line
// prefix and mangle it.
type httpErrorLog struct{ lines *rateLog }

func (l httpErrorLog) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	kind, msg := "other", "HTTP errors on the receiver's listener"
	if strings.HasPrefix(line, "http: TLS handshake error") {
		kind, msg = "tls_handshake", "TLS handshake errors on the receiver's listener (plain HTTP, scanners or bad certificates)"
	}
	// The count is of lines since the last one written; err is this one.
	l.lines.log(kind, "msg", msg, "err", line)
	return len(p), nil
}
