package inventory

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// benchInventory holds n tenants, each with rooms rooms (every one with
// settings of its own) and jobs PROCESSING jobs and as many failed ones, as
// refreshes would have left them; nothing runs in the background.
func benchInventory(b testing.TB, n, rooms, jobs int) (*Inventory, []*config.Tenant) {
	b.Helper()
	inv := New(newFakeAPI(), Options{})
	b.Cleanup(inv.Close)
	now := time.Now()
	tenants := make([]*config.Tenant, n)
	for i := range tenants {
		t := testTenant(fmt.Sprintf("tenant-%04d", i))
		tenants[i] = t
		inv.limits.observe(t.Target, &metastudio.UserConfig{LiveExitConfig: &metastudio.LiveExitConfig{MaxLiveDuration: intp(4)}})

		var listed []metastudio.Room
		for r := range rooms {
			listed = append(listed, metastudio.Room{RoomID: upstreamID("room", i, r), RoomName: fmt.Sprintf("Room %d of %s", r, t.Name), RoomType: metastudio.RoomNormal, RoomState: metastudio.RoomEnable})
		}
		rv := &roomsView{up: true, lastSuccess: now}
		rv.rooms, rv.index = listedRooms(listed, t.Rooms.MaxRooms, rv)
		for i, r := range rv.rooms {
			r.own = ownSettings(&metastudio.RoomDetail{RepeatCount: intp(-1),
				Exit:     &metastudio.LiveExit{MaxLiveDurationHours: intp(i % 3)},
				Callback: &metastudio.CallbackAuth{AuthType: metastudio.AuthMSSA, URL: "https://hooks.example.com/cb"}})
		}
		var active, failed []metastudio.LiveJob
		for j := range jobs {
			job := metastudio.LiveJob{JobID: upstreamID("job", i, j), RoomID: listed[j%rooms].RoomID, State: metastudio.JobProcessing,
				Duration: 3600, StreamDuration: 3500, StartTime: now.Add(-time.Hour), UsedResourceType: "PERIOD",
				Callback: &metastudio.CallbackAuth{AuthType: metastudio.AuthMSSA, URL: "https://hooks.example.com/cb"}}
			active = append(active, job)
			job.JobID, job.State, job.ErrorCode, job.EndTime = upstreamID("failed", i, j), metastudio.JobFailed, "MSS.00010001", now
			failed = append(failed, job)
		}
		jv := &jobsView{up: true, lastSuccess: now, failed: failedJobs(failed)}
		jv.active, jv.waiting, jv.processing = activeJobs(active)

		w := newWatch(t)
		w.stop = func() {}
		w.servedAt.Store(now.UnixNano())
		w.rooms.Store(rv)
		w.jobs.Store(jv)
		inv.watches[t.Key()] = w
	}
	return inv, tenants
}

// upstreamID is an id as MetaStudio makes them, 32 hex digits that look
// random: ids that share long prefixes would make the registry's sorting
// look dearer than it is.
func upstreamID(kind string, tenant, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", kind, tenant, n))
	return hex.EncodeToString(sum[:16])
}

// BenchmarkServe serves the rooms and jobs of 1,000 tenants with 10 rooms
// and 2 jobs each, as /metrics does: through Families, one family built at
// a time and let go (path=families); all of them at once, through Gatherer
// (path=gatherer); and, for comparison, as /metrics did before either,
// Collector in a registry of its own, merged with the exporter's other
// gatherers by prometheus.Gatherers (path=registry), which checks and sorts
// every series once more.
func BenchmarkServe(b *testing.B) {
	inv, tenants := benchInventory(b, 1000, 10, 2)
	kinds := Kinds{Rooms: true, Jobs: true}
	for _, path := range []struct {
		name   string
		gather func() ([]*dto.MetricFamily, error)
	}{
		{"families", func() ([]*dto.MetricFamily, error) {
			// Each family is counted, then let go, as /metrics writes it;
			// the families returned hold no series, only their counts.
			fs := inv.Families(kinds, nil, tenants...)
			var counted []*dto.MetricFamily
			for i := range fs.Len() {
				mf, err := fs.Build(i)
				if err != nil {
					return nil, err
				}
				if mf != nil {
					counted = append(counted, &dto.MetricFamily{Metric: make([]*dto.Metric, len(mf.Metric))})
				}
			}
			return counted, nil
		}},
		{"gatherer", func() ([]*dto.MetricFamily, error) { return inv.Gatherer(kinds, nil, tenants...).Gather() }},
		{"registry", func() ([]*dto.MetricFamily, error) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(inv.Collector(kinds, nil, tenants...))
			return prometheus.Gatherers{reg}.Gather()
		}},
	} {
		b.Run("path="+path.name, func(b *testing.B) {
			b.ReportAllocs()
			var series int
			for b.Loop() {
				mfs, err := path.gather()
				if err != nil {
					b.Fatal(err)
				}
				series = 0
				for _, mf := range mfs {
					series += len(mf.Metric)
				}
			}
			b.ReportMetric(float64(series), "series/op")
		})
	}
}

// BenchmarkCollect is the const metrics alone: Collector's collection,
// every metric drained from its channel, without gathering them into
// families.
func BenchmarkCollect(b *testing.B) {
	inv, tenants := benchInventory(b, 1000, 10, 2)
	c := inv.Collector(Kinds{Rooms: true, Jobs: true}, nil, tenants...)
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan prometheus.Metric, 1024)
		done := make(chan int)
		go func() {
			n := 0
			for range ch {
				n++
			}
			done <- n
		}()
		c.Collect(ch)
		close(ch)
		<-done
	}
}

// BenchmarkExposition is what serving rooms and jobs adds to a /metrics
// answer: each family built, as BenchmarkServe's path=families builds it,
// then written in the text format through gzip before the next is built,
// as the exporter answers Prometheus. It reports the exposition's size
// before compression.
func BenchmarkExposition(b *testing.B) {
	inv, tenants := benchInventory(b, 1000, 10, 2)
	gz := gzip.NewWriter(io.Discard)
	var text countingWriter
	b.ReportAllocs()
	for b.Loop() {
		text.n = 0
		gz.Reset(io.Discard)
		enc := expfmt.NewEncoder(io.MultiWriter(gz, &text), expfmt.NewFormat(expfmt.TypeTextPlain))
		fs := inv.Families(Kinds{Rooms: true, Jobs: true}, nil, tenants...)
		for i := range fs.Len() {
			mf, err := fs.Build(i)
			if err != nil {
				b.Fatal(err)
			}
			if mf == nil {
				continue
			}
			if err := enc.Encode(mf); err != nil {
				b.Fatal(err)
			}
		}
		if err := gz.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(text.n), "text-bytes/op")
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
