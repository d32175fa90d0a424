package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/flagvalue"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The test event: a stream of a job that does not exist, already over, so
// that no alert fires and a receiver forgets it after its END retention.
// Its output URL names no real host and carries no stream key.
const (
	testEventID        = "callback-test"
	testEventOutputURL = "rtmp://callback-test.invalid/"
	testEventState     = "END"
)

// maxAnswerShown bounds how much of the answer's body is read and printed.
const maxAnswerShown = 2 << 10

type callbackTestFlags struct {
	configFile string
	tenant     string
	url        string
	timeout    time.Duration
}

// usageError is a command line that names what is not there: exit 2.
type usageError struct{ error }

// callbackTest is the callback-test command: it sends one signed test
// event to a tenant's callback URL, as MetaStudio would, and says what
// came back. Exit 0 on a 2xx answer, 1 otherwise, 2 for a bad command line.
func callbackTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseCallbackTestFlags(args, stdout, stderr)
	if done {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	transport := metastudio.NewTransport(1)
	defer transport.CloseIdleConnections()
	c := &callbackCheck{out: stdout, flags: f, client: metastudio.NewClient(metastudio.ClientOptions{Transport: transport})}
	ok, err := c.run(ctx)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s callback-test: error: %v\n", exporterName, err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s callback-test: %v\n", exporterName, err)
		return 1
	case !ok:
		return 1
	}
	return 0
}

func parseCallbackTestFlags(args []string, stdout, stderr io.Writer) (f callbackTestFlags, code int, done bool) {
	app := kingpin.New(exporterName+" callback-test", "Sends one RTMP_STREAM_STATE_CHANGE test event (room and job "+
		testEventID+", state END) to a tenant's live event callback URL, signed as MetaStudio signs it with the tenant's "+
		"live settings (fetched with its credentials), and prints what was sent and what came back. With the exporter's "+
		"receiver behind the URL the event shows on the status page. Exit 0 on a 2xx answer, 1 otherwise, 2 for a bad command line.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	var exited *int
	app.Terminate(func(c int) { exited = &c })
	app.Flag("config.file", "Tenants config file.").Default("metastudio.yml").StringVar(&f.configFile)
	app.Flag("tenant", "The tenant whose callback to test: a configured tenant's name, or a name a discovery entry finds.").
		Required().StringVar(&f.tenant)
	app.Flag("url", "Send here instead of the tenant's configured callback URL, signed for this URL as MetaStudio would sign it.").
		PlaceHolder("URL").SetValue(&flagvalue.Checked{P: &f.url, Check: checkCallbackURL})
	app.Flag("timeout", "Upper bound of the whole test: fetching the settings and sending the event.").Default("30s").
		SetValue(&flagvalue.Duration{P: &f.timeout, Positive: true})
	flagvalue.NameErrors(app)
	_, err := app.Parse(args)
	switch {
	case exited != nil:
		return f, *exited, true // kingpin printed the help
	case err != nil:
		fmt.Fprintf(stderr, "%s callback-test: error: %v, try --help\n", exporterName, err)
		return f, 2, true
	}
	return f, 0, false
}

// checkCallbackURL accepts an absolute http(s) URL, as MetaStudio posts to.
func checkCallbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL, such as https://mon.example.com:10037/callback/shop")
	}
	return nil
}

// callbackCheck is one run of the command.
type callbackCheck struct {
	out    io.Writer
	flags  callbackTestFlags
	client *metastudio.Client
	// secrets are the values never printed, answers included: the key,
	// the URL's query values and password, and hwSecret once made.
	secrets []string
}

func (c *callbackCheck) printf(format string, a ...any) { fmt.Fprintf(c.out, format, a...) }

