package loopback

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
)

// The address is on 127.0.0.1, refuses a call, and can be listened on.
func TestFreeAddress(t *testing.T) {
	addr := FreeAddress(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("FreeAddress = %q (%v), want 127.0.0.1 and a port", addr, err)
	}
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a call to %s: %v, want it refused", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	defer ln.Close()
	if other := FreeAddress(t); other == addr || !strings.HasPrefix(other, "127.0.0.1:") {
		t.Errorf("FreeAddress while %s is in use = %q", addr, other)
	}
}
