package web

import (
	stdlog "log"
	"net/http"
	"time"
)

// Timeouts and limits of the main listener. The exporter reads no request
// body (even POST /-/reload ignores it), so ReadTimeout only ever bounds
// reading a request, never serving it: a slow /metrics scrape is not cut
// by it. There is deliberately no WriteTimeout: it would cut a scrape that
// takes longer, and a scrape is bounded already by Prometheus' timeout
// header (less --scrape.timeout-offset) and each tenant's timeout.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	// IdleTimeout closes keep-alive connections Prometheus no longer uses;
	// it scrapes at most every few minutes, so a minute keeps a scrape's
	// connection for the next one at the usual intervals.
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds the request line and headers: a quarter of
	// net/http's 1 MiB default, and still room for a /probe URL with a
	// 100 KiB tenant parameter to get its 400 naming the tenant rather
	// than a bare 431.
	MaxHeaderBytes = 256 << 10
)

// NewServer returns the main listener's server for handler; errorLog takes
// net/http's own complaints (TLS handshake errors, say).
func NewServer(handler http.Handler, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
