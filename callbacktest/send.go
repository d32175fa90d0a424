package callbacktest

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

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The sending half of callback-test: the request as MetaStudio makes it,
// the answer, and what is never printed.

// maxAnswerShown bounds how much of the answer's body is read and printed.
const maxAnswerShown = 2 << 10

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
