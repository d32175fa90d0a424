package metastudio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fullJobsPage is a page of 100 live jobs as the API answers it, every
// field set, about 60 kB.
func fullJobsPage() []byte {
	var b bytes.Buffer
	b.WriteString(`{"count":100,"smart_live_jobs":[`)
	for i := range pageLimit {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"job_id":"%032x","room_id":"%032x","room_name":"Morning show %d","state":"PROCESSING",`+
			`"duration":5700.125,"start_time":"2026-11-28T06:25:00Z","end_time":"","error_info":{"error_code":"","error_msg":""},`+
			`"create_time":"2026-11-28T06:24:58Z","lastupdate_time":"2026-11-28T07:59:30Z","rtc_room_info":null,`+
			`"live_event_report_url":"https://metastudio.example/report/%d",`+
			`"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/shop?team=a",`+
			`"auth_type":"MSS_A_HEAD","key":"0123456789abcdef0123456789abcdef","callback_event_type":["SHOOT_SCRIPT_SWITCH","RTMP_STREAM_STATE_CHANGE"]},`+
			`"stream_duration":5688.5,"block_reason":"","cover_url":"https://obs.example/cover/%d.png","used_resource_type":"PERIOD","is_ai_mark_on":true}`,
			i, i+1<<40, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// fullRoomsPage is a page of 100 rooms as the API answers it.
func fullRoomsPage() []byte {
	var b bytes.Buffer
	b.WriteString(`{"count":100,"smart_live_rooms":[`)
	for i := range pageLimit {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"room_id":"%032x","project_id":"0123456789abcdef0123456789abcdef","room_name":"Morning show %d",`+
			`"room_type":"NORMAL","room_state":"ENABLE","view_mode":"VERTICAL","error_info":{"error_code":"","error_msg":""},`+
			`"room_description":"daily","cover_url":"https://obs.example/cover/%d.png","thumbnail":"https://obs.example/thumb/%d.png",`+
			`"model_infos":[{"model_asset_id":"%032x","asset_name":"anchor"}],"create_time":"2026-11-01T08:00:00Z","update_time":"2026-11-27T08:00:00Z",`+
			`"last_job_start_time":"2026-11-28T06:25:00Z","last_job_end_time":"","last_job_status":"PROCESSING","priv_data":"","confirm_state":"CONFIRMED"}`,
			i, i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkDecodeLiveJobsPage is the decoding of one full page, as
// ListLiveJobs does it: entries into wire structs, then into LiveJobs.
func BenchmarkDecodeLiveJobsPage(b *testing.B) {
	body := fullJobsPage()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	jobs := make([]LiveJob, 0, pageLimit)
	for b.Loop() {
		jobs = jobs[:0]
		_, err := decodeListPage(json.NewDecoder(bytes.NewReader(body)), "smart_live_jobs", func(w *wireJob) { jobs = append(jobs, w.job()) })
		if err != nil || len(jobs) != pageLimit {
			b.Fatal(err, len(jobs))
		}
	}
}

// BenchmarkDecodeRoomsPage is the same for a page of rooms.
func BenchmarkDecodeRoomsPage(b *testing.B) {
	body := fullRoomsPage()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rooms := make([]Room, 0, pageLimit)
	for b.Loop() {
		rooms = rooms[:0]
		_, err := decodeListPage(json.NewDecoder(bytes.NewReader(body)), "smart_live_rooms", func(w *wireRoom) { rooms = append(rooms, w.room()) })
		if err != nil || len(rooms) != pageLimit {
			b.Fatal(err, len(rooms))
		}
	}
}

// BenchmarkListLiveJobs is one whole ListLiveJobs of a full page over
// loopback HTTP: signing, the round trip, the body read and the decoding.
func BenchmarkListLiveJobs(b *testing.B) {
	body := fullJobsPage()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	c := NewClient(ClientOptions{})
	tg := akTarget(srv.URL)
	b.ReportAllocs()
	for b.Loop() {
		jobs, _, err := c.ListLiveJobs(context.Background(), tg, JobQuery{Max: pageLimit})
		if err != nil || len(jobs) != pageLimit {
			b.Fatal(err, len(jobs))
		}
	}
}
