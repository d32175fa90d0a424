package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The panel shapes the dashboards repeat. Each returns the SDK's own builder
// with the house defaults applied, so a dashboard adds only what makes its
// panel different (stacking, bars, mappings) by chaining more calls.

// promDS is the datasource of every panel, query and query variable: the
// dashboard's datasource variable, so one import works on any Prometheus.
var promDS = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// at places a panel on Grafana's 24-column grid. Every panel is placed
// explicitly: the SDK's automatic layout cannot stack two small panels
// beside a tall one, and explicit positions keep today's layout exactly.
func at(x, y, w, h uint32) dashboard.GridPos {
	return dashboard.GridPos{X: x, Y: y, W: w, H: h}
}

// rangeQuery is a query drawn over the dashboard's time range.
func rangeQuery(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).LegendFormat(legend).
		Datasource(promDS).EditorMode(prometheus.QueryEditorModeCode).Range()
}

// instantQuery is a query evaluated once, at the end of the time range.
func instantQuery(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).LegendFormat(legend).
		Datasource(promDS).EditorMode(prometheus.QueryEditorModeCode).Instant()
}

// tableQuery is an instant query whose labels become table columns.
func tableQuery(refID, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).
		Datasource(promDS).EditorMode(prometheus.QueryEditorModeCode).Instant().
		Format(prometheus.PromQueryFormatTable)
}

// targets is the SDK's form of a panel's query list.
func targets(qs []*prometheus.DataqueryBuilder) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, q := range qs {
		out[i] = q
	}
	return out
}

// thresholds is an absolute threshold list: base colour below the first
// step, then each step's colour from its value on.
func thresholds(base string, then ...step) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(thresholdSteps(base, then))
}

func thresholdSteps(base string, then []step) []dashboard.Threshold {
	steps := []dashboard.Threshold{{Color: base}}
	for _, s := range then {
		steps = append(steps, dashboard.Threshold{Value: cog.ToPtr(s.from), Color: s.color})
	}
	return steps
}

// step is one threshold: the colour of values from from on.
type step struct {
	from  float64
	color string
}

// shown is how a value mapping shows one value.
type shown struct {
	value, text, color string
}

// valueMappings maps values to texts and colours, in the order given.
func valueMappings(values ...shown) []dashboard.ValueMapping {
	options := make(map[string]dashboard.ValueMappingResult, len(values))
	for i, v := range values {
		options[v.value] = dashboard.ValueMappingResult{Text: cog.ToPtr(v.text), Color: cog.ToPtr(v.color), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: options}}}
}

// upDown is the mapping of a 0/1 health gauge.
func upDown(up, down string) []dashboard.ValueMapping {
	return valueMappings(shown{"1", up, "green"}, shown{"0", down, "red"})
}

// timeSeries is a line graph with a table legend of last and max values
// on the right, and a tooltip listing every series.
func timeSeries(title, description, unit string, pos dashboard.GridPos, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(description).
		Datasource(promDS).GridPos(pos).Targets(targets(queries)).
		Unit(unit).Thresholds(thresholds("green")).
		DrawStyle(common.GraphDrawStyleLine).LineWidth(1).FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).AxisSoftMin(0).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
			DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementRight).
			Calcs([]string{"lastNotNull", "max"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

// stacked is the stacking of series that add up to a total.
func stacked() *common.StackingConfigBuilder {
	return common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A")
}

// counted turns a time series into stacked bars of whole numbers, for
// counts of things (tenants, changes) rather than rates.
func counted(p *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return p.DrawStyle(common.GraphDrawStyleBars).FillOpacity(60).Decimals(0).Stacking(stacked())
}

// lastValue is the reduction of single-value panels: the newest non-null.
func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)
}

// singleStat is one big number without a sparkline.
func singleStat(title, description string, pos dashboard.GridPos, color common.BigValueColorMode, text common.BigValueTextMode, query *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(description).
		Datasource(promDS).GridPos(pos).WithTarget(query).
		Unit("none").Thresholds(thresholds("green")).
		ReduceOptions(lastValue()).ColorMode(color).GraphMode(common.BigValueGraphModeNone).TextMode(text).
		JustifyMode(common.BigValueJustifyModeAuto).Orientation(common.VizOrientationAuto).
		WideLayout(true).ShowPercentChange(false).PercentChangeColorMode(common.PercentChangeColorModeStandard)
}

// count is a stat of how many things there are now, coloured by the
// thresholds: green, then each step's colour from its value on.
func count(title, description string, pos dashboard.GridPos, color common.BigValueColorMode, query *prometheus.DataqueryBuilder, then ...step) *stat.PanelBuilder {
	return singleStat(title, description, pos, color, common.BigValueTextModeValue, query).Thresholds(thresholds("green", then...))
}

// dataTable is a table of instant query results, one row per series.
func dataTable(title, description string, pos dashboard.GridPos, queries ...*prometheus.DataqueryBuilder) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(description).
		Datasource(promDS).GridPos(pos).Targets(targets(queries)).
		Unit("none").Thresholds(thresholds("green")).
		Align(common.FieldTextAlignmentAuto).Inspect(false).
		CellOptions(common.TableCellOptions{TableAutoCellOptions: common.NewTableAutoCellOptions()}).
		FrameIndex(0).ShowHeader(true).CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
}

// sortedBy sorts a table by one column, ascending.
func sortedBy(column string) []cog.Builder[common.TableSortByFieldState] {
	return []cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(false)}
}

// colouredBackground colours a table cell by its value's mapping or threshold.
func colouredBackground() common.TableCellOptions {
	return common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
		Type: common.TableCellDisplayModeColorBackground,
		Mode: cog.ToPtr(common.TableCellBackgroundDisplayModeBasic),
	}}
}

// organize hides, orders and renames table columns. Hidden and order are
// by the columns' names as the queries produce them.
func organize(hide []string, order []string, rename map[string]string) dashboard.DataTransformerConfig {
	exclude := make(map[string]bool, len(hide))
	for _, h := range hide {
		exclude[h] = true
	}
	options := map[string]any{"excludeByName": exclude, "renameByName": rename}
	if len(order) > 0 {
		index := make(map[string]int, len(order))
		for i, o := range order {
			index[o] = i
		}
		options["indexByName"] = index
	}
	if rename == nil {
		options["renameByName"] = map[string]string{}
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: options}
}

// timeline is a state timeline: one row per series, coloured by the value
// mapping of its state.
func timeline(title, description string, pos dashboard.GridPos, mappings []dashboard.ValueMapping, showLegend bool, query *prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().Title(title).Description(description).
		Datasource(promDS).GridPos(pos).WithTarget(query).
		Unit("none").Mappings(mappings).Thresholds(thresholds("green")).
		FillOpacity(80).LineWidth(0).
		ShowValue(common.VisibilityModeNever).MergeValues(true).RowHeight(0.9).AlignValue(common.TimelineValueAlignmentLeft).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(showLegend).
			DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone))
}

// bars is a horizontal bar gauge of one value per series.
func bars(title, description string, pos dashboard.GridPos, query *prometheus.DataqueryBuilder) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().Title(title).Description(description).
		Datasource(promDS).GridPos(pos).WithTarget(query).
		Unit("none").Decimals(0).Thresholds(thresholds("orange")).
		Orientation(common.VizOrientationHorizontal).DisplayMode(common.BarGaugeDisplayModeBasic).
		ShowUnfilled(true).MinVizHeight(10).MinVizWidth(0).ValueMode(common.BarGaugeValueModeColor).
		ReduceOptions(lastValue())
}
