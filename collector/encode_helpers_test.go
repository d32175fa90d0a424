package collector

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// recordingEncoder keeps the families Encode writes, in order. With fail
// set it answers that error from the failAt-th family on (counting from 1);
// after, when set, runs after each family it keeps.
type recordingEncoder struct {
	mfs    []*dto.MetricFamily
	fail   error
	failAt int
	after  func()
}

func (r *recordingEncoder) Encode(mf *dto.MetricFamily) error {
	if r.fail != nil && len(r.mfs)+1 >= r.failAt {
		return r.fail
	}
	r.mfs = append(r.mfs, mf)
	if r.after != nil {
		r.after()
	}
	return nil
}

// encoded is what fs.Encode writes with extra, as a Gatherer would return
// it, and the error Encode returns.
func encoded(fs *Families, extra []*dto.MetricFamily) ([]*dto.MetricFamily, error) {
	return encodedExtra(fs, Gathered(extra))
}

// encodedExtra is what fs.Encode writes with extra, and the error Encode
// returns.
func encodedExtra(fs *Families, extra []Extra) ([]*dto.MetricFamily, error) {
	var rec recordingEncoder
	err := fs.Encode(context.Background(), &rec, extra)
	return rec.mfs, err
}

// scrapeGatherer gathers through Families.Encode: every Gather scrapes
// anew with what scrape returns, so that testutil can compare and lint the
// exposition a scrape writes.
type scrapeGatherer func() *Families

func (g scrapeGatherer) Gather() ([]*dto.MetricFamily, error) { return encoded(g(), nil) }

// gzipWriters are reused as the web layer (and promhttp) reuses them: a
// new writer costs more than a small scrape.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// serveExposition answers req as the web layer does, in the text format,
// gzipped when the request asks for it: fs's families merged with extra's.
func serveExposition(tb testing.TB, w http.ResponseWriter, req *http.Request, fs *Families, extra prometheus.Gatherer) {
	var mfs []*dto.MetricFamily
	if extra != nil {
		var err error
		if mfs, err = extra.Gather(); err != nil {
			tb.Errorf("gathering the exporter's metrics: %v", err)
		}
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			if err := gz.Close(); err != nil {
				tb.Error(err)
			}
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	// A client that went away gets nothing more; that is no failure.
	if err := fs.Encode(req.Context(), expfmt.NewEncoder(out, format), Gathered(mfs)); err != nil && req.Context().Err() == nil {
		tb.Errorf("%s: %v", req.URL, err)
	}
}
