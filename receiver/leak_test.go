package receiver

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// state writer or a log flush that outlives Close, a connection or a
// listener left open.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
