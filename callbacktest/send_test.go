package callbacktest

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"
)

// TestCallbackTestTransportErrors: what no answer came back for is said
// with the host, never the URL, whose query holds the signature.
func TestCallbackTestTransportErrors(t *testing.T) {
	c := &callbackCheck{flags: callbackTestFlags{timeout: 30 * time.Second}}
	c.keep("sig-SECRET")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Post", URL: "https://mon.example.com/callback/shop?hwSecret=sig-SECRET",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "mon.example.com", IsNotFound: true}}},
			"DNS cannot resolve mon.example.com: dial tcp: lookup mon.example.com: no such host"},
		{&url.Error{Op: "Post", URL: "https://mon.example.com/callback/shop?hwSecret=sig-SECRET", Err: context.DeadlineExceeded},
			"no answer from mon.example.com within --timeout=30s"},
		{&url.Error{Op: "Post", URL: "https://mon.example.com/x", Err: errors.New("echoed sig-SECRET")},
			"sending to mon.example.com failed: echoed <secret>"},
	} {
		if got := c.transportError("mon.example.com", tc.err).Error(); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}
