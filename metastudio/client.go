package metastudio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// DefaultMaxBodyBytes bounds a response body when ClientOptions leaves it 0.
const DefaultMaxBodyBytes = 1 << 20

// OpGetUserConfig is the Op of every error from GetUserConfig, and of the
// errors a caller reports for a call it did not make (a scrape deadline).
const OpGetUserConfig = "get user config"

const (
	userConfigPath  = "/smart-live-configs/user-config"
	headerRequestID = "X-Request-Id"
	headerAuthToken = "X-Auth-Token"
	// maxErrorMsgBytes keeps a hostile or chatty upstream from filling log
	// lines with its error_msg.
	maxErrorMsgBytes = 512
)

var errNoCredentials = errors.New("no access key and secret key, and no IAM password")

// Client calls MetaStudio (and IAM for token credentials). It is safe for
// concurrent use and meant to be shared by every tenant.
type Client struct {
	// routes are the transports: the shared one, and one per Connection
	// digest. Calls go to a transport's RoundTrip directly, not through
	// http.Client: they never follow a redirect, keep no cookies and carry
	// their deadline in the context, so http.Client would only add a copy
	// of the headers and an error wrapper to each call; at a thousand
	// tenants per scrape that showed in the allocation profile.
	routes  routes
	maxBody int64
	// maxProjectList bounds IAM's project list, which is streamed rather
	// than read into a buffer: MaxProjectListBytes but in tests.
	maxProjectList int64
	observe        Observer
	now            func() time.Time
	tokens         tokenCache
	// onTokenWait, when set by a test, runs when a caller starts waiting
	// for a shared token fetch, so tests can line callers up without sleeps.
	onTokenWait func()
}

// defaultMaxConnsPerHost is ClientOptions.MaxConnsPerHost when left 0.
const defaultMaxConnsPerHost = 32

// NewClient returns a Client; zero options get the documented defaults.
func NewClient(opts ClientOptions) *Client {
	maxConns := opts.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = defaultMaxConnsPerHost
	}
	shared := opts.Transport
	if shared == nil {
		shared = NewTransport(maxConns)
	}
	c := &Client{
		routes:         routes{shared: newRoute(shared), maxConns: maxConns},
		maxBody:        opts.MaxBodyBytes,
		maxProjectList: MaxProjectListBytes,
		observe:        opts.Observe,
		now:            opts.Now,
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// route returns the transport of conn, or the error of an http_client
// block the library refused (loading checks it, so only a bug gets here).
func (c *Client) route(conn Connection, op string) (*route, *Error) {
	r, err := c.routes.get(conn)
	if err != nil {
		return nil, &Error{Reason: ReasonNetwork, Op: op, Err: fmt.Errorf("http_client: %w", err)}
	}
	return r, nil
}

// GetUserConfig calls ShowSmartLiveUserConfig for t.
func (c *Client) GetUserConfig(ctx context.Context, t Target) (*UserConfig, error) {
	buf, requestID, err := c.callProject(ctx, t, http.MethodGet, userConfigPath, "", nil, OpGetUserConfig)
	if err != nil {
		return nil, err
	}
	defer putBuffer(buf)
	uc, err := decodeUserConfig(buf.Bytes())
	if err != nil {
		return nil, &Error{Reason: ReasonDecode, Op: OpGetUserConfig, RequestID: requestID, Err: err}
	}
	return uc, nil
}

// errNotObject rejects a 200 whose body is null, a list or a scalar.
// json.Unmarshal would take null as a config with every field absent, and
// the tenant would show "unlimited" settings it never chose.
var errNotObject = errors.New("response body is not a JSON object")

func decodeUserConfig(body []byte) (*UserConfig, error) {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] != '{' {
		return nil, errNotObject
	}
	uc := new(UserConfig)
	if err := json.Unmarshal(body, uc); err != nil {
		return nil, err
	}
	return uc, nil
}

// callProject authenticates and sends one call to a route of t's project:
// {endpoint}/v1/{project_id}{suffix}?{rawQuery}. With an IAM token a 401
// may mean the token was revoked before its expiry, so the token is
// dropped, fetched again and the call repeated once.
func (c *Client) callProject(ctx context.Context, t Target, method, suffix, rawQuery string, body []byte, op string) (*bytes.Buffer, string, error) {
	creds := t.Credentials
	if creds.IAM == nil && (creds.AccessKey == "" || !creds.SecretKey.IsSet()) {
		return nil, "", &Error{Reason: ReasonCredentials, Op: op, Err: errNoCredentials}
	}
	target := strings.TrimRight(t.Endpoint, "/") + "/v1/" + url.PathEscape(t.ProjectID) + suffix
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	if creds.IAM == nil {
		return c.send(ctx, t, method, target, body, "", op)
	}
	token, key, err := c.token(ctx, t.Connection, creds.IAM, projectScope(t.ProjectID))
	if err != nil {
		return nil, "", err
	}
	buf, requestID, err := c.send(ctx, t, method, target, body, token, op)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		return buf, requestID, err
	}
	c.tokens.drop(key, token)
	if token, _, err = c.token(ctx, t.Connection, creds.IAM, projectScope(t.ProjectID)); err != nil {
		return nil, "", err
	}
	return c.send(ctx, t, method, target, body, token, op)
}

