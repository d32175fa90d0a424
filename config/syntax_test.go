package config

import (
	"reflect"
	"strings"
	"testing"
)

// assertNoPartOf fails if any substring of secret of 4 bytes or more shows
// in text.
func assertNoPartOf(t *testing.T, text, secret string) {
	t.Helper()
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+4]) {
			t.Errorf("%q shows %q, a part of the secret %q", text, secret[i:i+4], secret)
			return
		}
	}
}

// TestSecretStartingWithIndicator: an unquoted secret whose first character
// means something to YAML used to be read as an alias, an anchor or a tag,
// and the error repeated the rest of the secret, on the wrong line. Now the
// key and its line are named, with a hint, and nothing of the value.
func TestSecretStartingWithIndicator(t *testing.T) {
	const rest = "Zq7wK9pLm2Xv4Rt8"
	meaning := map[string]string{
		"*": "an alias", "&": "an anchor", "!": "a tag", "%": "a directive",
		"@": "a reserved character", "`": "a reserved character",
		"|": "a literal block", ">": "a folded block", "{": "a mapping", "[": "a list",
		"'": "a quoted string that is not closed", `"`: "a quoted string that is not closed",
	}
	for c, what := range meaning {
		for _, key := range []string{"secret_key", "security_token", "password"} {
			secret := c + rest
			// The value is on line 5 in every case.
			data := "credentials:\n  main:\n    access_key: AK\n    security_token: tok\n    secret_key: " + secret + "\n"
			path := "credentials.main." + key
			switch key {
			case "security_token":
				data = "credentials:\n  main:\n    access_key: AK\n    secret_key: SK\n    security_token: " + secret + "\n"
			case "password":
				data = "credentials:\n  main:\n    iam_password:\n      domain: d\n      password: " + secret + "\n      user: u\n"
				path = "credentials.main.iam_password.password"
			}
			data += "tenants:\n  - {name: a, project_id: p1, credentials: main}\n"
			_, err := Parse([]byte(data), "m.yml", ".", testEnv)
			want := "m.yml:5: " + path + ": starts with \"" + strings.ReplaceAll(c, `"`, `\"`) + "\", which YAML reads as " + what + ": put the value in quotes"
			if err == nil || err.Error() != want {
				t.Errorf("%s: %s\ngot  %v\nwant %s", key, secret, err, want)
				continue
			}
			assertNoPartOf(t, err.Error(), secret)
		}
	}
}

