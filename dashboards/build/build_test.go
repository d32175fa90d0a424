package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// committedDir holds the committed dashboards, dashboards/ of the repository.
const committedDir = ".."

const regenerate = "cd dashboards/build && go run . -out .."

func init() {
	// Panel options and queries decode strictly only through the SDK's
	// plugin registry (stat, table, prometheus, ...).
	plugins.RegisterDefaultPlugins()
}

// decodeStrict decodes a dashboard the way the SDK's strict decoder does,
// failing on any field the SDK's model has no place for. The decoder
// returns its error list as a cog.BuildErrors even when the list is empty;
// only a non-empty list is a failure.
func decodeStrict(b []byte) (dashboard.Dashboard, error) {
	var d dashboard.Dashboard
	err := d.UnmarshalJSONStrict(b)
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		err = nil
	}
	return d, err
}

func readCommitted(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(committedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryCommittedDashboardIsGenerated: a JSON file nobody generates
// would escape every check below.
func TestEveryCommittedDashboardIsGenerated(t *testing.T) {
	committed, err := filepath.Glob(filepath.Join(committedDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, c := range committed {
		got = append(got, filepath.Base(c))
	}
	for _, s := range all {
		want = append(want, s.file)
	}
	if !slices.Equal(got, want) {
		t.Errorf("dashboards/ holds %v, the generator writes %v", got, want)
	}
}

func TestCommittedDashboardsDecodeStrictly(t *testing.T) {
	for _, s := range all {
		t.Run(s.file, func(t *testing.T) {
			d, err := decodeStrict(readCommitted(t, s.file))
			if err != nil {
				t.Fatalf("UnmarshalJSONStrict: %v", err)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestStrictDecodeRejects holds decodeStrict to failing: the hand-kept
// dashboards carried __requires, which the SDK's model has no place for,
// and panels without options the SDK requires.
func TestStrictDecodeRejects(t *testing.T) {
	b := readCommitted(t, all[0].file)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["__requires"] = []any{map[string]any{"type": "grafana", "id": "grafana"}}
	withRequires, _ := json.Marshal(m)
	if _, err := decodeStrict(withRequires); err == nil || !strings.Contains(err.Error(), "unexpected field '__requires'") {
		t.Errorf("decoding with __requires: got %v, want an unexpected field error", err)
	}

	delete(m, "__requires")
	for _, p := range m["panels"].([]any) {
		if p := p.(map[string]any); p["type"] == "stat" {
			delete(p["options"].(map[string]any), "wideLayout")
		}
	}
	withoutOption, _ := json.Marshal(m)
	if _, err := decodeStrict(withoutOption); err == nil || !strings.Contains(err.Error(), "wideLayout") {
		t.Errorf("decoding a stat panel without wideLayout: got %v, want an error naming it", err)
	}
}

func TestGeneratedEqualsCommitted(t *testing.T) {
	for _, s := range all {
		t.Run(s.file, func(t *testing.T) {
			got, err := render(s.build())
			if err != nil {
				t.Fatal(err)
			}
			want := readCommitted(t, s.file)
			if bytes.Equal(got, want) {
				return
			}
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("generated line %d is %q, committed %q; run: %s", i+1, gl[i], wl[i], regenerate)
				}
			}
			t.Fatalf("generated %d lines, committed %d; run: %s", len(gl), len(wl), regenerate)
		})
	}
}

// contract is what users' links, provisioning and habits rely on. The
// values in testdata/contract.json were taken from the hand-kept dashboards
// before they were generated; a change to any of them is a breaking change
// and must be made there on purpose.
type contract struct {
	File        string          `json:"file"`
	UID         string          `json:"uid"`
	Title       string          `json:"title"`
	Tags        []string        `json:"tags"`
	Variables   []variable      `json:"variables"`
	Panels      []panel         `json:"panels"`
	Annotations []annotationDef `json:"annotations"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Label string `json:"label"`
	Query string `json:"query"`
}

type panel struct {
	ID      int               `json:"id"`
	Type    string            `json:"type"`
	Title   string            `json:"title"`
	GridPos dashboard.GridPos `json:"gridPos"`
	Queries []query           `json:"queries"`
}

type query struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
}

type annotationDef struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// contractOf reads the contract's fields out of a dashboard model.
func contractOf(file string, b []byte) (contract, error) {
	var raw struct {
		UID        string   `json:"uid"`
		Title      string   `json:"title"`
		Tags       []string `json:"tags"`
		Templating struct {
			List []struct {
				variable
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			panel
			Targets []query `json:"targets"`
		} `json:"panels"`
		Annotations struct {
			List []annotationDef `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return contract{}, err
	}
	c := contract{File: file, UID: raw.UID, Title: raw.Title, Tags: raw.Tags,
		Variables: []variable{}, Panels: []panel{}, Annotations: []annotationDef{}}
	for _, v := range raw.Templating.List {
		// A query variable keeps its PromQL in the query editor's object,
		// a datasource variable its plugin id as a string.
		var editor struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &v.variable.Query) != nil {
			if err := json.Unmarshal(v.Query, &editor); err != nil {
				return contract{}, err
			}
			v.variable.Query = editor.Query
		}
		c.Variables = append(c.Variables, v.variable)
	}
	for _, p := range raw.Panels {
		p.panel.Queries = append([]query{}, p.Targets...)
		c.Panels = append(c.Panels, p.panel)
	}
	for _, a := range raw.Annotations.List {
		if a.Expr != "" {
			c.Annotations = append(c.Annotations, a)
		}
	}
	return c, nil
}

func TestCompatibilityContract(t *testing.T) {
	b, err := os.ReadFile("testdata/contract.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []contract
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(all) {
		t.Fatalf("contract covers %d dashboards, the generator writes %d", len(want), len(all))
	}
	for _, w := range want {
		t.Run(w.File, func(t *testing.T) {
			got, err := contractOf(w.File, readCommitted(t, w.File))
			if err != nil {
				t.Fatal(err)
			}
			if got.UID != w.UID || got.Title != w.Title || !slices.Equal(got.Tags, w.Tags) {
				t.Errorf("uid %q title %q tags %v, want %q %q %v", got.UID, got.Title, got.Tags, w.UID, w.Title, w.Tags)
			}
			if !reflect.DeepEqual(got.Variables, w.Variables) {
				t.Errorf("variables\n got %+v\nwant %+v", got.Variables, w.Variables)
			}
			if len(got.Panels) != len(w.Panels) {
				t.Errorf("%d panels, want %d", len(got.Panels), len(w.Panels))
			}
			for i := range min(len(got.Panels), len(w.Panels)) {
				if !reflect.DeepEqual(got.Panels[i], w.Panels[i]) {
					t.Errorf("panel %d\n got %+v\nwant %+v", i, got.Panels[i], w.Panels[i])
				}
			}
			if !reflect.DeepEqual(got.Annotations, w.Annotations) {
				t.Errorf("annotation queries\n got %+v\nwant %+v", got.Annotations, w.Annotations)
			}
		})
	}
}
