package metastudio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// Connection is how a tenant's or a listing's calls reach the upstream: a
// proxy and TLS, as prometheus/common's HTTPClientConfig. The zero value is
// the client's shared transport.
type Connection struct {
	// Config holds the CA, certificate and key inline, so that nothing is
	// read when a transport is built. It is shared and never changed.
	Config *commoncfg.HTTPClientConfig
	// Digest is the same for two Connections exactly when their Configs
	// say the same; it must be set with Config. Connections of one digest
	// share one transport, and so one connection pool.
	Digest string
}

// String keeps the inline key and the proxy's credentials and headers out
// of anything that prints a Target.
func (c Connection) String() string {
	if c.Config == nil {
		return "default connection"
	}
	return "connection " + c.Digest
}

// Transport settings of every transport the client uses: the shared one
// and one per Connection. No response header timeout: every call's context
// bounds it instead.
const (
	dialTimeout         = 5 * time.Second
	dialKeepAlive       = 30 * time.Second
	idleConnTimeout     = 90 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
)

func newDialer() *net.Dialer {
	return &net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive}
}

// NewTransport returns the keep-alive transport shared by the tenants
// without an http_client block, with the proxy from the environment.
// maxConnsPerHost bounds both the connections to one host and those kept
// idle: the caller's concurrency bound keeps no more calls in flight, so
// more connections would only be opened and closed again.
func NewTransport(maxConnsPerHost int) *http.Transport {
	t := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       newDialer().DialContext,
		ForceAttemptHTTP2: true,
		IdleConnTimeout:   idleConnTimeout,
	}
	bound(t, maxConnsPerHost)
	return t
}

// bound applies the per-host bounds and handshake timeout shared by every
// transport of the client.
func bound(t *http.Transport, maxConnsPerHost int) {
	t.MaxConnsPerHost = maxConnsPerHost
	t.MaxIdleConnsPerHost = maxConnsPerHost
	t.TLSHandshakeTimeout = tlsHandshakeTimeout
}

// route is one transport and what the client needs of it.
type route struct {
	rt http.RoundTripper
	// client sends IAM's calls through rt, refusing redirects: a redirect
	// would resend X-Auth-Token or the password to wherever it points.
	client *http.Client
	// proxy is rt's proxy choice, asked again only to name the proxy in the
	// error of a call that failed; nil when rt is not an *http.Transport.
	proxy func(*http.Request) (*url.URL, error)
}

func newRoute(rt http.RoundTripper) *route {
	r := &route{
		rt: rt,
		client: &http.Client{
			Transport: rt,
			// The API never redirects, so a 3xx is reported as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if t, ok := rt.(*http.Transport); ok {
		r.proxy = t.Proxy
	}
	return r
}

type closeIdler interface{ CloseIdleConnections() }

func (r *route) closeIdle() {
	if c, ok := r.rt.(closeIdler); ok {
		c.CloseIdleConnections()
	}
}

// routes holds the shared transport and one transport per Connection
// digest, built on first use. 15,000 tenants under one defaults block
// share one transport and its pool.
type routes struct {
	shared   *route
	maxConns int

	mu       sync.RWMutex
	byDigest map[string]*route
}

func (rs *routes) get(conn Connection) (*route, error) {
	if conn.Config == nil {
		return rs.shared, nil
	}
	rs.mu.RLock()
	r := rs.byDigest[conn.Digest]
	rs.mu.RUnlock()
	if r != nil {
		return r, nil
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.byDigest[conn.Digest]; r != nil {
		return r, nil
	}
	t, err := buildTransport(conn.Config, rs.maxConns)
	if err != nil {
		return nil, err
	}
	if rs.byDigest == nil {
		rs.byDigest = map[string]*route{}
	}
	r = newRoute(t)
	rs.byDigest[conn.Digest] = r
	return r, nil
}

// buildTransport has prometheus/common build the transport of cfg, with
// the dialer, idle timeout and per-host bounds of the shared one.
func buildTransport(cfg *commoncfg.HTTPClientConfig, maxConns int) (*http.Transport, error) {
	rt, err := commoncfg.NewRoundTripperFromConfig(*cfg, "metastudio",
		commoncfg.WithDialContextFunc(newDialer().DialContext),
		commoncfg.WithIdleConnTimeout(idleConnTimeout))
	if err != nil {
		return nil, err
	}
	// A block of proxy and inline TLS keys only is a bare transport; the
	// library wraps it only for keys the config never passes on.
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("prometheus/common built a %T, not an *http.Transport", rt)
	}
	bound(t, maxConns)
	return t, nil
}

// retain closes and forgets the transports whose digest inUse does not
// report. A call still under way on one finishes; its connection is closed
// when it goes idle. A call that starts later with such a digest (a scrape
// that began before a reload) builds the transport again, until the next
// retain.
func (rs *routes) retain(inUse map[string]bool) {
	rs.mu.Lock()
	var gone []*route
	for d, r := range rs.byDigest {
		if !inUse[d] {
			gone = append(gone, r)
			delete(rs.byDigest, d)
		}
	}
	rs.mu.Unlock()
	for _, r := range gone {
		r.closeIdle()
	}
}

func (rs *routes) closeIdle() {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	rs.shared.closeIdle()
	for _, r := range rs.byDigest {
		r.closeIdle()
	}
}

// RetainConnections keeps the transports of the given Connection digests
// and closes those of every other, so that a reload that drops an
// http_client block leaves no idle connections behind it. A transport kept
// keeps its pool: a reload that leaves a block as it was opens no new
// connections.
func (c *Client) RetainConnections(digests ...string) {
	inUse := make(map[string]bool, len(digests))
	for _, d := range digests {
		inUse[d] = true
	}
	c.routes.retain(inUse)
}

// CloseIdleConnections closes the idle connections of every transport of
// the client, at shutdown.
func (c *Client) CloseIdleConnections() { c.routes.closeIdle() }

// routeError names where a call that got no answer was going: the host,
// and the proxy when one was chosen (its host only: user info in a proxy
// URL is a credential).
type routeError struct {
	host, proxy string
	err         error
}

func (e *routeError) Error() string {
	if e.proxy != "" {
		return "to " + e.host + " through proxy " + e.proxy + ": " + e.err.Error()
	}
	return "to " + e.host + ": " + e.err.Error()
}

func (e *routeError) Unwrap() error { return e.err }

// failed is the *Error of req's round trip that failed with err. The
// caller's own deadline names no route: the call was merely cut short.
func (r *route) failed(op string, req *http.Request, err error) *Error {
	e := transportError(op, err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return e
	}
	re := &routeError{host: hostPort(req.URL), err: e.Err}
	if r.proxy != nil {
		// The transport's own choice, asked again. Environment proxy URLs
		// that do not parse are ignored, not reported, so the cause never
		// quotes one.
		if p, err := r.proxy(req); err == nil && p != nil {
			re.proxy = hostPort(p)
		}
	}
	if re.proxy == "" && namesItsAddress(re.err) {
		return e
	}
	e.Err = re
	return e
}

// namesItsAddress tells the errors that say where the call went already:
// a failed dial, read or write, and a failed DNS lookup. A TLS failure
// names no host.
func namesItsAddress(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// hostPort is u's host and port, the scheme's default port if it names
// none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