// TestUnquotedValuesAllReported: several such values are reported at once,
// with the rest of the file still checked.
func TestUnquotedValuesAllReported(t *testing.T) {
	data := "credentials:\n  main:\n    access_key: *AKab12\n    secret_key: %SKab12\n  ops:\n    iam_password:\n      password: @PWab12\n      domain: !DOab12\ntenants:\n  - {name: a, project_id: p1, credentials: ops, timeout: soon}\n"
	_, err := Parse([]byte(data), "m.yml", ".", testEnv)
	want := `m.yml:3: credentials.main.access_key: starts with "*", which YAML reads as an alias: put the value in quotes
m.yml:4: credentials.main.secret_key: starts with "%", which YAML reads as a directive: put the value in quotes
m.yml:6: credentials.ops.iam_password.user: required
m.yml:7: credentials.ops.iam_password.password: starts with "@", which YAML reads as a reserved character: put the value in quotes
m.yml:8: credentials.ops.iam_password.domain: starts with "!", which YAML reads as a tag: put the value in quotes
m.yml:10: tenants[0].timeout: not a valid duration (use e.g. 30s, 5m, 72h, 1d)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	for _, s := range []string{"AKab12", "SKab12", "PWab12", "DOab12"} {
		assertNoPartOf(t, err.Error(), s)
	}
}

// TestUnknownAliasInFlowMapping: where the value is not blanked (inside a
// flow mapping, where the rest of the line belongs to other keys) the
// alias is reported with the path of the mapping, without the anchor name
// yaml's error quotes.
func TestUnknownAliasInFlowMapping(t *testing.T) {
	data := "credentials:\n  main: {access_key: AK, secret_key: *Zq7wK9pLm2}\ntenants: []\n"
	_, err := Parse([]byte(data), "m.yml", ".", testEnv)
	want := `m.yml:2: credentials.main: an alias (a value starting with "*") names an anchor that is not defined; put a value that starts with "*" in quotes`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestTabErrorLine: the parser names the line before the tab, or says a
// character cannot start a token; the line of the tab is named, and why.
func TestTabErrorLine(t *testing.T) {
	const tab = ": a tab character is used for indentation; YAML indents with spaces"
	for _, tc := range []struct{ data, want string }{
		{"tenants:\n  - name: a\n\tproject_id: p\n", "m.yml:3" + tab},
		{"tenants:\n  - name: a\n  \tproject_id: p\n", "m.yml:3" + tab},
		{"tenants:\n  - name: a\n    project_id: p\n\tregion: x\n", "m.yml:4" + tab},
		{"tenants:\n\t- name: a\n", "m.yml:2" + tab},
		// A tab inside a block scalar is its text, not indentation: the
		// error is the line with the tab in its indentation.
		{"defaults:\n  region: |\n    a\tb\n\ttimeout: 1s\n", "m.yml:4" + tab},
	} {
		_, err := Parse([]byte(tc.data), "m.yml", ".", testEnv)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q):\ngot  %v\nwant %s", tc.data, err, tc.want)
		}
	}
}

// TestEmptyStringIsUnset: the example file promises that "" is the same as
// leaving a key out; durations, policy and whole sections used to be
// rejected.
func TestEmptyStringIsUnset(t *testing.T) {
	empty := `defaults:
  region: ""
  timeout: ""
  credentials: ""
  max_cache_age: ''
  policy:
    max_live_duration: ""
    max_exception_waiting: ""
  callback: ""
credentials: ""
discovery: ""
tenants:
  - name: a
    project_id: p1
    endpoint: ""
    timeout: ""
    max_cache_age: ""
    policy: ""
    callback:
      key: ""
      key_file: ""
      forward_url: ""
      forward_timeout: ""
      allow_unauthenticated: ""
`
	got, err := Parse([]byte(empty), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse([]byte("tenants:\n  - name: a\n    project_id: p1\n"), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tenants(), want.Tenants()) {
		t.Errorf("with empty strings:\n%s\nwithout the keys:\n%s", dumpTenants(got.Tenants()), dumpTenants(want.Tenants()))
	}
	gr, _ := got.Redacted()
	wr, _ := want.Redacted()
	if string(gr) != string(wr) {
		t.Errorf("/config with empty strings:\n%s\nwithout the keys:\n%s", gr, wr)
	}
}

// TestUnquotedValueBeforeSyntaxError: when the file has a syntax error of
// its own, the values blanked before it are still reported, with the key
// path the outline of the file gives them.
func TestUnquotedValueBeforeSyntaxError(t *testing.T) {
	data := "credentials:\n  main:\n    access_key: AK\n    secret_key: %Zq7wK9pLm2\ntenants:\n  - name: a\n   project_id: p1\n"
	_, err := Parse([]byte(data), "m.yml", ".", testEnv)
	want := `m.yml:4: credentials.main.secret_key: starts with "%", which YAML reads as a directive: put the value in quotes
m.yml:7: project_id is indented 3 spaces, but the keys of tenants[0] are at 4 and the items of tenants at 2`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestIndicatorOnMisindentedLine: the indentation is what is wrong, not
// the value.
func TestIndicatorOnMisindentedLine(t *testing.T) {
	data := "tenants:\n  - name: a\n    project_id: p\n   region: [x\n"
	_, err := Parse([]byte(data), "m.yml", ".", testEnv)
	want := `m.yml:4: region is indented 3 spaces, but the keys of tenants[0] are at 4 and the items of tenants at 2`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
