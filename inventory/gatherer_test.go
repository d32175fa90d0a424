package inventory

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/seriesorder"
)

// Gatherer returns the kinds of tenants' rooms and jobs, with the fixed
// labels under labelNames as Collector serves them, as a Gatherer that
// serves what Collector's registry would, without one: Families' families,
// every one built. The tests hold Families to a registry through it.
func (inv *Inventory) Gatherer(kinds Kinds, labelNames []string, tenants ...*config.Tenant) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fs := inv.Families(kinds, labelNames, tenants...)
		var out []*dto.MetricFamily
		var errs prometheus.MultiError
		for i := range fs.Len() {
			mf, err := fs.Build(i)
			errs = seriesorder.AppendErrors(errs, err)
			if mf != nil {
				out = append(out, mf)
			}
		}
		return out, errs.MaybeUnwrap()
	})
}
