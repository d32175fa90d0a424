package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log/level"
)

// result is the outcome of one callback request: a label value of
// metastudio_exporter_callback_requests_total and the answer's "result".
type result string

const (
	resultAccepted            result = "accepted"
	resultDuplicate           result = "duplicate"
	resultBadRequest          result = "bad_request"
	resultBadSignature        result = "bad_signature"
	resultExpired             result = "expired"
	resultUnauthenticated     result = "unauthenticated"
	resultUnsupportedAuth     result = "unsupported_auth"
	resultUnknownTenant       result = "unknown_tenant"
	resultTooLarge            result = "too_large"
	resultSettingsUnavailable result = "settings_unavailable"
	resultForwardFailed       result = "forward_failed"
	resultMethodNotAllowed    result = "method_not_allowed"
)

func (r result) status() int {
	switch r {
	case resultAccepted, resultDuplicate:
		return http.StatusOK
	case resultBadRequest:
		return http.StatusBadRequest
	case resultBadSignature, resultExpired, resultUnauthenticated, resultUnsupportedAuth:
		return http.StatusUnauthorized
	case resultUnknownTenant:
		return http.StatusNotFound
	case resultTooLarge:
		return http.StatusRequestEntityTooLarge
	case resultSettingsUnavailable:
		return http.StatusServiceUnavailable
	case resultForwardFailed:
		return http.StatusBadGateway
	case resultMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// rejected results are refusals of the request itself; a failed relay
// is logged where it happens.
func (r result) rejected() bool {
	return r != resultAccepted && r != resultDuplicate && r != resultForwardFailed
}

// refetchable results are those fresh settings could turn around: a rotated
// key, new URL credentials, a changed auth type. An expired hwTime is not.
func (r result) refetchable() bool {
	return r == resultBadSignature || r == resultUnauthenticated || r == resultUnsupportedAuth
}

// Fixed texts of answers that are not about verification.
const (
	detailTooLarge      = "the body is over 64 KiB"
	detailReadFailed    = "the body could not be read"
	detailUnknownTenant = "no such tenant; the path is /callback/{tenant}"
	detailNoSettings    = "the tenant's live settings cannot be fetched now; retry later"
	detailForward       = "the event was recorded but forward_url did not take it; retry"
	detailMethod        = "only POST is allowed"
)

// callbackPrefix is the path every callback is posted under.
const callbackPrefix = "/callback/"

// helloText answers GET /, so that a user can check from a browser that an
// Ingress or load balancer reaches the receiver.
const helloText = "metastudio_exporter live-event receiver: MetaStudio posts events to POST /callback/{tenant}\n"

// Handler serves POST /callback/{tenant}, and GET / with a line saying so.
// Every other path is unknown_tenant, counted with tenant="".
func (rc *Receiver) Handler() http.Handler { return http.HandlerFunc(rc.serveCallback) }

func (rc *Receiver) serveCallback(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = io.WriteString(w, helloText)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, callbackPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		rc.answer(w, "", "", resultUnknownTenant, detailUnknownTenant)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.answer(w, "", "", resultMethodNotAllowed, detailMethod)
		return
	}
	ctx := r.Context()
	settings, err := rc.settings(ctx, name, rc.now())
	if errors.Is(err, ErrUnknownTenant) {
		rc.answer(w, "", "", resultUnknownTenant, detailUnknownTenant)
		return
	}
	tenant := name // a tenant from here on: safe as a label value
	if err != nil {
		_ = level.Debug(rc.logger).Log("msg", "No settings to verify a callback with", "tenant", tenant, "err", err)
		rc.answer(w, tenant, "", resultSettingsUnavailable, detailNoSettings)
		return
	}

	body, res, detail := readBody(w, r)
	if res != "" {
		rc.answer(w, tenant, "", res, detail)
		return
	}

	now := rc.now()
	v, ev, problem := rc.verifyRequest(ctx, tenant, &settings, r, body, now)
	if v.result != "" {
		rc.answer(w, tenant, "", v.result, v.detail)
		return
	}
	if problem != "" {
		rc.answer(w, tenant, "", resultBadRequest, problem)
		return
	}
	res = rc.apply(ctx, tenant, &settings, v, &ev, body, now)
	switch res {
	case resultForwardFailed:
		rc.answer(w, tenant, ev.typeLabel, res, detailForward)
	case resultUnknownTenant: // removed while the request was in flight
		rc.answer(w, "", "", res, detailUnknownTenant)
	default:
		rc.answer(w, tenant, ev.typeLabel, res, "")
	}
}

// verifyRequest verifies r, whose body is body, and parses the body: the
// event, and problem, "" when it is usable. The order of the steps decides
// what a sender learns, and keeps the answers as they were before jobs
// had keys of their own:
//
//  1. The tenant's settings verify r: the event is the tenant's. Jobs that
//     run with the tenant's callback are signed with its key.
//  2. If they refuse it in a way other settings could change (not an
//     expired hwTime), the body is parsed for its job_id. A job the
//     tenant's live jobs hold with a callback of its own (listed again if
//     they do not hold it, at most once per 30 s per tenant) verifies r
//     with that callback, and its verdict is the answer: the tenant's key
//     does not sign that job's events, so a rotated tenant key is no
//     reason to call the API.
//  3. Otherwise, as for every request before: the tenant's settings are
//     refetched (at most once per 30 s) and verify r again.
//
// A body is judged only once its request is verified: one that does not
// parse or names no job goes from 1 to 3, so a sender that cannot sign is
// refused (401) as before, and never told what is wrong with its body.
func (rc *Receiver) verifyRequest(ctx context.Context, tenant string, settings *TenantSettings, r *http.Request, body []byte, now time.Time) (verdict, event, string) {
	v := verify(settings, r, now, rc.skew)
	if v.result == "" {
		ev, problem := parseEvent(body)
		return v, ev, problem
	}
	if !v.result.refetchable() {
		return v, event{}, ""
	}
	ev, problem := parseEvent(body)
	if ev.jobID != "" {
		if cb := rc.jobCallback(ctx, tenant, ev.jobID, now); cb != nil {
			job := *settings
			job.AuthType, job.Key, job.CallbackURL = cb.AuthType, cb.Key, cb.CallbackURL
			return verify(&job, r, now, rc.skew), ev, problem
		}
	}
	return rc.refetchAndVerify(ctx, tenant, settings, r, v, now), ev, problem
}

// refetchAndVerify refetches tenant's settings into settings, if its
// refetch slot is free, and verifies r again; else v stands.
func (rc *Receiver) refetchAndVerify(ctx context.Context, tenant string, settings *TenantSettings, r *http.Request, v verdict, now time.Time) verdict {
	fresh, err := rc.refetch(ctx, tenant, now)
	if errors.Is(err, errRefetchNotNow) {
		return v
	}
	if err != nil {
		_ = level.Debug(rc.logger).Log("msg", "Cannot refetch settings after a failed verification", "tenant", tenant, "err", err)
		return v
	}
	*settings = fresh
	return verify(settings, r, now, rc.skew)
}

// apply records a verified event unless it is a replay, relays it if the
// tenant has a forward_url and it was not relayed yet, and says what to
// answer.
func (rc *Receiver) apply(ctx context.Context, tenant string, settings *TenantSettings, v verdict, ev *event, body []byte, now time.Time) result {
	forwarding := settings.ForwardURL.IsSet()
	if !v.signed {
		// NONE carries no time and neither do MetaStudio's bodies: a
		// repeated body is a real repeat (a stream that drops and
		// recovers sends the same CONNECTED body twice), never a
		// duplicate. Its time is its receipt.
		if !rc.record(tenant, ev, now.UnixMilli(), now) {
			return resultUnknownTenant
		}
		if forwarding && !rc.relay(ctx, tenant, settings, body, now) {
			return resultForwardFailed
		}
		return resultAccepted
	}

	key := newReplayKey(tenant, v.hwTime, body)
	expiresMs := v.atMs + rc.skew.Milliseconds() + 1000 // past it, the request is expired anyway
	kind, relay := rc.replay.claim(tenant, key, now.UnixMilli(), expiresMs, forwarding)
	switch kind {
	case claimDuplicate:
		return resultDuplicate
	case claimWait:
		// The first copy is being relayed: the app must get one copy, and
		// this sender must learn whether it did.
		select {
		case <-relay.done:
		case <-ctx.Done():
			return resultForwardFailed // nobody reads the answer
		}
		if rc.replay.outcome(relay) {
			return resultDuplicate
		}
		return resultForwardFailed
	case claimRelayAgain:
		ok := rc.relay(ctx, tenant, settings, body, now)
		rc.replay.finish(key, ok)
		if !ok {
			return resultForwardFailed
		}
		return resultDuplicate
	}
	if !rc.record(tenant, ev, v.atMs, now) {
		rc.replay.forget(key)
		return resultUnknownTenant
	}
	if forwarding {
		ok := rc.relay(ctx, tenant, settings, body, now)
		rc.replay.finish(key, ok)
		if !ok {
			return resultForwardFailed
		}
	}
	return resultAccepted
}

// readBody reads at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, result, string) {
	if r.ContentLength > maxBodyBytes {
		return nil, resultTooLarge, detailTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, resultTooLarge, detailTooLarge
		}
		return nil, resultBadRequest, detailReadFailed
	}
	return body, "", ""
}

