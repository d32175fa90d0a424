package conncount

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Calls on one keep-alive connection count once; closing the client's idle
// connections is seen as closes the test can wait for.
func TestCountsAndWaits(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c := Watch(srv.Config)
	srv.Start()
	t.Cleanup(srv.Close)
	get := func(tr *http.Transport) {
		t.Helper()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	shared, other := &http.Transport{}, &http.Transport{}
	for range 3 {
		get(shared)
	}
	get(other)
	if opened, closed := c.Opened(), c.Closed(); opened != 2 || closed != 0 {
		t.Fatalf("4 calls on two transports: %d connections opened, %d closed; want 2 and 0", opened, closed)
	}
	shared.CloseIdleConnections()
	c.WaitClosed(t, 1)
	other.CloseIdleConnections()
	c.WaitClosed(t, 2)
	if opened, closed := c.Opened(), c.Closed(); opened != 2 || closed != 2 {
		t.Errorf("after closing both: %d opened, %d closed; want 2 and 2", opened, closed)
	}
}

// More closes than the channel holds, with nobody waiting: a later wait
// still returns, as the count says.
func TestManyClosesWithoutAWaiter(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c := Watch(srv.Config)
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Start()
	t.Cleanup(srv.Close)
	const calls = 100
	for range calls {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	c.WaitClosed(t, calls)
	if n := c.Opened(); n != calls {
		t.Errorf("%d connections opened, want %d", n, calls)
	}
}
