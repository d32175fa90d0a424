package receiver

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Codes of metastudio_exporter_callback_forwards_total besides HTTP statuses.
const (
	forwardTimeout = "timeout"
	forwardNetwork = "network"
)

// newRelayClient is the client relays use unless Options gives one. It
// does not follow redirects: the signature covers forward_url, not where a
// redirect points, and a POST should not wander.
func newRelayClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// relay posts body to the tenant's forward_url, signed with the tenant's
// auth type and key at now, and reports whether the app answered 2xx in
// time. Failures log at warn once a minute per tenant and code, with their
// count. It outlives the caller's request, so that a sender giving up does
// not cut a relay short.
func (rc *Receiver) relay(ctx context.Context, tenant string, s *TenantSettings, body []byte, now time.Time) bool {
	timeout := s.ForwardTimeout
	if timeout <= 0 {
		timeout = rc.forwardTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()

	target := s.ForwardURL.Reveal()
	req, err := newRelayRequest(ctx, s.AuthType, s.Key.Reveal(), target, body, now)
	if err != nil {
		rc.countForward(tenant, forwardNetwork)
		rc.relayFailures.log(tenant+rateKeySep+"url", "msg", "Cannot relay live events: forward_url is not a usable URL", "tenant", tenant)
		return false
	}
	resp, err := rc.client.Do(req)
	if err != nil {
		code := forwardNetwork
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			code = forwardTimeout
		}
		rc.countForward(tenant, code)
		// url.Error's text holds the whole URL, query included: log the
		// cause and the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		rc.relayFailures.log(tenant+rateKeySep+code, "msg", "Relaying live events failed", "tenant", tenant,
			"forward_host", req.URL.Host, "code", code, "err", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
	_ = resp.Body.Close()
	rc.countForward(tenant, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rc.relayFailures.log(tenant+rateKeySep+strconv.Itoa(resp.StatusCode), "msg", "Relaying live events failed", "tenant", tenant,
			"forward_host", req.URL.Host, "code", resp.StatusCode)
		return false
	}
	return true
}

// newRelayRequest signs body for target as MetaStudio would: U is target
// exactly as configured, MSS_A appends hwSecret and hwTime to its query,
// MSS_A_HEAD sends them as headers, NONE sends target as is.
func newRelayRequest(ctx context.Context, authType, key, target string, body []byte, now time.Time) (*http.Request, error) {
	hwTime := strconv.FormatInt(now.Unix(), 16)
	u := target
	var header http.Header
	switch authType {
	case metastudio.AuthMSSA:
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		u = target + sep + paramSecret + "=" + hex.EncodeToString(signature(key, target, hwTime)) + "&" + paramTime + "=" + hwTime
	case metastudio.AuthMSSAHead:
		header = http.Header{}
		header.Set(headerSecret, hex.EncodeToString(signature(key, target, hwTime)))
		header.Set(headerTime, hwTime)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
