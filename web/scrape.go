package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/seriesorder"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// scrapeHandlers serves /metrics and /probe from one Scraper. The scraping
// itself is the collector package's; this is only the HTTP around it.
type scrapeHandlers struct {
	tenants *tenants.Set
	scraper *collector.Scraper
	// exporter gathers the exporter's own metrics; only /metrics shows them.
	exporter prometheus.Gatherer
	// streams gathers the live streams the receiver tracks, nil when it
	// is off; only /metrics shows them.
	streams prometheus.Gatherer
	// inventory serves the tenants' rooms and live jobs from memory; nil
	// when they are not watched.
	inventory *inventory.Inventory
	// timeoutOffset is subtracted from X-Prometheus-Scrape-Timeout-Seconds.
	timeoutOffset time.Duration
	logger        log.Logger
}

// metrics serves every tenant, their rooms and live jobs, the live streams
// the receiver tracks and the exporter's own metrics. Like node_exporter it
// takes collect[] parameters to serve a part only: collect[]=exporter gives
// the exporter's own metrics without calling the API, for setups that
// scrape the tenants through /probe, collect[]=streams the live streams
// alone, and collect[]=rooms and collect[]=jobs the rooms and live jobs,
// from memory, without a user-config call.
func (h *scrapeHandlers) metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts, err := collectFilter(r.URL.Query()["collect[]"])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		snap := h.tenants.Snapshot()
		// Every tenant family carries the union of the tenants' label
		// names, resolved with the snapshot.
		labelNames := snap.LabelNames()
		inv := h.inventoryOf(inventory.Kinds{Rooms: parts.rooms, Jobs: parts.jobs}, labelNames, snap.Tenants())
		var extra prometheus.Gatherers
		if parts.streams && h.streams != nil {
			extra = append(extra, h.streams)
		}
		if parts.exporter {
			extra = append(extra, h.exporter)
		}
		var tenants []*config.Tenant
		if parts.tenants {
			tenants = snap.Tenants()
		}
		h.serve(w, r, labelNames, tenants, inv, extra)
	})
}

// collectParts are the parts of /metrics a request asks for.
type collectParts struct{ tenants, rooms, jobs, streams, exporter bool }

// collectFilter reads the collect[] parameters; none means everything.
func collectFilter(names []string) (collectParts, error) {
	if len(names) == 0 {
		return collectParts{true, true, true, true, true}, nil
	}
	var p collectParts
	for _, n := range names {
		switch n {
		case "tenants":
			p.tenants = true
		case "rooms":
			p.rooms = true
		case "jobs":
			p.jobs = true
		case "streams":
			p.streams = true
		case "exporter":
			p.exporter = true
		default:
			return collectParts{}, fmt.Errorf("collect[]: unknown collector %s (known: exporter, jobs, rooms, streams, tenants)", config.QuoteBounded(n))
		}
	}
	return p, nil
}

// probe serves one tenant, named by the tenant parameter, from a fresh registry.
func (h *scrapeHandlers) probe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("tenant")
		if name == "" {
			http.Error(w, "tenant parameter is missing", http.StatusBadRequest)
			return
		}
		snap := h.tenants.Snapshot()
		if snap.File() == nil {
			http.Error(w, "no config loaded", http.StatusServiceUnavailable)
			return
		}
		t, ok := snap.Tenant(name)
		if !ok {
			http.Error(w, "unknown tenant "+config.QuoteBounded(name), http.StatusBadRequest)
			return
		}
		// One tenant: its own label names.
		labelNames := t.Labels.Names()
		h.serve(w, r, labelNames, []*config.Tenant{t}, h.inventoryOf(inventory.Kinds{Rooms: true, Jobs: true}, labelNames, []*config.Tenant{t}), nil)
	})
}

// inventoryOf loads the kinds of tenants' rooms and live jobs asked for,
// from memory, when called; nil when they are not watched or neither is
// asked for. Serving them is what keeps a tenant's rooms and jobs watched.
// serve loads them after the tenants, whose calls bring the tenants' own
// duration limits that jobs fall back on.
func (h *scrapeHandlers) inventoryOf(kinds inventory.Kinds, labelNames []string, tenants []*config.Tenant) func() *inventory.Families {
	if h.inventory == nil || !kinds.Rooms && !kinds.Jobs {
		return nil
	}
	return func() *inventory.Families { return h.inventory.Families(kinds, labelNames, tenants...) }
}

