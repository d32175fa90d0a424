// Package dashboards ships the Grafana dashboards of metastudio_exporter and
// lists the PromQL they run, so that tests can hold every panel to a real
// Prometheus instead of trusting that the JSON looks right.
//
// The JSON is generated from Go code in build/, a module of its own that
// the exporter does not link: edit that and run
// "cd dashboards/build && go run . -out ..", never the JSON.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// FS holds the dashboard JSON models, importable into Grafana as they are.
//
//go:embed *.json
var FS embed.FS

// Dashboard is the part of a Grafana dashboard JSON model the checks need.
type Dashboard struct {
	File          string   `json:"-"`
	ID            *int     `json:"id"`
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Tags          []string `json:"tags"`
	SchemaVersion int      `json:"schemaVersion"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []Annotation `json:"list"`
	} `json:"annotations"`
	Panels []Panel `json:"panels"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *Datasource     `json:"datasource"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Multi      bool            `json:"multi"`
}

// QueryString returns the variable's query whether Grafana stored it as a
// plain string (datasource variables, older models) or as the Prometheus
// query editor's object.
func (v Variable) QueryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &o) == nil {
		return o.Query
	}
	return ""
}

// Datasource is a datasource reference.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Annotation is an annotation query; built-in Grafana ones have no Expr.
type Annotation struct {
	Name       string      `json:"name"`
	BuiltIn    int         `json:"builtIn"`
	Datasource *Datasource `json:"datasource"`
	Expr       string      `json:"expr"`
	Enable     bool        `json:"enable"`
}

// Panel is a dashboard panel; rows carry their collapsed panels in Panels.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Datasource  *Datasource `json:"datasource"`
	GridPos     GridPos     `json:"gridPos"`
	Targets     []Target    `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Panels []Panel `json:"panels"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Target is one panel query.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *Datasource `json:"datasource"`
	Instant    bool        `json:"instant"`
	Format     string      `json:"format"`
}

// Query is one PromQL expression a dashboard runs, with where it comes from.
type Query struct {
	Dashboard string // file name
	Where     string // panel title and refId, or "annotation <name>"
	Expr      string // as stored, with Grafana variables
}

// Files returns the dashboard file names, sorted.
func Files() ([]string, error) {
	names, err := fs.Glob(FS, "*.json")
	sort.Strings(names)
	return names, err
}

// Load parses one embedded dashboard.
func Load(name string) (*Dashboard, error) {
	b, err := FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.File = name
	return &d, nil
}

// AllPanels returns every panel, the ones nested in collapsed rows included.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Queries returns every PromQL expression of the dashboard: panel targets and
// annotation queries.
func (d *Dashboard) Queries() []Query {
	var out []Query
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, Query{Dashboard: d.File, Where: fmt.Sprintf("panel %q ref %s", p.Title, t.RefID), Expr: t.Expr})
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out = append(out, Query{Dashboard: d.File, Where: "annotation " + a.Name, Expr: a.Expr})
		}
	}
	return out
}

// AllQueries returns the queries of every embedded dashboard.
func AllQueries() ([]Query, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, f := range files {
		d, err := Load(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d.Queries()...)
	}
	return out, nil
}

var varRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// Expand replaces Grafana variables ($name, ${name}, ${name:format}) with
// the given values, as Grafana does before it sends a query. It fails on a
// variable it has no value for, so a test cannot send Prometheus a query
// with a stray "$".
func Expand(expr string, values map[string]string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for variable(s) %s in %q", strings.Join(missing, ", "), expr)
	}
	return out, nil
}

var labelValuesRE = regexp.MustCompile(`^label_values\((?:(.+),\s*)?(\w+)\)$`)

// LabelValues splits a Grafana label_values(selector, label) variable query.
func LabelValues(query string) (selector, label string, ok bool) {
	m := labelValuesRE.FindStringSubmatch(strings.TrimSpace(query))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