// answerBody is every answer: the result, and for a refusal why.
type answerBody struct {
	Result result `json:"result"`
	Error  string `json:"error,omitempty"`
}

// rateKeySep separates a tenant from the rest of a rateLog key; a tenant
// name cannot hold it.
const rateKeySep = "\x00"

// answer counts, remembers and logs the request and writes the answer.
// tenant is "" for requests not attributable to a tenant; eventType is ""
// before the body is parsed. A refusal logs at debug every time, and at
// warn once a minute per tenant and result with how many there were, so
// that a misconfigured console shows at the default level.
func (rc *Receiver) answer(w http.ResponseWriter, tenant, eventType string, res result, detail string) {
	rc.mu.Lock()
	if tenant != "" && !rc.source.Serves(tenant) {
		// Removed while the request was in flight: Retain has deleted
		// the tenant's series, and no request brings them back.
		tenant, eventType = "", ""
	}
	rc.counters.count(rc.counters.requests, tenant, string(res))
	rc.recent.add(CallbackRecord{Time: rc.now(), Tenant: tenant, EventType: eventType, Result: string(res)})
	rc.mu.Unlock()
	kv := []any{"msg", "Callback", "result", res}
	if tenant != "" {
		kv = append(kv, "tenant", tenant)
	}
	if eventType != "" {
		kv = append(kv, "event_type", eventType)
	}
	if detail != "" {
		kv = append(kv, "reason", detail)
	}
	_ = level.Debug(rc.logger).Log(kv...)
	if res.rejected() {
		rc.rejections.log(tenant+rateKeySep+string(res),
			"msg", "Callbacks rejected", "tenant", tenant, "result", res, "reason", detail)
	}

	b, _ := json.Marshal(answerBody{Result: res, Error: detail})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(res.status())
	_, _ = w.Write(b)
}
