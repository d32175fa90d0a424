package main

import (
	"strings"
	"testing"
	"time"
)

// TestDemoJobWithItsOwnKey: the demo plays the events of a job whose room
// signs them with a key of its own, and the receiver accepts them: the
// stream shows, and no event of demo-safe is refused.
func TestDemoJobWithItsOwnKey(t *testing.T) {
	e := startExporter(t, "--demo")
	const connected = `metastudio_live_stream_state{job_id="job-own-app",output_host="live-push.example.com",room_id="room-own-app",state="CONNECTED",tenant="demo-safe"} 1`
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := e.get(t, "/metrics?collect[]=streams&collect[]=exporter")
		if strings.Contains(body, connected+"\n") {
			for _, refused := range []string{"bad_signature", "expired", "unauthenticated", "unsupported_auth", "bad_request"} {
				if s := `metastudio_exporter_callback_requests_total{result="` + refused + `",tenant="demo-safe"}`; strings.Contains(body, s) {
					t.Errorf("the receiver refused demo-safe's events: %s", s)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job-own-app's stream never showed as connected:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(e.logs.String(), "level=warn") {
		t.Errorf("the demo warned:\n%s", e.logs)
	}
}
