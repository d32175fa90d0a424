package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
)

// writeExposition answers r with the tenants' families merged with extra,
// each family encoded as soon as it is built, in the format and compression
// the client negotiates, as promhttp answers: text or protobuf by Accept,
// gzip or identity by Accept-Encoding, and only the families named by
// name[] parameters if there are any. It returns the first error of
// writing, or the tenant families' check errors.
func writeExposition(w http.ResponseWriter, r *http.Request, tenants *collector.Families, extra []collector.Extra) error {
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
	header := w.Header()
	header.Add("Vary", "Accept")
	header.Add("Vary", "Accept-Encoding")
	header.Set("Content-Type", string(format))
	var out io.Writer = w
	if prefersGzip(r.Header) {
		header.Set("Content-Encoding", "gzip")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close() // a failed write has been returned already
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	enc := expfmt.NewEncoder(out, format)
	var families expfmt.Encoder = enc
	if names := r.URL.Query()["name[]"]; len(names) > 0 {
		families = namedOnly{enc, names}
	}
	err := tenants.Encode(r.Context(), families, extra)
	if closer, ok := enc.(expfmt.Closer); ok {
		if cerr := closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// gzipWriters are reused across answers, as promhttp reuses them: a new
// writer costs more than a small answer.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// prefersGzip says whether Accept-Encoding rates gzip above identity, the
// choice promhttp makes between the two (its negotiation is not exported):
// the highest q of gzip or * must beat the highest q of identity or *, and
// be above 0. Prometheus sends "Accept-Encoding: gzip".
func prefersGzip(h http.Header) bool {
	gzipQ, identityQ := -1.0, -1.0
	for _, v := range h.Values("Accept-Encoding") {
		for spec := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(spec, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			if p := strings.TrimSpace(params); p != "" {
				v, ok := strings.CutPrefix(p, "q=")
				parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if !ok || err != nil || parsed < 0 || parsed > 1 {
					continue // not a coding a client can be held to
				}
				q = parsed
			}
			if coding == "gzip" || coding == "*" {
				gzipQ = max(gzipQ, q)
			}
			if coding == "identity" || coding == "*" {
				identityQ = max(identityQ, q)
			}
		}
	}
	return gzipQ > 0 && gzipQ > identityQ
}

// namedOnly encodes only the families named, as promhttp's name[] does.
type namedOnly struct {
	expfmt.Encoder
	names []string
}

func (n namedOnly) Encode(mf *dto.MetricFamily) error {
	for _, name := range n.names {
		if name == mf.GetName() {
			return n.Encoder.Encode(mf)
		}
	}
	return nil
}
