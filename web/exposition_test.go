package web

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// answerAll answers every tenant with a config that has a callback.
type answerAll struct{}

func (answerAll) GetUserConfig(context.Context, metastudio.Target) (*metastudio.UserConfig, error) {
	auth := "MSS_A"
	return &metastudio.UserConfig{LiveEventCallbackConfig: &metastudio.LiveEventCallbackConfig{
		LiveEventTypeCallbackURL: "https://hooks.example.com/cb", AuthType: &auth,
	}}, nil
}

// scrapeTestHandlers serves two tenants answered by answerAll; exporter
// stands for the exporter's own registry.
func scrapeTestHandlers(t *testing.T, exporter prometheus.Gatherer, logs io.Writer) *scrapeHandlers {
	t.Helper()
	cfg, err := config.Parse([]byte(`credentials:
  c: {access_key: AK, secret_key: SK}
tenants:
  - {name: shop-a, project_id: 0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a, credentials: c}
  - {name: shop-b, project_id: 0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b, credentials: c}
`), "test.yml", "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return &scrapeHandlers{
		tenants:  tenants.NewStatic(cfg, tenants.Options{}),
		scraper:  collector.NewScraper(answerAll{}, collector.Options{MaxConcurrency: 2}),
		exporter: exporter,
		logger:   log.NewLogfmtLogger(logs),
	}
}

func exporterFamilies() prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "metastudio_exporter_config_last_reload_successful", Help: "Reloaded."}, func() float64 { return 1 }))
	return reg
}

func get(h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestMetricsNegotiatesAsPromhttp: /metrics answers in the format and
// compression a client asks for, as promhttp did: delimited protobuf for
// Prometheus' protobuf Accept, gzip for Accept-Encoding: gzip, text and
// identity otherwise, always with the Vary headers a cache needs.
func TestMetricsNegotiatesAsPromhttp(t *testing.T) {
	h := scrapeTestHandlers(t, exporterFamilies(), io.Discard).metrics()

	rec := get(h, "/metrics", http.Header{
		"Accept":          {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"},
		"Accept-Encoding": {"gzip"},
	})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" ||
		!slices.Equal(rec.Header().Values("Vary"), []string{"Accept", "Accept-Encoding"}) {
		t.Fatalf("%d, headers %v", rec.Code, rec.Header())
	}
	format := expfmt.Format(rec.Header().Get("Content-Type"))
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("Content-Type %s, want delimited protobuf", format)
	}
	gz, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	dec := expfmt.NewDecoder(gz, format)
	var names []string
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, mf.GetName())
		if mf.GetName() == "metastudio_up" && len(mf.GetMetric()) != 2 {
			t.Errorf("metastudio_up has %d series, want 2", len(mf.GetMetric()))
		}
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "metastudio_up") || !slices.Contains(names, "metastudio_exporter_config_last_reload_successful") {
		t.Errorf("families %v: want the tenants' and the exporter's, in name order", names)
	}

	rec = get(h, "/metrics?name[]=metastudio_up&name[]=metastudio_tenant_info", nil)
	want := `# HELP metastudio_tenant_info Project and region of the tenant; always 1.
# TYPE metastudio_tenant_info gauge
metastudio_tenant_info{project_id="0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a",region="cn-north-4",tenant="shop-a"} 1
metastudio_tenant_info{project_id="0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b",region="cn-north-4",tenant="shop-b"} 1
# HELP metastudio_up 1 if this tenant's live-streaming config was fetched and decoded in this scrape.
# TYPE metastudio_up gauge
metastudio_up{tenant="shop-a"} 1
metastudio_up{tenant="shop-b"} 1
`
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != want {
		t.Errorf("name[] answer %d, Content-Encoding %q:\n%s\nwant:\n%s", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body, want)
	}
	if ct := rec.Header().Get("Content-Type"); expfmt.Format(ct).FormatType() != expfmt.TypeTextPlain {
		t.Errorf("Content-Type %s without an Accept, want text", ct)
	}
}

// TestPrefersGzip: gzip only when the client rates it above identity, as
// promhttp's negotiation decides.
func TestPrefersGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                           false,
		"gzip":                       true,
		"GZip":                       true,
		"deflate, gzip;q=0.8":        true,
		"gzip;q=1.0, identity;q=0.5": true,
		"gzip, identity":             false,
		"*":                          false,
		"identity;q=0.5, gzip":       true,
		"identity;q=0, *;q=0.5":      false, // promhttp lets * rate identity too
		"gzip;q=0":                   false,
		"gzip;q=2":                   false,
		"br, zstd":                   false,
	} {
		h := http.Header{}
		if header != "" {
			h.Set("Accept-Encoding", header)
		}
		if got := prefersGzip(h); got != want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", header, got, want)
		}
	}
}

// failingGatherer fails as a broken collector would.
type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	return nil, errors.New("collector exploded")
}

// TestGatherFailureWithNothingToServe: as with promhttp's ContinueOnError,
// an answer that would hold nothing at all is a 500 naming the error, and
// the error is logged; with tenants to serve, the tenants are served.
func TestGatherFailureWithNothingToServe(t *testing.T) {
	var logs lockedbuffer.Buffer
	h := scrapeTestHandlers(t, failingGatherer{}, &logs).metrics()
	rec := get(h, "/metrics?collect[]=exporter", nil)
	want := "An error has occurred while serving metrics:\n\n[from Gatherer #1] collector exploded\n"
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want {
		t.Errorf("%d %q, want 500 %q", rec.Code, rec.Body, want)
	}
	rec = get(h, "/metrics", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "\nmetastudio_up{tenant=\"shop-b\"} 1\n") {
		t.Errorf("%d:\n%s", rec.Code, rec.Body)
	}
	if n := strings.Count(logs.String(), `level=error msg="Serving metrics failed" err="[from Gatherer #1] collector exploded"`); n != 2 {
		t.Errorf("%d error lines, want 2:\n%s", n, logs.String())
	}
}
