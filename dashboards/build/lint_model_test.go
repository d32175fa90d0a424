package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The part of a dashboard's JSON model that the lint rules read. Like
// Grafana's dashboard linter, the rules read the JSON users import, not the
// SDK's model, so that a small hand-written dashboard can break each rule in
// the tests.

type lintDashboard struct {
	Title      string `json:"title"`
	Editable   bool   `json:"editable"`
	Templating struct {
		List []lintVariable `json:"list"`
	} `json:"templating"`
	Panels []lintPanel `json:"panels"`
	// Rows are where dashboards of before Grafana 5 keep their panels.
	Rows []struct {
		Panels []lintPanel `json:"panels"`
	} `json:"rows"`
}

type lintVariable struct {
	Name       string         `json:"name"`
	Label      string         `json:"label"`
	Type       string         `json:"type"`
	Query      variableQuery  `json:"query"`
	Datasource lintDatasource `json:"datasource"`
	Multi      bool           `json:"multi"`
	AllValue   string         `json:"allValue"`
	Refresh    int            `json:"refresh"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

// variableQuery is a variable's query: a string (a datasource variable's
// plugin id, a custom variable's values) or the query editor's object.
type variableQuery string

func (q *variableQuery) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*q = variableQuery(s)
		return nil
	}
	var editor struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(b, &editor); err != nil {
		return fmt.Errorf("query is neither a string nor a query editor's object: %w", err)
	}
	*q = variableQuery(editor.Query)
	return nil
}

// lintDatasource is a reference to a datasource: {type, uid}, or a bare
// string (the datasource's name or a variable) in older models.
type lintDatasource struct {
	UID  string `json:"uid"`
	Type string `json:"type"`
}

func (ds *lintDatasource) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*ds = lintDatasource{UID: name}
		return nil
	}
	type plain lintDatasource
	return json.Unmarshal(b, (*plain)(ds))
}

type lintPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  lintDatasource `json:"datasource"`
	Targets     []lintTarget   `json:"targets"`
	// A collapsed row holds its panels.
	Panels      []lintPanel `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit     string            `json:"unit"`
			Mappings []json.RawMessage `json:"mappings"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Options struct {
		ReduceOptions struct {
			Fields string `json:"fields"`
		} `json:"reduceOptions"`
	} `json:"options"`
}

type lintTarget struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource lintDatasource `json:"datasource"`
	// PanelID reuses another panel's queries (the "-- Dashboard --" source).
	PanelID int `json:"panelId"`
}

func decodeLintDashboard(b []byte) (*lintDashboard, error) {
	var d lintDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// panels lists every panel: the top-level ones, those inside collapsed
// rows and those of old-style rows, rows included.
func (d *lintDashboard) panels() []*lintPanel {
	var out []*lintPanel
	var add func(ps []lintPanel)
	add = func(ps []lintPanel) {
		for i := range ps {
			out = append(out, &ps[i])
			add(ps[i].Panels)
		}
	}
	for _, r := range d.Rows {
		add(r.Panels)
	}
	add(d.Panels)
	return out
}

func (d *lintDashboard) variable(name string) *lintVariable {
	for i, v := range d.Templating.List {
		if v.Name == name {
			return &d.Templating.List[i]
		}
	}
	return nil
}

func (d *lintDashboard) variablesOfType(typ string) []*lintVariable {
	var out []*lintVariable
	for i, v := range d.Templating.List {
		if strings.EqualFold(v.Type, typ) {
			out = append(out, &d.Templating.List[i])
		}
	}
	return out
}

// queriesPrometheus says whether the dashboard picks a Prometheus
// datasource in a variable: the job and instance rules apply only then.
func (d *lintDashboard) queriesPrometheus() bool {
	for _, v := range d.variablesOfType("datasource") {
		if v.Query == "prometheus" {
			return true
		}
	}
	return false
}

var variableRefRE = regexp.MustCompile(`^(?:\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\])$`)

// datasourceVariable returns the datasource variable ds refers to, or nil
// when ds names a datasource directly.
func (d *lintDashboard) datasourceVariable(ds lintDatasource) *lintVariable {
	m := variableRefRE.FindStringSubmatch(ds.UID)
	if m == nil {
		return nil
	}
	v := d.variable(m[1] + m[2] + m[3])
	if v == nil || v.Type != "datasource" {
		return nil
	}
	return v
}

// plugin is the datasource plugin a target queries: its own datasource's,
// else its panel's, read through the datasource variable it names. With
// neither, Grafana's default datasource answers, which is taken to be the
// kind the dashboard's datasource variable picks, as the linter does.
func (d *lintDashboard) plugin(p *lintPanel, t *lintTarget) string {
	ds := t.Datasource
	if ds == (lintDatasource{}) {
		ds = p.Datasource
	}
	if v := d.datasourceVariable(ds); v != nil {
		return string(v.Query)
	}
	if ds == (lintDatasource{}) && d.queriesPrometheus() {
		return "prometheus"
	}
	return ds.Type
}

// currentValue is a variable's current value when it is one value, not
// All or several.
func (v *lintVariable) currentValue() (string, bool) {
	var s string
	if json.Unmarshal(v.Current.Value, &s) == nil && s != "" && s != "$__all" {
		return s, true
	}
	var list []string
	if json.Unmarshal(v.Current.Value, &list) == nil && len(list) == 1 && list[0] != "$__all" {
		return list[0], true
	}
	return "", false
}
