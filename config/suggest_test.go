package config

import (
	"strings"
	"testing"
)

// TestMisplacedKeys: a key the section does not take says where it
// belongs, worked out from the sections' descriptions: below the section
// it is in, elsewhere in the file, or a typo of one of the section's own.
func TestMisplacedKeys(t *testing.T) {
	const tenant = "  - name: a\n    project_id: p\n"
	for _, tc := range []struct{ data, want string }{
		{
			"policy:\n  max_live_duration: 1h\ntenants:\n" + tenant,
			"m.yml:1: policy: unknown key; policy belongs under defaults:, a tenant (tenants[N]) or a discovery entry (discovery[N])",
		},
		{
			"tenants:\n" + tenant + "    max_live_duration: 3h\n",
			"m.yml:4: tenants[0].max_live_duration: unknown key; max_live_duration belongs under policy:",
		},
		{
			"forward_timeout: 3s\ntenants:\n" + tenant,
			"m.yml:1: forward_timeout: unknown key; forward_timeout belongs under callback: in defaults:, a tenant (tenants[N]) or a discovery entry (discovery[N])",
		},
		{
			"tenants:\n" + tenant + "    max_rooms: 3\n",
			"m.yml:4: tenants[0].max_rooms: unknown key; max_rooms belongs under rooms:",
		},
		{
			"tenants:\n" + tenant + "    refresh_interval: 1m\n",
			"m.yml:4: tenants[0].refresh_interval: unknown key; refresh_interval belongs under rooms: or live_jobs:",
		},
		{
			// Valid YAML, one indentation short: under defaults, not policy.
			"defaults:\n  policy:\n    max_live_duration: 1h\n  max_exception_waiting: 5m\ntenants:\n" + tenant,
			"m.yml:4: defaults.max_exception_waiting: unknown key; max_exception_waiting belongs under policy:",
		},
		{
			"max_rooms: 3\ntenants:\n" + tenant,
			"m.yml:1: max_rooms: unknown key; max_rooms belongs under rooms: in defaults:, a tenant (tenants[N]) or a discovery entry (discovery[N])",
		},
		{
			"tenants:\n" + tenant + "    access_key: AK\n",
			"m.yml:4: tenants[0].access_key: unknown key; access_key belongs under a credentials entry (credentials.NAME)",
		},
		{
			"tenants:\n" + tenant + "    proxy_url: http://proxy.internal:3128\n",
			"m.yml:4: tenants[0].proxy_url: unknown key; proxy_url belongs under http_client:",
		},
		{
			"tenants:\n" + tenant + "    http_client:\n      ca_file: ca.pem\n",
			"m.yml:5: tenants[0].http_client.ca_file: unknown key; ca_file belongs under tls_config:",
		},
		{
			"tenants:\n" + tenant + "    forward_url: https://app.internal/\n",
			"m.yml:4: tenants[0].forward_url: unknown key; forward_url belongs under callback:",
		},
		{
			"credentials:\n  m: {access_key: AK, secret_key: SK}\ndiscovery:\n  - credentials: m\n    regions: [cn-north-4]\n    region: cn-north-4\n",
			"m.yml:6: discovery[0].region: unknown key; a discovery entry takes each project's region from the project's name (see regions)",
		},
		{
			"tenants:\n" + tenant + "    regoin: cn-north-4\n",
			"m.yml:4: tenants[0].regoin: unknown key; did you mean region?",
		},
		{
			"tenant:\n" + tenant,
			"m.yml:1: tenant: unknown key; did you mean tenants?\nm.yml:1: tenants: at least one tenant is required, or a discovery entry to find them",
		},
		{
			"tenants:\n" + tenant + "    colour: blue\n",
			"m.yml:4: tenants[0].colour: unknown key",
		},
	} {
		if got := parseErr(t, tc.data); got != tc.want {
			t.Errorf("%s\ngot\n%s\nwant\n%s", tc.data, got, tc.want)
		}
	}
}

// TestEveryKeyIsPlaced: every key of every section is found where it is
// taken, so a suggestion never sends a user somewhere wrong.
func TestEveryKeyIsPlaced(t *testing.T) {
	for _, p := range places {
		for _, key := range p.schema.keys() {
			if where := wherePlaced(key); !strings.Contains(where, p.name) {
				t.Errorf("%s: %s is said to belong under %q", p.name, key, where)
			}
		}
	}
}