// run reports whether the answer was a 2xx; an error is a test that could
// not be made.
func (c *callbackCheck) run(ctx context.Context) (bool, error) {
	cfg, err := config.Load(c.flags.configFile)
	if err != nil {
		return false, err
	}
	t, from, err := c.findTenant(ctx, cfg)
	if err != nil {
		return false, err
	}
	c.printf("Tenant %s: project %s in %s, %s\n", t.Name, t.ProjectID, t.Region, from)

	callCtx, cancel := context.WithTimeout(ctx, t.Timeout)
	uc, err := c.client.GetUserConfig(callCtx, t.Target)
	cancel()
	if err != nil {
		return false, fmt.Errorf("the live settings of tenant %s cannot be fetched from %s: %w%s", t.Name, t.Endpoint, err, requestID(err))
	}
	auth := uc.CallbackAuth()
	key, keyFrom := auth.Key, "the tenant's live settings"
	if t.Callback.Key.IsSet() {
		key, keyFrom = t.Callback.Key, "callback.key in "+c.flags.configFile
	}
	target, targetFrom := auth.URL.Reveal(), "its live settings"
	if c.flags.url != "" {
		target, targetFrom = c.flags.url, "--url"
	}
	c.keep(key.Reveal())
	c.keepURL(target)
	switch {
	case target == "":
		return false, fmt.Errorf("tenant %s has no live event callback URL in its live settings: set one in the MetaStudio console, or give --url to test one first", t.Name)
	case auth.AuthType != metastudio.AuthMSSA && auth.AuthType != metastudio.AuthMSSAHead && auth.AuthType != metastudio.AuthNone:
		return false, fmt.Errorf("tenant %s signs its callbacks with auth_type %s, which callback-test cannot sign (it signs MSS_A, MSS_A_HEAD and NONE) and the exporter's receiver does not verify",
			t.Name, config.QuoteBounded(auth.AuthType))
	case auth.AuthType != metastudio.AuthNone && !key.IsSet():
		return false, fmt.Errorf("tenant %s signs its callbacks with %s but has no key: neither its live settings nor callback.key in %s set one", t.Name, auth.AuthType, c.flags.configFile)
	}
	c.printf("Live settings fetched from %s:\n", t.Endpoint)
	c.printf("  callback URL  %s (from %s)\n", config.RedactURL(target), targetFrom)
	c.printf("  auth type     %s\n", describeAuth(auth.AuthType))
	if auth.AuthType != metastudio.AuthNone {
		c.printf("  key           %s, from %s\n", secret.Redacted, keyFrom)
	}
	return c.send(ctx, auth.AuthType, key, target)
}

// findTenant finds the tenant the flag names: in the file, else in the
// discovery entries' listings, in file order, as the tenant set would.
func (c *callbackCheck) findTenant(ctx context.Context, cfg *config.Config) (*config.Tenant, string, error) {
	name, file := c.flags.tenant, c.flags.configFile
	if t, ok := cfg.Tenant(name); ok {
		return t, "from " + file, nil
	}
	sources := cfg.Discovery()
	if len(sources) == 0 {
		return nil, "", usageError{fmt.Errorf("unknown tenant %s: %s has no tenant of that name (its tenants: %s) and no discovery entry",
			config.QuoteBounded(name), file, tenantNames(cfg))}
	}
	var failed []string
	for i := range sources {
		src := &sources[i]
		listing, err := discovery.List(ctx, c.client, src)
		if err != nil {
			failed = append(failed, fmt.Sprintf("discovery entry %d: %v", src.Index, err))
			continue
		}
		for _, p := range listing.Projects {
			if p.TenantName != name {
				continue
			}
			t, err := cfg.DiscoveredTenant(src, name, p.ProjectID, p.Region)
			if err != nil {
				return nil, "", fmt.Errorf("discovery entry %d lists tenant %s, but it cannot be served: %w", src.Index, name, err)
			}
			return t, fmt.Sprintf("found by discovery entry %d of %s", src.Index, file), nil
		}
	}
	if len(failed) > 0 {
		return nil, "", fmt.Errorf("tenant %s is not in %s's tenants, and the discovery entries that could list it failed: %s",
			config.QuoteBounded(name), file, strings.Join(failed, "; "))
	}
	return nil, "", usageError{fmt.Errorf("unknown tenant %s: neither %s's tenants (%s) nor the projects its %d discovery entries list have that name",
		config.QuoteBounded(name), file, tenantNames(cfg), len(sources))}
}

