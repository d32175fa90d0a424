package metastudio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

// countedCanned is canned that counts the calls it answers.
type countedCanned struct {
	canned
	calls *atomic.Int32
}

func (c countedCanned) RoundTrip(req *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.canned.RoundTrip(req)
}

// FuzzDecodeLiveJobs feeds any 200 body to ListLiveJobs, as the answer to
// every page: it must never panic, make at most the calls Max allows,
// accept only valid JSON within the body limit, and return each job once,
// with an id, no more than Max, and a total no smaller than that; or a
// decode error of its Op.
func FuzzDecodeLiveJobs(f *testing.F) {
	for _, seed := range []string{
		`{"count":2,"smart_live_jobs":[{"job_id":"a","room_id":"r","room_name":"<b>x</b>","state":"PROCESSING","duration":12.5,` +
			`"stream_duration":10,"start_time":"2026-11-28T07:00:00Z","create_time":"2026-11-28T07:00:00Z","lastupdate_time":"2026-11-28T07:00:00Z",` +
			`"error_info":{"error_code":"MSS.1","error_msg":"m"},"used_resource_type":"PERIOD",` +
			`"live_event_callback_config":{"live_event_type_callback_url":"https://h/cb","auth_type":"MSS_A","key":"k","callback_event_type":["X"]}},` +
			`{"job_id":"b","state":"NEW"}]}`,
		`{"count":0}`, `{"count":3}`, `{"count":-1,"smart_live_jobs":[]}`, `{"count":1e3,"smart_live_jobs":[]}`,
		`{"smart_live_jobs":[{"job_id":"a"},{"job_id":"a"},{},null]}`, `{"smart_live_jobs":null}`,
		`{"smart_live_jobs":[{"job_id":1}]}`, `{"smart_live_jobs":[{"duration":"1"}]}`, `{"smart_live_jobs":{}}`,
		`{"count":1,"smart_live_jobs":[]} x`, `[]`, `null`, ``, `{"a":[[[[{}]]]],"smart_live_jobs":[]}`,
	} {
		f.Add([]byte(seed))
	}
	const maxJobs = 150
	f.Fuzz(func(t *testing.T, body []byte) {
		var calls atomic.Int32
		c := NewClient(ClientOptions{Transport: countedCanned{canned{status: http.StatusOK, header: http.Header{}, body: body}, &calls}, MaxBodyBytes: fuzzBodyLimit})
		jobs, total, err := c.ListLiveJobs(context.Background(), fuzzTarget, JobQuery{Max: maxJobs})
		if n := calls.Load(); n < 1 || n > maxJobs/pageLimit+2 {
			t.Fatalf("%d calls", n)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonDecode || e.Op != OpListLiveJobs || !utf8.ValidString(err.Error()) {
				t.Fatalf("error %#v is not a decode *Error of %s", err, OpListLiveJobs)
			}
			if len(body) > fuzzBodyLimit && e.Err.Error() != "response body exceeds 4096 bytes" {
				t.Fatalf("a %d-byte body failed with %v, want the size limit", len(body), err)
			}
			return
		}
		if len(body) > fuzzBodyLimit || !json.Valid(body) {
			t.Fatalf("accepted a body that is over the limit or not JSON: %q", body)
		}
		if len(jobs) > maxJobs || total < len(jobs) {
			t.Fatalf("%d jobs, total %d", len(jobs), total)
		}
		seen := map[string]bool{}
		for _, j := range jobs {
			if j.JobID == "" || seen[j.JobID] {
				t.Fatalf("job id %q empty or repeated", j.JobID)
			}
			seen[j.JobID] = true
			for _, s := range []string{j.JobID, j.RoomID, j.RoomName, j.State, j.ErrorCode, j.ErrorMsg, j.BlockReason, j.UsedResourceType} {
				if !utf8.ValidString(s) {
					t.Fatalf("job field %q is not UTF-8", s)
				}
			}
			if len(j.ErrorMsg) > maxErrorMsgBytes || len(j.ErrorCode) > 64 || len(j.BlockReason) > maxErrorMsgBytes {
				t.Fatalf("error fields not bounded: %d %d %d bytes", len(j.ErrorCode), len(j.ErrorMsg), len(j.BlockReason))
			}
			if j.Callback != nil && j.Callback.AuthType == "" {
				t.Fatal("a callback without its effective auth type")
			}
		}
	})
}
