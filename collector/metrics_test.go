package collector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
)

// emittedTenant gathers the families written for one outcome.
type emittedTenant struct {
	t *config.Tenant
	r result
}

func (c *emittedTenant) Gather() ([]*dto.MetricFamily, error) {
	return encoded(&Families{tenants: []*config.Tenant{c.t}, results: []result{c.r}}, nil)
}

// TestEnumSetBoundsUpstreamValues holds a hostile upstream's made-up event
// types to maxUnknownValues series, each label value cut to
// promlabel.MaxLen bytes at a character boundary, with values that become
// equal once cut, or are repeated, counted once.
func TestEnumSetBoundsUpstreamValues(t *testing.T) {
	long := strings.Repeat("A", promlabel.MaxLen)
	// 1 + 64×2 bytes: the cut at promlabel.MaxLen falls inside the last é.
	accented := "x" + strings.Repeat("é", 64)
	c := &emittedTenant{t: testTenant("hostile")}
	c.r.settings.CallbackEvents = []string{
		"RTMP_STREAM_STATE_CHANGE",
		long + "-first", long + "-second",
		accented,
		"U1", "U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8",
	}
	var want strings.Builder
	want.WriteString("# HELP metastudio_live_event_callback_event_enabled 1 if live_event_callback_config.callback_event_type subscribes this event type.\n" +
		"# TYPE metastudio_live_event_callback_event_enabled gauge\n")
	for _, e := range []struct {
		name string
		v    int
	}{
		{"REPLY_COMMAND_FINISH", 0}, {"RTMP_STREAM_STATE_CHANGE", 1}, {"SHOOT_SCRIPT_SWITCH", 0},
		{long, 1}, {"x" + strings.Repeat("é", 63), 1},
		{"U1", 1}, {"U2", 1}, {"U3", 1}, {"U4", 1}, {"U5", 1}, {"U6", 1},
	} {
		fmt.Fprintf(&want, "metastudio_live_event_callback_event_enabled{event_type=%q,tenant=\"hostile\"} %d\n", e.name, e.v)
	}
	if err := testutil.GatherAndCompare(c, strings.NewReader(want.String()), "metastudio_live_event_callback_event_enabled"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(c, "metastudio_live_event_callback_event_enabled"); err != nil || n != 3+maxUnknownValues {
		t.Errorf("%d event series (%v), want %d", n, err, 3+maxUnknownValues)
	}
}
