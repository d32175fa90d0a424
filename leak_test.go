package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// TestDemoRunLeavesNothingBehind: a whole --demo run, with its simulator,
// receiver, live jobs and discovery wiring, ends with no goroutine left
// once run returns.
func TestDemoRunLeavesNothingBehind(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	addr := loopback.FreeAddress(t)
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	logs := &lockedbuffer.Buffer{}
	go func() {
		exited <- run(ctx, []string{"--demo", "--web.listen-address=" + addr, "--callback.listen-address=127.0.0.1:0"}, io.Discard, logs)
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	// Until the live jobs' first event has been taken: the run stops with
	// its jobs, receiver and settings lookups all having worked.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/metrics?collect[]=streams")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "metastudio_live_stream_state{") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live stream of the demo within 30s:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not stop within 10s")
	}
	goleak.VerifyNone(t, ignore)
}