func tenantNames(cfg *config.Config) string {
	var names []string
	for _, t := range cfg.Tenants() {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func describeAuth(authType string) string {
	switch authType {
	case metastudio.AuthMSSA:
		return "MSS_A: hwSecret and hwTime appended to the URL's query"
	case metastudio.AuthMSSAHead:
		return "MSS_A_HEAD: x-hw-mss-secret and x-hw-mss-time headers"
	}
	return "NONE: unsigned, the URL as it is (any credentials in its query)"
}

// send posts the test event to target and prints the answer.
func (c *callbackCheck) send(ctx context.Context, authType string, key secret.String, target string) (bool, error) {
	body, message := testEventBody()
	req, err := receiver.NewSignedRequest(ctx, authType, key.Reveal(), target, body, time.Now())
	if err != nil {
		return false, fmt.Errorf("the callback URL (from %s) is not a URL a request can go to", config.RedactURL(target))
	}
	c.keep(req.URL.Query().Get("hwSecret"), req.Header.Get("x-hw-mss-secret"))
	c.printf("Sending POST %s\n", config.RedactURL(req.URL.String()))
	switch authType {
	case metastudio.AuthMSSA:
		c.printf("  signature     hwTime=%s, hwSecret=%s in the query\n", req.URL.Query().Get("hwTime"), secret.Redacted)
	case metastudio.AuthMSSAHead:
		c.printf("  signature     x-hw-mss-time: %s, x-hw-mss-secret: %s\n", req.Header.Get("x-hw-mss-time"), secret.Redacted)
	}
	c.printf("  event_type    %s\n  message       %s\n", metastudio.EventRTMPStreamStateChange, message)

	client := &http.Client{
		Transport: newCallbackTransport(),
		// MetaStudio's signature covers the URL, not where a redirect
		// points: a 3xx is an answer to report, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return false, c.transportError(req.URL.Host, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerShown))
	return c.report(resp, answer), nil
}

// testEventBody is the event as MetaStudio posts it: message is the JSON
// object encoded as a string.
func testEventBody() (body []byte, message string) {
	msg, _ := json.Marshal(struct {
		RoomID    string `json:"room_id"`
		JobID     string `json:"job_id"`
		OutputURL string `json:"output_url"`
		State     string `json:"state"`
	}{testEventID, testEventID, testEventOutputURL, testEventState})
	body, _ = json.Marshal(struct {
		EventType string `json:"event_type"`
		Message   string `json:"message"`
	}{metastudio.EventRTMPStreamStateChange, string(msg)})
	return body, string(msg)
}

func newCallbackTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// report prints the answer and whether it took the event.
func (c *callbackCheck) report(resp *http.Response, answer []byte) bool {
	c.printf("Answer: %s\n", resp.Status)
	c.printf("  body          %s\n", c.hide(shownBody(answer)))
	var r struct{ Result, Error string }
	if json.Unmarshal(answer, &r) == nil && r.Result != "" {
		c.printf("  result        %s\n", c.hide(r.Result))
		if r.Error != "" {
			c.printf("  reason        %s\n", c.hide(r.Error))
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		c.printf("  redirect to   %s (not followed: MetaStudio signs the URL it posts to)\n", config.RedactURL(loc))
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		c.printf("OK: the callback URL took the event. With the exporter's receiver behind it, the event is in the status page's recent callbacks, and its stream %s/%s (END) goes after --callback.end-retention.\n",
			testEventID, testEventID)
		return true
	}
	c.printf("FAILED: %s", resp.Status)
	if hint := answerHints[r.Result]; hint != "" {
		c.printf(": %s", hint)
	} else if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		c.printf(": something other than the exporter's receiver answered; check that the proxy or Ingress routes /callback/ to --callback.listen-address")
	}
	c.printf("\n")
	return false
}

// answerHints say what a receiver's refusal means for the console's settings.
var answerHints = map[string]string{
	"bad_signature":        "the receiver verifies with another key or URL than this test signed with: the key in force (callback.key, else the live settings') and the callback URL it holds must be those of MetaStudio's console",
	"expired":              "hwTime is outside the receiver's --callback.max-clock-skew: the clocks of this machine and the receiver differ",
	"unauthenticated":      "the receiver has nothing to verify with: a signing key for MSS_A/MSS_A_HEAD, or credentials in a NONE URL's query",
	"unsupported_auth":     "the receiver does not verify this auth type",
	"unknown_tenant":       "the receiver serves no tenant of this name: the URL's path must be /callback/{tenant} with the name in its config",
	"settings_unavailable": "the receiver cannot fetch the tenant's live settings: check its credentials there (the status page says why)",
	"forward_failed":       "the receiver recorded the event but the tenant's forward_url did not take it",
}

// shownBody is the answer as one bounded line of text.
func shownBody(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "�")), " ")
	if s == "" {
		return "(empty)"
	}
	if len(b) == maxAnswerShown {
		s += " …"
	}
	return s
}

// keep adds values that must not be printed.
func (c *callbackCheck) keep(values ...string) {
	for _, v := range values {
		if v != "" {
			c.secrets = append(c.secrets, v)
		}
	}
}

// keepURL keeps a URL's password and query values: a NONE callback URL
// carries its credentials there.
func (c *callbackCheck) keepURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	if p, ok := u.User.Password(); ok {
		c.keep(p)
	}
	for _, vs := range u.Query() {
		c.keep(vs...)
	}
}

// hide replaces every kept secret in s: an answer may echo the request.
func (c *callbackCheck) hide(s string) string {
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, secret.Redacted)
	}
	return s
}

// transportError says why nothing came back, naming the host and never the
// URL: its query may hold credentials or the signature.
func (c *callbackCheck) transportError(host string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		verify  *tls.CertificateVerificationError
	)
	text := c.hide(err.Error())
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from %s within --timeout=%s", host, c.flags.timeout)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("DNS cannot resolve %s: %s", host, text)
	case errors.As(err, &unknown), errors.As(err, &name), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("TLS with %s failed, its certificate is not accepted: %s", host, text)
	case errors.As(err, &record):
		return fmt.Errorf("TLS with %s failed: it does not speak TLS (an http:// URL, or a port without TLS?): %s", host, text)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("cannot connect to %s: %s", host, text)
	}
	return fmt.Errorf("sending to %s failed: %s", host, text)
}

// requestID is the API's X-Request-Id of a failed call, for support.
func requestID(err error) string {
	var e *metastudio.Error
	if errors.As(err, &e) && e.RequestID != "" {
		return " (X-Request-Id " + e.RequestID + ")"
	}
	return ""
}
