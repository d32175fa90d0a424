package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Shape of TestReceiverUnderConnectionFlood. The receiver's idle and read
// timeouts are set through hidden flags (--callback.idle-timeout,
// --callback.read-timeout) to a few seconds, so that the test watches every
// connection being cut without waiting the real 60 s and 30 s.
const (
	floodIdleConns    = 5000
	floodTrickles     = 500
	floodIdleTimeout  = 3 * time.Second
	floodReadTimeout  = 5 * time.Second
	floodCutMargin    = 3 * time.Second
	floodSendDuration = 8 * time.Second
	floodRSSLimit     = 256 << 20
)

// TestReceiverUnderConnectionFlood runs the exporter as a process with the
// receiver on, against the simulator, and holds 5,000 idle keep-alive
// connections and 500 half-sent 64 KiB bodies open against the receiver
// while a signed sender posts events and a scraper reads /metrics.
// --callback.max-connections is raised past the flood, so that the process
// really holds every connection: the worst case for its memory. It asserts
// that every signed event is accepted, that /metrics always answers, that
// every idle and trickling connection is cut within its timeout (plus a
// margin), and that peak RSS (VmHWM) stays under 256 MiB. The events'
// latencies are logged, not bounded: they measure the machine as much as
// the receiver.
func TestReceiverUnderConnectionFlood(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if testing.Short() {
		t.Skip("builds and floods the exporter")
	}
	raiseFileLimit(t, 2*(floodIdleConns+floodTrickles)+1000)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := startLiveReceiver(ctx, t, &http.Client{Timeout: 10 * time.Second}, "--callback.max-connections=8000",
		"--callback.idle-timeout="+floodIdleTimeout.String(), "--callback.read-timeout="+floodReadTimeout.String())
	cbAddr, webAddr := r.cbAddr, r.webAddr
	baseRSS, _ := peakRSS(r.pid)

	// The flood: idle keep-alive connections after one request each, and
	// bodies that stop halfway.
	idle := openIdleConns(t, cbAddr, floodIdleConns)
	trickles := openTrickles(t, cbAddr, floodTrickles)
	t.Logf("holding %d idle connections and %d trickled bodies", len(idle), len(trickles))

	var wg sync.WaitGroup
	var sendTimes, scrapeTimes []time.Duration
	var sendErrs, scrapeErrs []error
	stop := time.Now().Add(floodSendDuration)
	wg.Go(func() {
		for i := 0; time.Now().Before(stop); i++ {
			took, err := r.send(ctx, i)
			sendTimes = append(sendTimes, took)
			if err != nil {
				sendErrs = append(sendErrs, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for time.Now().Before(stop) {
			start := time.Now()
			resp, err := client.Get("http://" + webAddr + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), "metastudio_exporter_callback_requests_total") {
					err = fmt.Errorf("/metrics answered %d", resp.StatusCode)
				}
			}
			scrapeTimes = append(scrapeTimes, time.Since(start))
			if err != nil {
				scrapeErrs = append(scrapeErrs, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	idleCut := waitCut(idle, floodIdleTimeout+floodCutMargin)
	trickleCut := waitCut(trickles, floodReadTimeout+floodCutMargin)
	wg.Wait()
	rss, err := peakRSS(r.pid)
	if err != nil {
		t.Fatal(err)
	}

	slices.Sort(scrapeTimes)
	p50, p99, slowest := latencies(sendTimes)
	t.Logf("signed events: %d sent, %d failed, p50 %s, p99 %s, max %s", len(sendTimes), len(sendErrs), p50, p99, slowest)
	t.Logf("/metrics: %d scrapes, %d failed, max %s", len(scrapeTimes), len(scrapeErrs), scrapeTimes[len(scrapeTimes)-1])
	t.Logf("idle connections: %d of %d cut within %s of their last answer (latest after %s)", idleCut.n, len(idle), floodIdleTimeout+floodCutMargin, idleCut.latest)
	t.Logf("trickled bodies: %d of %d cut within %s of their start (latest after %s)", trickleCut.n, len(trickles), floodReadTimeout+floodCutMargin, trickleCut.latest)
	t.Logf("peak RSS (VmHWM): %.1f MiB; %.1f MiB before the flood", float64(rss)/(1<<20), float64(baseRSS)/(1<<20))

	if len(sendErrs) > 0 {
		t.Errorf("%d signed events not accepted; first: %v", len(sendErrs), sendErrs[0])
	}
	if len(scrapeErrs) > 0 || len(scrapeTimes) == 0 {
		t.Errorf("/metrics failed %d of %d times; first: %v", len(scrapeErrs), len(scrapeTimes), scrapeErrs)
	}
	if idleCut.n != len(idle) || idleCut.latest < floodIdleTimeout/2 {
		t.Errorf("idle connections: %d of %d cut in time, latest after %s", idleCut.n, len(idle), idleCut.latest)
	}
	if trickleCut.n != len(trickles) || trickleCut.latest < floodReadTimeout/2 {
		t.Errorf("trickled bodies: %d of %d cut in time, latest after %s", trickleCut.n, len(trickles), trickleCut.latest)
	}
	if rss >= floodRSSLimit {
		t.Errorf("peak RSS %d MiB, want under 256 MiB", rss>>20)
	}
}

// raiseFileLimit raises this process's soft limit on open files to at
// least n, within the hard limit; the exporter started later inherits it.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the hard limit on open files is %d; this test needs %d", lim.Max, n)
	}
	old := lim.Cur
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lim.Cur = old
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

func startFloodExporter(ctx context.Context, t *testing.T, bin, logPath string, args ...string) *exec.Cmd {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &exporterProcess{cmd: cmd, log: logPath, exited: make(chan struct{})}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			p.url = "http://" + v
		}
	}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			if len(raw) > 4000 {
				raw = raw[len(raw)-4000:]
			}
			t.Logf("exporter log (end):\n%s", raw)
		}
	})
	if err := p.waitReady(ctx); err != nil {
		t.Fatal(p.explain(err))
	}
	return cmd
}

