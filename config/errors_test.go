package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Values that must never show in an error: secrets inside the bad files and
// the contents of the secret files they point to.
var neverInErrors = []string{
	"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "hunter2secret",
	"SK-main-0123456789abcdef", "ops-Passw0rd!", "temporary-token-xyz", "AK-temp-FROMFILE",
	"cbSECRET", "cb-key-FROMFILE",
}

func TestLoadBad(t *testing.T) {
	cases := map[string]string{
		"ak_without_sk.yml": `
testdata/bad/ak_without_sk.yml:2: credentials.main.secret_key: required (or secret_key_file)
testdata/bad/ak_without_sk.yml:4: credentials.tokenonly.access_key: required (or access_key_file)
testdata/bad/ak_without_sk.yml:4: credentials.tokenonly.secret_key: required (or secret_key_file)`,
		"aksk_and_iam.yml": `
testdata/bad/aksk_and_iam.yml:2: credentials.both: both access_key/secret_key and iam_password are set; use one
testdata/bad/aksk_and_iam.yml:9: credentials.neither: neither access_key/secret_key nor iam_password is set
testdata/bad/aksk_and_iam.yml:11: credentials.iam_incomplete.iam_password.domain: required
testdata/bad/aksk_and_iam.yml:11: credentials.iam_incomplete.iam_password.user: required
testdata/bad/aksk_and_iam.yml:13: credentials.iam_incomplete.iam_password.password_file: set together with password; use only one`,
		"unauthenticated_forward.yml": `
testdata/bad/unauthenticated_forward.yml:8: tenants[0].callback.allow_unauthenticated: allow_unauthenticated cannot go with forward_url: unauthenticated bodies would be relayed to the app signed with the tenant's key
testdata/bad/unauthenticated_forward.yml:13: tenants[1].callback.allow_unauthenticated: allow_unauthenticated cannot go with forward_url: unauthenticated bodies would be relayed to the app signed with the tenant's key`,
		"bad_callback.yml": `
testdata/bad/bad_callback.yml:4: defaults.callback.key_file: set together with key; use only one
testdata/bad/bad_callback.yml:5: defaults.callback.forward_timeout: must be greater than 0
testdata/bad/bad_callback.yml:10: tenants[0].callback.forward_url: must be an absolute http or https URL
testdata/bad/bad_callback.yml:11: tenants[0].callback.allow_unauthenticated: must be true or false
testdata/bad/bad_callback.yml:15: tenants[1].callback.forward_url: must not contain user info (credentials go in the query)
testdata/bad/bad_callback.yml:16: tenants[1].callback.key_file: cannot read "testdata/secrets/does-not-exist": no such file or directory
testdata/bad/bad_callback.yml:17: tenants[1].callback.forwad_timeout: unknown key; did you mean forward_timeout?
testdata/bad/bad_callback.yml:20: tenants[2].callback: must be a mapping`,
		"bad_discovery.yml": `
testdata/bad/bad_discovery.yml:4: discovery[0].credentials: required (here or in defaults.credentials)
testdata/bad/bad_discovery.yml:5: discovery[1].credentials: not found under credentials (defined: main)
testdata/bad/bad_discovery.yml:6: discovery[1].iam_endpoint: must be an absolute http or https URL
testdata/bad/bad_discovery.yml:7: discovery[1].regions: at least one region is required
testdata/bad/bad_discovery.yml:8: discovery[1].name_regex: not a valid regular expression: missing closing ]: ` + "`[`" + `
testdata/bad/bad_discovery.yml:9: discovery[1].name_prefix: must match ^[a-zA-Z0-9_.-]*$, to keep tenant names valid
testdata/bad/bad_discovery.yml:10: discovery[1].endpoint: must not contain a query
testdata/bad/bad_discovery.yml:11: discovery[1].refresh_interval: must be at least 30s
testdata/bad/bad_discovery.yml:13: discovery[2].regions[0]: must match ^[a-z0-9-]+$
testdata/bad/bad_discovery.yml:13: discovery[2].regions[2]: duplicate, also regions[0]
testdata/bad/bad_discovery.yml:13: discovery[2].regions[3]: must be a string
testdata/bad/bad_discovery.yml:14: discovery[2].endpoint: must be an absolute http or https URL
testdata/bad/bad_discovery.yml:15: discovery[3].regions: at least one region is required
testdata/bad/bad_discovery.yml:16: discovery[4]: must be a mapping`,
		"bad_duration.yml": `
testdata/bad/bad_duration.yml:2: defaults.timeout: not a valid duration (use e.g. 30s, 5m, 72h, 1d)
testdata/bad/bad_duration.yml:6: tenants[0].max_cache_age: not a valid duration (use e.g. 30s, 5m, 72h, 1d)
testdata/bad/bad_duration.yml:8: tenants[0].policy.max_exception_waiting: must be a string`,
		"bad_endpoint.yml": `
testdata/bad/bad_endpoint.yml:7: credentials.ops.iam_password.endpoint: must be an absolute http or https URL
testdata/bad/bad_endpoint.yml:11: tenants[0].endpoint: must be an absolute http or https URL
testdata/bad/bad_endpoint.yml:14: tenants[1].endpoint: must not contain user info
testdata/bad/bad_endpoint.yml:17: tenants[2].endpoint: must not contain a query
testdata/bad/bad_endpoint.yml:20: tenants[3].endpoint: must not contain a fragment
testdata/bad/bad_endpoint.yml:23: tenants[4].endpoint: must be an absolute http or https URL
testdata/bad/bad_endpoint.yml:24: tenants[4].region: must match ^[a-z0-9-]+$`,
		"bad_tenant_name.yml": `
testdata/bad/bad_tenant_name.yml:2: tenants[0].name: must match ^[a-zA-Z0-9_.-]+$
testdata/bad/bad_tenant_name.yml:4: tenants[1].name: required
testdata/bad/bad_tenant_name.yml:5: tenants[2].name: must match ^[a-zA-Z0-9_.-]+$`,
		"duplicate_key.yml": `
testdata/bad/duplicate_key.yml:4: tenants[0].name: duplicate key, first set on line 2
testdata/bad/duplicate_key.yml:9: credentials: duplicate key, first set on line 5`,
		"duplicate_name.yml": `
testdata/bad/duplicate_name.yml:6: tenants[2].name: duplicate name, also used by tenants[0]
testdata/bad/duplicate_name.yml:8: tenants[3].name: duplicate name, also used by tenants[0]`,
		"empty_secret_file.yml": `
testdata/bad/empty_secret_file.yml:3: credentials.main.access_key_file: "testdata/secrets/blank" is empty
testdata/bad/empty_secret_file.yml:4: credentials.main.secret_key_file: "testdata/secrets/empty" is empty`,
		"inline_and_file.yml": `
testdata/bad/inline_and_file.yml:4: credentials.main.access_key_file: set together with access_key; use only one
testdata/bad/inline_and_file.yml:6: credentials.main.secret_key_file: set together with secret_key; use only one
testdata/bad/inline_and_file.yml:8: credentials.main.security_token_file: set together with security_token; use only one`,
		"missing_env.yml": `
testdata/bad/missing_env.yml:6: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are missing from the environment`,
		"missing_project_id.yml": `
testdata/bad/missing_project_id.yml:4: tenants[1].project_id: required
testdata/bad/missing_project_id.yml:5: tenants[2].project_id: required
testdata/bad/missing_project_id.yml:8: tenants[3].project_id: must match ^[a-zA-Z0-9_-]{1,64}$
testdata/bad/missing_project_id.yml:10: tenants[4].project_id: must match ^[a-zA-Z0-9_-]{1,64}$`,
		"missing_secret_file.yml": `
testdata/bad/missing_secret_file.yml:4: credentials.main.secret_key_file: cannot read "testdata/secrets/does-not-exist": no such file or directory
testdata/bad/missing_secret_file.yml:9: credentials.ops.iam_password.password_file: cannot read "testdata/secrets": is a directory`,
		"negative_duration.yml": `
testdata/bad/negative_duration.yml:3: defaults.policy.max_live_duration: must not be negative
testdata/bad/negative_duration.yml:7: tenants[0].timeout: must be greater than 0
testdata/bad/negative_duration.yml:8: tenants[0].max_cache_age: must not be negative`,
		"no_tenants.yml": `
testdata/bad/no_tenants.yml:3: tenants: at least one tenant is required, or a discovery entry to find them`,
		"no_tenants_key.yml": `
testdata/bad/no_tenants_key.yml:1: tenants: at least one tenant is required, or a discovery entry to find them`,
		"not_mapping.yml": `
testdata/bad/not_mapping.yml:1: the file must be a YAML mapping`,
		"secret_in_wrong_type.yml": `
testdata/bad/secret_in_wrong_type.yml:2: defaults.timeout: not a valid duration (use e.g. 30s, 5m, 72h, 1d)
testdata/bad/secret_in_wrong_type.yml:7: credentials.main.secret_key: must be a string
testdata/bad/secret_in_wrong_type.yml:8: credentials.main.security_token: must be a string`,
		// The line whose indentation is wrong, not where yaml's parser
		// noticed (the block holding it, line 2).
		"syntax.yml": `
testdata/bad/syntax.yml:4: region is indented 3 spaces, but the keys of tenants[0] are at 4 and the items of tenants at 2`,
		"undefined_credentials.yml": `
testdata/bad/undefined_credentials.yml:2: defaults.credentials: not found under credentials (defined: main, ops)
testdata/bad/undefined_credentials.yml:15: tenants[1].credentials: not found under credentials (defined: main, ops)`,
		"undefined_credentials_none.yml": `
testdata/bad/undefined_credentials_none.yml:4: tenants[0].credentials: not found under credentials, which defines none`,
		"unknown_key_nested.yml": `
testdata/bad/unknown_key_nested.yml:3: defaults.policy.max_live: unknown key; did you mean max_live_duration?
testdata/bad/unknown_key_nested.yml:8: credentials.ops.iam_password.usr: unknown key; did you mean user?
testdata/bad/unknown_key_nested.yml:14: tenants[0].regoin: unknown key; did you mean region?`,
		"unknown_key_top.yml": `
testdata/bad/unknown_key_top.yml:1: tenant: unknown key; did you mean tenants?`,
		"wrong_shapes.yml": `
testdata/bad/wrong_shapes.yml:1: defaults: must be a mapping
testdata/bad/wrong_shapes.yml:3: credentials: must be a mapping
testdata/bad/wrong_shapes.yml:5: tenants: must be a list`,
	}
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Fatalf("testdata/bad has %d files, the table %d", len(files), len(cases))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := cases[name]
			if !ok {
				t.Fatalf("no expectation for %s", f)
			}
			env := testEnv
			if name == "missing_env.yml" {
				env = envOf(nil)
			}
			cfg, err := LoadWithEnv(f, env)
			if cfg != nil || err == nil {
				t.Fatalf("LoadWithEnv = %v, %v; want an error", cfg, err)
			}
			if got, want := err.Error(), strings.TrimPrefix(want, "\n"); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error is %T, want *LoadError", err)
			}
			if n := strings.Count(err.Error(), "\n") + 1; len(le.Problems) != n {
				t.Errorf("%d problems for %d lines", len(le.Problems), n)
			}
			for _, s := range neverInErrors {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows the secret %q", s)
				}
			}
		})
	}
}

