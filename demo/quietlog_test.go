package demo

import (
	"bytes"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// TestQuietLogger: demo-rejected's warn and error lines become debug lines,
// hidden at --log.level=info and shown as debug at debug; every other line
// is left as it is.
func TestQuietLogger(t *testing.T) {
	lines := func(logger log.Logger) {
		component := log.With(logger, "component", "receiver")
		_ = level.Warn(component).Log("msg", "Callbacks rejected", "tenant", "demo-rejected", "count", 3)
		_ = level.Error(logger).Log("msg", "Fetching tenant config failed", "tenant", "demo-rejected")
		_ = level.Info(logger).Log("msg", "Still here", "tenant", "demo-rejected")
		_ = level.Warn(logger).Log("msg", "Callbacks rejected", "tenant", "demo-safe", "count", 1)
		_ = level.Warn(logger).Log("msg", "No tenant")
		rejected := log.With(logger, "tenant", "demo-rejected")
		_ = level.Warn(rejected).Log("msg", "From a context")
		_ = level.Warn(log.With(logger, "tenant", "demo-risky")).Log("msg", "Another context")
	}
	for _, tc := range []struct {
		allow level.Option
		want  string
	}{
		{level.AllowInfo(), `level=info msg="Still here" tenant=demo-rejected
level=warn msg="Callbacks rejected" tenant=demo-safe count=1
level=warn msg="No tenant"
level=warn tenant=demo-risky msg="Another context"
`},
		{level.AllowDebug(), `level=debug component=receiver msg="Callbacks rejected" tenant=demo-rejected count=3
level=debug msg="Fetching tenant config failed" tenant=demo-rejected
level=info msg="Still here" tenant=demo-rejected
level=warn msg="Callbacks rejected" tenant=demo-safe count=1
level=warn msg="No tenant"
level=debug tenant=demo-rejected msg="From a context"
level=warn tenant=demo-risky msg="Another context"
`},
	} {
		var buf bytes.Buffer
		lines(QuietLogger(level.NewFilter(log.NewLogfmtLogger(&buf), tc.allow)))
		if got := buf.String(); got != tc.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
		}
	}
}
