package receiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
)

// fuzzTenants are the tenants FuzzCallbackRequest picks from by index.
var fuzzTenants = []string{"mss", "head", "none", "open", "openok", "nokey", "meituan", "down", "nope", ""}

var allResults = []result{
	resultAccepted, resultDuplicate, resultBadRequest, resultBadSignature, resultExpired,
	resultUnauthenticated, resultUnsupportedAuth, resultUnknownTenant, resultTooLarge,
	resultSettingsUnavailable, resultForwardFailed, resultMethodNotAllowed,
}

var allDetails = []string{
	"", detailNoKey, detailMissingQuery, detailMissingHead, detailBadTime, detailBadSecret, detailMismatch,
	detailExpired, detailDecimalTime, detailNoURLCreds, detailURLCreds, detailUnsupported, detailTooLarge, detailReadFailed,
	detailUnknownTenant, detailNoSettings, detailForward, detailMethod,
	problemNotJSON, problemNoEventType, problemMessage, problemRoomOrJobIDs,
}

// FuzzCallbackRequest drives the parser and the verifiers with arbitrary
// requests, validly signed or not: with the tenant's settings, or, for
// tenant mss at an odd offset, with the key of job "j", whose room has a
// callback of its own. Every answer must be one of the fixed answers with
// its own status, every request counted once, and the exposition must
// stay valid.
func FuzzCallbackRequest(f *testing.F) {
	f.Add(uint8(0), true, int16(0), "", "", []byte(rtmpBody("r", "j", "live.example.com", "CONNECTED")))
	f.Add(uint8(1), true, int16(0), "", "", []byte(switchBody("r", "j", 3)))
	f.Add(uint8(2), true, int16(0), "x=1", "", []byte(eventBody("REPLY_COMMAND_FINISH", map[string]any{"room_id": 1, "job_id": "j"})))
	f.Add(uint8(0), true, int16(400), "", "", []byte(rtmpBody("r", "j", "h", "END")))
	f.Add(uint8(0), false, int16(0), "hwSecret=00&hwTime=zz", "00", []byte(`{"event_type":"X","message":"{}"}`))
	f.Add(uint8(3), false, int16(0), "", "", []byte(`{"event_type":"RTMP_STREAM_STATE_CHANGE","message":{"room_id":"r","job_id":"j","state":"PAUSED","output_url":"::"}}`))
	f.Add(uint8(4), false, int16(0), "", "", []byte(`{"event_type":"SHOOT_SCRIPT_SWITCH","message":"{\"room_id\":\"\\u0000\",\"job_id\":\"\\ud800\",\"shoot_script_sequence_no\":1e400}"}`))
	f.Add(uint8(0), true, int16(-1), "", "", []byte(`{"event_type":"X","message":"null"}`))
	f.Add(uint8(5), false, int16(0), "", "", []byte("\xff\xfe"))
	f.Add(uint8(8), false, int16(0), "%zz", "", []byte(`[]`))
	f.Add(uint8(255), true, int16(0), "", "", []byte(`{}`))
	f.Add(uint8(0), true, int16(1), "", "", []byte(switchBody("r", "j", 1)))
	f.Add(uint8(0), true, int16(3), "", "", []byte(`{"event_type":"X","message":{"job_id":"j"}}`))
	f.Add(uint8(0), true, int16(5), "", "", []byte(`{"event_type":"SHOOT_SCRIPT_SWITCH","message":{"job_id":"j"}}`))

	src := newSource(testTenants())
	src.failing["down"] = true
	src.startJob("mss", "j", roomCallback)
	clock := fakeclock.New(t0)
	rc, err := New(Options{MaxStreams: 20, Now: clock.Now, AfterFunc: clock.AfterFunc}, src)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = rc.Close() })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(rc.StreamCollector(), rc.ReceiverCollector())
	handler := rc.Handler()
	settings := testTenants()

	f.Fuzz(func(t *testing.T, tenantIdx uint8, signIt bool, offsetSeconds int16, query, hdr string, body []byte) {
		clock.Advance(time.Second)
		tenant := fuzzTenants[int(tenantIdx)%len(fuzzTenants)]
		method := http.MethodPost
		if tenantIdx >= 200 {
			method = http.MethodGet
		}
		req := httptest.NewRequest(method, "/callback/"+tenant, bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set(hdr, hdr) // arbitrary header names and values, hwSecret's included
		if signIt {
			s := settings[tenant]
			at := clock.Now().Add(time.Duration(offsetSeconds) * time.Second)
			if tenant == "mss" && offsetSeconds%2 != 0 {
				s = TenantSettings{AuthType: roomCallback.AuthType, Key: roomCallback.Key, CallbackURL: roomCallback.CallbackURL}
			}
			switch s.AuthType {
			case "MSS_A":
				req.URL.RawQuery = signedQuery(s.Key.Reveal(), s.CallbackURL.Reveal(), at) + "&" + query
			case "MSS_A_HEAD":
				sec, tm := sign(s.Key.Reveal(), s.CallbackURL.Reveal(), at)
				req.Header.Set(headerSecret, sec)
				req.Header.Set(headerTime, tm)
			case "NONE":
				req.URL.RawQuery = "token=" + urlToken + "&v=2&" + query
			}
		}
		before := totalRequests(rc)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)

		var ans answerBody
		dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ans); err != nil {
			t.Fatalf("answer %q is not an answer: %v", w.Body.String(), err)
		}
		if !slices.Contains(allResults, ans.Result) || !slices.Contains(allDetails, ans.Error) {
			t.Fatalf("unexpected answer %q", w.Body.String())
		}
		if w.Code != ans.Result.status() {
			t.Fatalf("status %d for result %s", w.Code, ans.Result)
		}
		assertNoSecret(t, "answer", w.Body.String())
		if after := totalRequests(rc); after != before+1 {
			t.Fatalf("request counted %v times", after-before)
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("exposition broken: %v", err)
		}
	})
}

// totalRequests is the sum of metastudio_exporter_callback_requests_total.
func totalRequests(rc *Receiver) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		rc.counters.requests.Collect(ch, rc.tenantLabels())
		close(ch)
	}()
	var n float64
	for m := range ch {
		var pb dto.Metric
		_ = m.Write(&pb)
		n += pb.GetCounter().GetValue()
	}
	return n
}