// serve scrapes tenants within the request's deadline and answers with
// their metrics, which carry labelNames, merged with inv's and extra's,
// encoding each family as it is built.
func (h *scrapeHandlers) serve(w http.ResponseWriter, r *http.Request, labelNames []string, tenants []*config.Tenant, inv func() *inventory.Families, extra prometheus.Gatherers) {
	ctx, cancel, err := scrapeContext(r, h.timeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer cancel()

	families := h.scraper.Scrape(ctx, labelNames, tenants...)
	// Gathered after the tenants: their calls update the request metrics.
	// As promhttp's ContinueOnError: whatever was gathered is served, and
	// an answer with nothing at all is an error.
	var gathered []*dto.MetricFamily
	var errs prometheus.MultiError
	if len(extra) > 0 {
		gathered, err = extra.Gather()
		errs.Append(err)
	}
	toWrite := collector.Gathered(gathered)
	served := len(gathered) > 0 || len(tenants) > 0
	if inv != nil {
		// Each rooms and jobs family is built only when it is written:
		// all of them at once are most of what a scrape would hold.
		watched := inventoryFamilies(inv())
		if !served {
			served = buildFirstServed(watched, &errs)
		}
		toWrite = mergeFamilies(toWrite, watched)
	}
	if err := errs.MaybeUnwrap(); err != nil {
		_ = level.Error(h.logger).Log("msg", "Serving metrics failed", "err", err)
		if !served {
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if err := writeExposition(w, r, families, toWrite); err != nil {
		if r.Context().Err() != nil {
			_ = level.Warn(h.logger).Log("msg", "Client went away before the answer was complete", "err", err)
			return
		}
		_ = level.Error(h.logger).Log("msg", "Serving metrics failed", "err", err)
	}
}

// inventoryFamilies are fs's families, each to be built in its turn.
func inventoryFamilies(fs *inventory.Families) []collector.Extra {
	out := make([]collector.Extra, fs.Len())
	for i := range out {
		out[i] = collector.Extra{Name: fs.Name(i), Build: func() (*dto.MetricFamily, error) { return fs.Build(i) }}
	}
	return out
}

// buildFirstServed builds families in turn up to the first with series,
// so that an answer with nothing else is known to hold nothing at all
// before it starts, and says whether it found one. What it built is served
// as built; the errors of building go to errs.
func buildFirstServed(families []collector.Extra, errs *prometheus.MultiError) bool {
	for i := range families {
		mf, err := families[i].Build()
		*errs = seriesorder.AppendErrors(*errs, err)
		families[i].Build = built(mf)
		if mf != nil {
			return true
		}
	}
	return false
}

// mergeFamilies merges two lists of families sorted by name with unique
// names into one. A name in both, which the exporter's families never
// share, is built from both as prometheus.Gatherers merges them, with the
// errors of building both and of merging.
func mergeFamilies(a, b []collector.Extra) []collector.Extra {
	if len(a) == 0 {
		return b
	}
	out := make([]collector.Extra, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0].Name, b[0].Name); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, collector.Extra{Name: a[0].Name, Build: mergedBuild(a[0].Build, b[0].Build)}), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// mergedBuild builds a family of one name from two builds.
func mergedBuild(a, b func() (*dto.MetricFamily, error)) func() (*dto.MetricFamily, error) {
	return func() (*dto.MetricFamily, error) {
		var errs prometheus.MultiError
		fa, err := a()
		errs = seriesorder.AppendErrors(errs, err)
		fb, err := b()
		errs = seriesorder.AppendErrors(errs, err)
		merged, err := prometheus.Gatherers{builtFamily{fa}, builtFamily{fb}}.Gather()
		errs = seriesorder.AppendErrors(errs, err)
		var mf *dto.MetricFamily
		if len(merged) > 0 {
			mf = merged[0]
		}
		return mf, errs.MaybeUnwrap()
	}
}

// built is a family already built (nil: one without series), as a build
// that hands it out.
func built(mf *dto.MetricFamily) func() (*dto.MetricFamily, error) {
	return builtFamily{mf}.Build
}

// builtFamily is a family already built: its own build, and a Gatherer of
// it alone (of nothing if it is nil).
type builtFamily struct{ mf *dto.MetricFamily }

func (b builtFamily) Build() (*dto.MetricFamily, error) { return b.mf, nil }

func (b builtFamily) Gather() ([]*dto.MetricFamily, error) {
	if b.mf == nil {
		return nil, nil
	}
	return []*dto.MetricFamily{b.mf}, nil
}

const timeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// maxTimeoutSeconds is the longest timeout a time.Duration holds; a longer
// one is no bound at all, and converting it would overflow.
const maxTimeoutSeconds = float64(math.MaxInt64 / int64(time.Second))

// scrapeContext derives the scrape deadline from the header Prometheus sends,
// leaving offset for encoding and the network. Without the header the
// tenants' own timeouts are the only bound.
func scrapeContext(r *http.Request, offset time.Duration) (context.Context, context.CancelFunc, error) {
	v := r.Header.Get(timeoutHeader)
	if v == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	seconds, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil && !math.IsInf(seconds, 0):
		return nil, nil, fmt.Errorf("%s: %s is not a number", timeoutHeader, config.QuoteBounded(v))
	case math.IsNaN(seconds) || math.IsInf(seconds, 0):
		return nil, nil, fmt.Errorf("%s: %s is not a finite number of seconds", timeoutHeader, config.QuoteBounded(v))
	case seconds <= 0:
		return nil, nil, fmt.Errorf("%s: %s is not a positive number of seconds", timeoutHeader, config.QuoteBounded(v))
	case seconds >= maxTimeoutSeconds:
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	timeout := time.Duration(seconds * float64(time.Second))
	if timeout > offset {
		timeout -= offset
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return ctx, cancel, nil
}
