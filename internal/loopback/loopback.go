// Package loopback finds the tests a 127.0.0.1 address nothing listens on.
package loopback

import (
	"net"
	"testing"
)

// FreeAddress is a 127.0.0.1 address whose port the system just handed
// out and nothing listens on now: for a server that takes its address as a
// flag, so the port has to be picked before it starts (a collision then
// fails its readiness wait loudly, never passes a test by accident), or
// for a call that must be refused.
func FreeAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
