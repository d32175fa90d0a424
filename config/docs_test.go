package config

import (
	"os"
	"regexp"
	"testing"
)

// allKeys lists every key of the file's sections, nested ones included.
func allKeys(s *schema, out map[string]bool) {
	for _, k := range s.keys() {
		out[k] = true
	}
	for _, f := range s.fields {
		if sub := subSchema(f); sub != nil {
			allKeys(sub, out)
		}
	}
}

// TestEveryKeyDocumented: metastudio.example.yml shows every key and
// docs/configuration.md names it, so that a key added to a section cannot
// go undocumented.
func TestEveryKeyDocumented(t *testing.T) {
	keys := map[string]bool{}
	for _, p := range places {
		keys[p.key] = true
		allKeys(p.schema, keys)
	}
	example, err := os.ReadFile("../metastudio.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if !regexp.MustCompile(`(?m)^[ #-]*` + regexp.QuoteMeta(k) + `:`).Match(example) {
			t.Errorf("metastudio.example.yml does not show %s", k)
		}
		if !regexp.MustCompile("[`.]" + regexp.QuoteMeta(k) + "`").Match(doc) {
			t.Errorf("docs/configuration.md does not name %s", k)
		}
	}
}
