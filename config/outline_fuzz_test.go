package config

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzOutline holds the outline to the promise parseYAML relies on: it
// never blanks a value of a file YAML reads as it is (that would report a
// well-formed value as unreadable and lose it), and it never panics.
func FuzzOutline(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"a: |\n  x: %y\nb: c\n", "a: [b,\n  'c\n  d', *x]\n", "- &a {x: 1}\n- *a\n", "&k key: v\nx: *k\n",
		"a: 'it''s'\nb: \"q\\\"\"\n", "k:\n- a\n- b: c\n  d: e\nz: 1\n", "a: b\n  - c\n", "a: x:y\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := readOutline(data)
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			return
		}
		for _, u := range o.unreadable {
			t.Fatalf("YAML reads the file, yet line %d (%s) was found unreadable: %s", u.line, u.path, u.hint)
		}
	})
}
