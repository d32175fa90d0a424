// Package seriesorder orders the series of one metric family as a
// client_golang registry does, for the exporter's families that are built
// without one: sorted by label values, a repeated series left out with the
// registry's error; and gathers their errors as prometheus.Gatherers does.
package seriesorder

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// SortUnique sorts ms, whose label pairs are each sorted by name, by their
// label values in that order, and leaves out every series that repeats the
// one before it, appending the error a registry would give to errs.
func SortUnique(name string, ms []*dto.Metric, errs *prometheus.MultiError) []*dto.Metric {
	slices.SortFunc(ms, compareLabelValues)
	return slices.CompactFunc(ms, func(a, b *dto.Metric) bool {
		if compareLabelValues(a, b) != 0 {
			return false
		}
		*errs = append(*errs, fmt.Errorf("collected metric %s was collected before with the same name and label values", series(name, b)))
		return true
	})
}

func compareLabelValues(a, b *dto.Metric) int {
	for i, lp := range a.GetLabel() {
		if c := strings.Compare(lp.GetValue(), b.GetLabel()[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// series is a series as an exposition shows it, name{label="value",...};
// protobuf's own text form varies its spacing from run to run.
func series(name string, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, lp := range m.GetLabel() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", lp.GetName(), lp.GetValue())
	}
	b.WriteByte('}')
	return b.String()
}

// AppendErrors appends err to errs, each error of it if it holds several,
// so that the errors of families built apart read as one gathering's.
func AppendErrors(errs prometheus.MultiError, err error) prometheus.MultiError {
	var each prometheus.MultiError
	if errors.As(err, &each) {
		return append(errs, each...)
	}
	errs.Append(err)
	return errs
}
