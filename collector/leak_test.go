package collector

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a call
// that outlives its scrape, a waiter nobody wakes, or a connection left open.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