// heldConn is a flood connection and when its clock started: the last
// answer for an idle one, the first byte for a trickle.
type heldConn struct {
	c     net.Conn
	since time.Time
}

// openIdleConns opens n connections that each GET / once and then stay
// idle, as keep-alive clients do.
func openIdleConns(t *testing.T, addr string, n int) []heldConn {
	t.Helper()
	conns := make([]heldConn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: receiver\r\n\r\n"); err != nil {
				errs <- err
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			conns[i] = heldConn{c: c, since: time.Now()}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("opening idle connections: %v", err)
	}
	return conns
}

// openTrickles opens n requests that announce a 64 KiB body, send half of
// it and then a byte a second.
func openTrickles(t *testing.T, addr string, n int) []heldConn {
	t.Helper()
	head := "POST /callback/live HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{\"event_type\":\"" + strings.Repeat("x", 32<<10)
	conns := make([]heldConn, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("opening trickles: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns[i] = heldConn{c: c, since: time.Now()}
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				time.Sleep(time.Second)
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
	}
	return conns
}

type cutResult struct {
	n      int           // connections the server closed in time
	latest time.Duration // the longest any of them was held
}

// waitCut waits for the server to close each connection, at most limit
// after its clock started.
func waitCut(conns []heldConn, limit time.Duration) cutResult {
	var mu sync.Mutex
	var res cutResult
	var wg sync.WaitGroup
	for _, h := range conns {
		wg.Go(func() {
			_ = h.c.SetReadDeadline(h.since.Add(limit))
			_, err := io.Copy(io.Discard, h.c)
			took := time.Since(h.since)
			mu.Lock()
			defer mu.Unlock()
			if err == nil || !isTimeoutErr(err) { // EOF or reset: the server closed it
				res.n++
				res.latest = max(res.latest, took)
			}
		})
	}
	wg.Wait()
	return res
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
