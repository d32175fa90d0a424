package main

// The helpers that start the whole program for a test and talk to it.

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// exporter is the whole program, running in-process on a loopback port.
type exporter struct {
	url  string
	logs *lockedbuffer.Buffer
}

func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	args = withTestReceiver(args)
	addr := loopback.FreeAddress(t)
	e := &exporter{url: "http://" + addr, logs: &lockedbuffer.Buffer{}}
	runUntilCleanup(t, append(args, "--web.listen-address="+addr), e.logs, func() bool {
		resp, err := http.Get(e.url + "/-/healthy")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return e
}

// withTestReceiver gives a --demo run, whose receiver would take :10037,
// a port of its own unless args say where the receiver listens.
func withTestReceiver(args []string) []string {
	demo, set := false, false
	for _, a := range args {
		demo = demo || a == "--demo"
		set = set || strings.HasPrefix(a, "--callback.listen-address")
	}
	if demo && !set {
		return append(args, "--callback.listen-address=127.0.0.1:0")
	}
	return args
}

// runUntilCleanup runs the whole program in-process until the test ends,
// and returns once ready reports that it serves.
func runUntilCleanup(t *testing.T, args []string, logs *lockedbuffer.Buffer, ready func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, args, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("exporter did not shut down within 10s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case code := <-exited:
			t.Fatalf("exporter exited with %d before serving:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter did not serve within 30s:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do returns status and body of a request to the exporter.
func (e *exporter) do(t *testing.T, method, path string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	code, body := send(t, http.DefaultClient, req)
	if code == 0 {
		t.Fatal(body)
	}
	return code, body
}

// send sends req with client and returns the answer's status and body, or
// 0 and the error's text when no answer came.
func send(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (e *exporter) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
