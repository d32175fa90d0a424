package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/web"
)

// TestCallbackJournal: every answer is kept with the tenant and event type
// as the receiver counts them, newest first and at most 100; a tenant's
// last event is its last accepted one; the handler still reads the whole
// body and the client gets the whole answer.
func TestCallbackJournal(t *testing.T) {
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	j := newCallbackJournal()
	j.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	// A stand-in receiver: the result is in the query, the answer's shape
	// is the receiver's.
	h := j.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"result":%q,"error":"read %d bytes"}`, r.URL.Query().Get("result"), len(body))
	}))
	post := func(path, body string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		return rec.Body.String()
	}
	event := `{"event_type":"RTMP_STREAM_STATE_CHANGE","message":"{\"stream_key\":\"sk-SECRET\"}"}`
	if got, want := post("/callback/shop?result=accepted&hwSecret=SECRET", event), fmt.Sprintf(`{"result":"accepted","error":"read %d bytes"}`, len(event)); got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	post("/callback/shop?result=duplicate", event)
	post("/callback/shop?result=bad_signature", event)
	post("/callback/shop?result=accepted", `{"event_type":"NEW_KIND","message":"{}"}`)
	post("/callback/nobody?result=unknown_tenant", event)
	post("/callback/other?result=forward_failed", `{"event_type":"SHOOT_SCRIPT_SWITCH","message":"{}"}`)

	var got []string
	for _, c := range j.Recent() {
		got = append(got, fmt.Sprintf("%s %s %s %s", c.Time.Format("05"), c.Tenant, c.EventType, c.Result))
	}
	want := []string{
		"11 other SHOOT_SCRIPT_SWITCH forward_failed",
		"10   unknown_tenant",
		"09 shop other accepted",
		"08 shop  bad_signature",
		"07 shop RTMP_STREAM_STATE_CHANGE duplicate",
		"06 shop RTMP_STREAM_STATE_CHANGE accepted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if text := fmt.Sprint(j.Recent()); strings.Contains(text, "SECRET") {
		t.Errorf("the journal keeps a secret: %s", text)
	}
	if got := j.LastEvent("shop").Format("05"); got != "09" {
		t.Errorf("shop's last event at :%s, want :09", got)
	}
	if !j.LastEvent("other").IsZero() {
		t.Error("a relay that failed counts as the tenant's last event; the receiver answered 502")
	}
	j.retain([]string{"other"})
	if !j.LastEvent("shop").IsZero() {
		t.Error("a tenant no longer served keeps its last event")
	}

	for range 200 {
		post("/callback/shop?result=accepted", event)
	}
	if r := j.Recent(); len(r) != web.MaxRecentCallbacks || !r[0].Time.Equal(clock) || !r[99].Time.Equal(clock.Add(-99*time.Second)) {
		t.Errorf("%d kept, newest %s, oldest %s; want the last 100", len(r), r[0].Time, r[len(r)-1].Time)
	}
}