// send makes one HTTP call and reports it to the observer. The returned
// buffer holds the 2xx body and goes back with putBuffer.
func (c *Client) send(ctx context.Context, t Target, method, target string, body []byte, token secret.String, op string) (*bytes.Buffer, string, error) {
	r, rerr := c.route(t.Connection, op)
	if rerr != nil {
		return nil, "", rerr
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		// The parse error quotes the endpoint; the endpoint is config, not
		// secret, but error text stays free of URLs as a rule.
		return nil, "", &Error{Reason: ReasonNetwork, Op: op, Err: errors.New("invalid endpoint URL")}
	}
	req.Header.Set(headerProject, t.ProjectID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token.IsSet() {
		req.Header.Set(headerAuthToken, token.Reveal())
	} else {
		cr := t.Credentials
		if err := SignRequest(req, body, cr.AccessKey, cr.SecretKey, cr.SecurityToken, c.now()); err != nil {
			return nil, "", &Error{Reason: ReasonCredentials, Op: op, Err: err}
		}
	}

	// A call whose caller has already given up never leaves the process,
	// so it is neither sent nor counted: the request metrics count calls
	// the upstream could have seen.
	if err := ctx.Err(); err != nil {
		return nil, "", transportError(op, err)
	}
	start := time.Now()
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		e := r.failed(op, req, err)
		c.report(t.Name, string(e.Reason), start)
		return nil, "", e
	}
	buf, readErr := readLimited(resp.Body, c.maxBody)
	c.report(t.Name, strconv.Itoa(resp.StatusCode), start)
	requestID := resp.Header.Get(headerRequestID)
	if readErr != nil {
		return nil, requestID, readErr.withOp(op, requestID)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := statusError(op, resp, buf.Bytes(), c.now())
		putBuffer(buf)
		return nil, requestID, e
	}
	return buf, requestID, nil
}

func (c *Client) report(tenant, code string, start time.Time) {
	if c.observe != nil {
		c.observe(tenant, code, time.Since(start).Seconds())
	}
}

// transportError keeps the cause but not the url.Error around it, whose
// text repeats the method and full URL.
func transportError(op string, err error) *Error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	return &Error{Reason: classifyTransport(err), Op: op, Err: cause}
}

// bodyError is a failure while reading a body, before the caller's Op and
// request id are known to readLimited.
type bodyError struct {
	reason Reason
	err    error
}

func (b *bodyError) withOp(op, requestID string) *Error {
	return &Error{Reason: b.reason, Op: op, RequestID: requestID, Err: b.err}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(b *bytes.Buffer) {
	// A buffer grown by one huge answer would pin its memory in the pool.
	if b.Cap() > 256<<10 {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// readLimited reads body into a pooled buffer and closes it. A body within
// the limit is read to EOF so the connection is reused; a longer one is
// abandoned, which closes the connection instead of reading the excess.
func readLimited(body io.ReadCloser, limit int64) (*bytes.Buffer, *bodyError) {
	defer body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		putBuffer(buf)
		return nil, &bodyError{reason: classifyTransport(err), err: err}
	}
	if int64(buf.Len()) > limit {
		putBuffer(buf)
		return nil, &bodyError{reason: ReasonDecode, err: fmt.Errorf("response body exceeds %d bytes", limit)}
	}
	return buf, nil
}

// errorBody covers both error shapes: the gateway's and MetaStudio's flat
// error_code/error_msg, and IAM's Keystone-style nested error object.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	Error     *struct {
		Code    flexString `json:"code"`
		Message string     `json:"message"`
	} `json:"error"`
}

// flexString accepts a JSON string or number: IAM sends its error code as
// either, depending on the gateway in front of it.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n)
	return nil
}

// statusError turns a non-2xx answer into an *Error. Bodies that are not
// JSON (a proxy's HTML page) leave ErrorCode and ErrorMsg empty.
func statusError(op string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		RequestID:  resp.Header.Get(headerRequestID),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
		Op:         op,
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.ErrorCode, e.ErrorMsg = eb.ErrorCode, eb.ErrorMsg
		if eb.Error != nil && e.ErrorCode == "" && e.ErrorMsg == "" {
			e.ErrorCode, e.ErrorMsg = string(eb.Error.Code), eb.Error.Message
		}
	}
	e.ErrorCode = truncate(e.ErrorCode, 64)
	e.ErrorMsg = truncate(e.ErrorMsg, maxErrorMsgBytes)
	e.Reason = reasonForStatus(e.StatusCode, e.ErrorCode)
	return e
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// parseRetryAfter reads delay-seconds or an HTTP date; a date in the past
// means no wait.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
