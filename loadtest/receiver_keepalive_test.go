package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Shape of TestReceiverUnderKeepAliveExhaustion: exactly the attack, at
// its real period, against the default --callback.max-connections.
const (
	keepAliveConns    = 1000
	keepAlivePeriod   = 20 * time.Second
	keepAliveSending  = 30 * time.Second // one and a half periods
	keepAliveEventGap = 50 * time.Millisecond
)

// TestReceiverUnderKeepAliveExhaustion runs the exporter as a process with
// the receiver on and --callback.max-connections=1000, and holds 1,000
// keep-alive connections that each send one tiny request every 20 s (well
// inside the 60 s idle timeout), re-opening a connection the receiver
// closed at their next request. Meanwhile signed events arrive each on a
// new connection, as MetaStudio's senders make them. Every signed event
// must be answered 200 accepted; the receiver must have closed idle
// connections to admit them, and said so in its log. The signed events'
// p50, p99 and max latency are reported, not asserted.
func TestReceiverUnderKeepAliveExhaustion(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if testing.Short() {
		t.Skip("builds the exporter and holds its connections for a minute")
	}
	raiseFileLimit(t, 2*keepAliveConns+2000)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	events := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	r := startLiveReceiver(ctx, t, events, "--callback.max-connections=1000")

	// The attack: every slot held by a connection that is idle between two
	// tiny requests, 20 s apart, their requests spread over the period.
	holders := make([]*keepAliveClient, keepAliveConns)
	var opening sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range holders {
		holders[i] = &keepAliveClient{addr: r.cbAddr}
		opening.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			holders[i].tick()
		})
	}
	opening.Wait()
	for _, k := range holders {
		if k.failures > 0 {
			t.Fatalf("opening the holding connections: %v", k.lastErr)
		}
	}
	attackCtx, stopAttack := context.WithCancel(ctx)
	var attack sync.WaitGroup
	start := time.Now()
	for i, k := range holders {
		attack.Go(func() { k.run(attackCtx, start.Add(keepAlivePeriod*time.Duration(i)/keepAliveConns)) })
	}
	t.Logf("holding %d keep-alive connections, each sending a request every %s", keepAliveConns, keepAlivePeriod)

	var times []time.Duration
	var errs []error
	for i := 0; time.Since(start) < keepAliveSending; i++ {
		took, err := r.send(ctx, i)
		times = append(times, took)
		if err != nil {
			errs = append(errs, err)
		}
		time.Sleep(keepAliveEventGap)
	}
	stopAttack()
	attack.Wait()

	var requests, reopened, failed int
	for _, k := range holders {
		requests, reopened, failed = requests+k.requests, reopened+k.reopened, failed+k.failures
	}
	closedIdle, exposed := r.metric(t, `metastudio_exporter_callback_connections_closed_total{reason="idle_at_capacity"}`)
	p50, p99, slowest := latencies(times)
	t.Logf("signed events, each on a new connection: %d sent, %d not accepted; p50 %s, p99 %s, max %s",
		len(times), len(errs), p50, p99, slowest)
	t.Logf("holding connections: %d requests answered, %d connections re-opened after the receiver closed them, %d requests failed",
		requests, reopened, failed)
	t.Logf("the receiver closed %.0f idle connections at capacity", closedIdle)

	if len(errs) > 0 {
		t.Errorf("%d of %d signed events not accepted; first: %v", len(errs), len(times), errs[0])
	}
	if !exposed || closedIdle == 0 {
		t.Errorf("the receiver closed no idle connection at capacity (exposed: %v), so the attack never held every slot", exposed)
	}
	raw, err := os.ReadFile(r.log)
	if err != nil {
		t.Fatal(err)
	}
	const line = `msg="Callback receiver at --callback.max-connections: closed its longest-idle keep-alive connections to admit new ones" max_connections=1000 count=`
	if !strings.Contains(string(raw), line) {
		t.Errorf("the log does not say the receiver is at capacity (%s)", line)
	}
}

// keepAliveClient is one connection of the attack: it sends a tiny request
// now and then on a keep-alive connection, and opens a new one when the
// receiver closed it.
type keepAliveClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader

	requests, reopened, failures int
	lastErr                      error
}

// run ticks at first and every keepAlivePeriod after it until ctx ends,
// then closes the connection.
func (k *keepAliveClient) run(ctx context.Context, first time.Time) {
	defer k.drop()
	for next := first; ; next = next.Add(keepAlivePeriod) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		k.tick()
	}
}

// tick sends one request; if the receiver had closed the connection, it
// opens another and sends it there.
func (k *keepAliveClient) tick() {
	had := k.conn != nil
	err := k.request()
	if err != nil && had {
		k.reopened++
		err = k.request()
	}
	if err != nil {
		k.failures++
		k.lastErr = err
		return
	}
	k.requests++
}

func (k *keepAliveClient) request() error {
	if k.conn == nil {
		c, err := net.DialTimeout("tcp", k.addr, 10*time.Second)
		if err != nil {
			return err
		}
		k.conn, k.br = c, bufio.NewReader(c)
	}
	_ = k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(k.conn, "GET / HTTP/1.1\r\nHost: receiver\r\n\r\n"); err != nil {
		k.drop()
		return err
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		k.drop()
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (k *keepAliveClient) drop() {
	if k.conn != nil {
		_ = k.conn.Close()
		k.conn = nil
	}
}
