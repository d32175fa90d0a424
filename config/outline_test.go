package config

import (
	"strings"
	"testing"
)

// parseErr loads data and returns its error text ("" when it loads).
func parseErr(t *testing.T, data string) string {
	t.Helper()
	_, err := Parse([]byte(data), "m.yml", ".", testEnv)
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestMisindentation: the line whose indentation went wrong is named, with
// the key on it, not the next key or the start of the block that yaml's
// parser names (shown in each case's comment).
func TestMisindentation(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{
			// yaml: line 3: mapping values are not allowed in this context
			"key one space too far",
			"tenants:\n  - name: a\n     project_id: p\n",
			"m.yml:3: tenants[0].project_id: project_id is indented further than name on line 2 (5 spaces, not 4), which already has a value; keys of one mapping line up",
		},
		{
			// yaml: line 1: did not find expected '-' indicator
			"key one space too little",
			"tenants:\n  - name: a\n   project_id: p\n",
			"m.yml:3: project_id is indented 3 spaces, but the keys of tenants[0] are at 4 and the items of tenants at 2",
		},
		{
			// yaml: line 2: did not find expected key
			"key between two blocks",
			"defaults:\n  region: cn-north-4\n timeout: 5s\ntenants: []\n",
			"m.yml:3: timeout is indented 1 space, but the keys of defaults are at 2 and the top-level keys at 0",
		},
		{
			// yaml: line 1: did not find expected '-' indicator
			"list item under a mapping, one space too far",
			"tenants:\n  - name: a\n    project_id: p\n   - name: b\n",
			"m.yml:4: a list item is indented 3 spaces, but the keys of tenants[0] are at 4 and the items of tenants at 2",
		},
		{
			// yaml: line 3: did not find expected key
			"list item under a mapping, one space too little",
			"tenants:\n  - name: a\n    project_id: p\n - name: b\n",
			"m.yml:4: a list item is indented 1 space, but the keys of tenants[0] are at 4, the items of tenants at 2 and the top-level keys at 0",
		},
		{
			// yaml: line 4: mapping values are not allowed in this context
			"list item indented under a key with a value",
			"tenants:\n  - name: a\n    project_id: p\n      - name: b\n",
			"m.yml:4: a list item is indented further than project_id on line 3, which already has a value; items line up with the other items of their list",
		},
		{
			// yaml: line 1: did not find expected '-' indicator
			"item of a list written at its key's indentation",
			"discovery:\n  - credentials: main\n    regions:\n    - cn-north-4\n   - cn-east-3\n",
			"m.yml:5: a list item is indented 3 spaces, but the items of discovery[0].regions are at 4 and the items of discovery at 2",
		},
		{
			// yaml: line 2: did not find expected key
			"list item among keys",
			"defaults:\n  region: cn-north-4\n  - cn-east-3\n",
			"m.yml:3: defaults: a list item among the keys of this mapping, at their indentation; indent it under the key whose list it is",
		},
		{
			// yaml: line 2: did not find expected '-' indicator
			"key among list items",
			"tenants:\n  - {name: a, project_id: p}\n  project_id: q\n",
			"m.yml:3: tenants: project_id is a key among the items of this list, at their indentation; indent it under an item, or less to end the list",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseErr(t, tc.data); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestLayoutYAMLAccepts: what the outline must not take for a mistake,
// as YAML reads it: lists at their key's indentation, values across lines,
// block scalars whose text looks like YAML, anchors on keys and items.
func TestLayoutYAMLAccepts(t *testing.T) {
	for _, data := range []string{
		"tenants:\n- name: a\n  project_id: p1\n- name: b\n  project_id: p2\ndefaults:\n  timeout: 5s\n",
		"discovery:\n  - credentials: main\n    regions: [cn-north-4,\n      cn-east-3]\n    name_regex: 'shop\n      .*'\ncredentials:\n  main: {access_key: AK, secret_key: SK}\n",
		"defaults:\n  callback:\n    key: |\n      %not: a key\n      - nor an item\n    forward_timeout: 2s\ntenants:\n  - {name: a, project_id: p}\n",
		"tenants:\n  - &first\n    name: a\n    project_id: p1\n  - <<: *first\n    name: b\n    project_id: p2\n",
		"credentials:\n  main: &creds {access_key: AK, secret_key: SK}\n  copy: *creds\ntenants:\n  - {name: a, project_id: p1, credentials: copy}\n",
		"tenants:\r\n  - name: a\r\n    project_id: p1\r\n",
	} {
		if got := parseErr(t, data); got != "" {
			t.Errorf("%q:\n%s", data, got)
		}
	}
}

// TestFileIndentedLessThanFirstLine: yaml.v3 ends the document at a line
// indented less than the first, without an error, and drops the rest; the
// config would load without them.
func TestFileIndentedLessThanFirstLine(t *testing.T) {
	data := "  tenants:\n    - {name: a, project_id: p1, credentials: main}\ncredentials:\n  main: {access_key: AK, secret_key: SK}\n"
	want := "m.yml:2: tenants[0].credentials: not found under credentials, which defines none\n" +
		"m.yml:3: indented less than the first line of the file (0 spaces, not 2): YAML ignores this line and all after it; indent the top-level keys alike"
	if got := parseErr(t, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestUnreadableValuesInItems: list items and flow values that no parser
// reads are reported like values of keys.
func TestUnreadableValuesInItems(t *testing.T) {
	data := "credentials:\n  main: {access_key: AK, secret_key: SK}\ndiscovery:\n  - credentials: main\n    regions:\n      - @Zq7wK9pLm2\n      - cn-north-4\n"
	want := `m.yml:6: discovery[0].regions[0]: starts with "@", which YAML reads as a reserved character: put the value in quotes`
	got := parseErr(t, data)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	assertNoPartOf(t, got, "Zq7wK9pLm2")
}

// TestNoYAMLErrorQuotesAValue: yaml's messages quote anchor names; the
// rest of a secret that starts with "*" must not show even where the
// outline has nothing to say.
func TestNoYAMLErrorQuotesAValue(t *testing.T) {
	for in, want := range map[string]string{
		"yaml: unknown anchor 'Zq7wK9pLm2' referenced":             "unknown anchor referenced",
		"yaml: line 7: did not find expected ',' or ']'":           "did not find expected ',' or ']'",
		"yaml: line 3: anchor 'x' value contains itself":           "anchor value contains itself",
		"yaml: line 2: found unexpected 'Zq7wK9pLm2 and more':":    "found unexpected :",
		"yaml: line 12: did not find expected '-' indicator":       "did not find expected '-' indicator",
		"yaml: line x: could not find expected ':' while scanning": "line x: could not find expected ':' while scanning",
	} {
		_, got := yamlError(errorString(in))
		if got != want {
			t.Errorf("yamlError(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "Zq7") {
			t.Errorf("%q shows a value", got)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