func TestLoadErrorProblemsAndCauses(t *testing.T) {
	_, err := LoadWithEnv("testdata/bad/missing_secret_file.yml", testEnv)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error is %T, want *LoadError", err)
	}
	want := Problem{File: "testdata/bad/missing_secret_file.yml", Line: 4, Path: "credentials.main.secret_key_file",
		Message: `cannot read "testdata/secrets/does-not-exist": no such file or directory`}
	got := le.Problems[0]
	if got.File != want.File || got.Line != want.Line || got.Path != want.Path || got.Message != want.Message {
		t.Errorf("Problems[0] = %+v, want %+v", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is(err, fs.ErrNotExist) = false; the read error is not wrapped")
	}
}

func TestParseProblemsOrderedByLine(t *testing.T) {
	// Credentials are checked before tenants, yet the problems come out in
	// the order of the file.
	data := []byte(`tenants:
  - name: a
    project_id: p1
    timeout: never
credentials:
  main:
    access_key: AK
defaults:
  regoin: x
`)
	_, err := Parse(data, "metastudio.yml", ".", testEnv)
	want := `metastudio.yml:4: tenants[0].timeout: not a valid duration (use e.g. 30s, 5m, 72h, 1d)
metastudio.yml:6: credentials.main.secret_key: required (or secret_key_file)
metastudio.yml:9: defaults.regoin: unknown key; did you mean region?`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		// Values YAML cannot read are reported with their key paths, the
		// rest of the file still checked.
		{"tenants:\n  - name: a\n    project_id: p1: x\n", "m.yml:3: tenants[0].project_id: contains \": \", which YAML reads as a key: put the value in quotes"},
		{"tenants: [a, b\n", "m.yml:1: tenants: starts with \"[\", which YAML reads as a list: put the value in quotes"},
		{"a: b: c\n", "m.yml:1: a: unknown key\nm.yml:1: a: contains \": \", which YAML reads as a key: put the value in quotes\nm.yml:1: tenants: at least one tenant is required, or a discovery entry to find them"},
		// What the outline cannot place keeps yaml's message, without
		// anything it quotes.
		{"tenants:\n  - name: a\n    project_id: 'p1' x\n", "m.yml:3: tenants[0].project_id: has text after its closing quote: quote the whole value"},
		{"tenants:\n  - name: a\n    project_id: \"p1\\q\"\n", "m.yml:3: YAML syntax error: found unknown escape character"},
		{"tenants: []\n*Zq7wK9pLm2: x\n", "m.yml:2: an alias (a value starting with \"*\") names an anchor that is not defined; put a value that starts with \"*\" in quotes"},
		{"", "m.yml:1: tenants: at least one tenant is required, or a discovery entry to find them"},
	} {
		_, err := Parse([]byte(tc.data), "m.yml", ".", testEnv)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) error %v, want %q", tc.data, err, tc.want)
		}
	}
}
