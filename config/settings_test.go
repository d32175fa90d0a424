package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const levelsFile = `defaults:
  credentials: main
  timeout: 20s
  policy: {max_live_duration: 2h}
  callback: {forward_timeout: 7s}
  rooms: {max_rooms: 50}
credentials:
  main: {access_key: AK, secret_key: SK}
discovery:
  - regions: [cn-east-3]
    timeout: 30s
    rooms: {refresh_interval: 0s}
    policy: {max_exception_waiting: 1h}
tenants:
  - {name: plain, project_id: p1}
  - name: own
    project_id: p2
    policy: {max_exception_waiting: 5m}
    rooms: {refresh_interval: 2m}
    live_jobs: {refresh_interval: 0s}
    callback: {allow_unauthenticated: true}
`

// TestSettingsLevels: defaults apply over the built-ins, a tenant or a
// discovery entry over defaults, and nested sections key by key at every
// level.
func TestSettingsLevels(t *testing.T) {
	cfg, err := Parse([]byte(levelsFile), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	defaults := BuiltinSettings()
	defaults.Timeout = 20 * time.Second
	defaults.Policy.MaxLiveDuration = 2 * time.Hour
	defaults.Callback.ForwardTimeout = 7 * time.Second
	defaults.Rooms.MaxRooms = 50

	own := defaults
	own.Policy.MaxExceptionWaiting = 5 * time.Minute
	own.Rooms.RefreshInterval = 2 * time.Minute
	own.LiveJobs.RefreshInterval = 0
	own.Callback.AllowUnauthenticated = true

	discovered := defaults // the entry's tenants get it with their own region
	discovered.Region = ""
	discovered.Timeout = 30 * time.Second
	discovered.Rooms.RefreshInterval = 0
	discovered.Policy.MaxExceptionWaiting = time.Hour

	plain, _ := cfg.Tenant("plain")
	ownTenant, _ := cfg.Tenant("own")
	for _, tc := range []struct {
		name      string
		got, want Settings
	}{
		{"plain", plain.Settings, defaults},
		{"own", ownTenant.Settings, own},
		{"discovered", cfg.Discovery()[0].Settings, discovered},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, tc.got, tc.want)
		}
	}
}

// settingPath is a key of Settings, as a path of nested keys, with its
// field.
type settingPath struct {
	keys  []string
	field *field
}

func settingLeaves(s *schema, prefix []string) []settingPath {
	var out []settingPath
	for _, f := range s.fields {
		keys := append(slices.Clone(prefix), f.key)
		if f.kind == kindSection {
			out = append(out, settingLeaves(f.sub, keys)...)
			continue
		}
		out = append(out, settingPath{keys, f})
	}
	return out
}

// sampleValue is a value for f that passes its checks and differs from
// every built-in default.
func sampleValue(t *testing.T, f *field) string {
	switch f.kind {
	case kindDuration:
		return "2h"
	case kindInt:
		return "7"
	case kindBool:
		return "true"
	case kindCustom:
		return "{team: payments}"
	case kindCustomBlock:
		return "{proxy_url: 'http://proxy.example.test:3128'}"
	case kindString, kindSecret:
		switch strings.Join(f.checks.names, ",") {
		case "":
			return "some-value"
		case "region":
			return "eu-west-101"
		case "forward_url":
			return "https://app.example.test/events"
		}
	}
	t.Fatalf("no sample value for %s (kind %d, checks %v)", f.key, f.kind, f.checks.names)
	return ""
}

// nested writes keys as nested flow mappings around value.
func nested(keys []string, value string) string {
	out := value
	for i := len(keys) - 1; i >= 0; i-- {
		out = "{" + keys[i] + ": " + out + "}"
	}
	return out
}

// TestEverySettingIsHandled walks Settings, so that a key added to it
// cannot be left out of what it must reach: a discovery entry takes it
// (but region) and passes it to its tenants, its key changes with it so
// that the tenant set lists the entry again, and /config shows it.
func TestEverySettingIsHandled(t *testing.T) {
	const head = "credentials:\n  main: {access_key: AK, secret_key: SK}\ndiscovery:\n  - credentials: main\n    regions: [cn-north-4]\n"
	base, err := Parse([]byte(head), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	baseView, _ := base.Redacted()
	leaves := settingLeaves(schemaOf(reflect.TypeFor[Settings]()), nil)
	if len(leaves) < 12 {
		t.Fatalf("found only %d settings; the walk is broken", len(leaves))
	}
	for _, leaf := range leaves {
		path := strings.Join(leaf.keys, ".")
		t.Run(path, func(t *testing.T) {
			line := fmt.Sprintf("    %s: %s\n", leaf.keys[0], nested(leaf.keys[1:], sampleValue(t, leaf.field)))
			cfg, err := Parse([]byte(head+line), "m.yml", ".", testEnv)
			if leaf.keys[0] == "region" {
				if err == nil {
					t.Fatal("a discovery entry took region")
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			src := &cfg.Discovery()[0]
			if src.Key() == base.Discovery()[0].Key() {
				t.Error("the entry's key does not change with it")
			}
			if reflect.DeepEqual(src.Settings, base.Discovery()[0].Settings) {
				t.Error("the entry's tenants do not get it")
			}
			if view, _ := cfg.Redacted(); string(view) == string(baseView) || !strings.Contains(string(view), leaf.keys[len(leaf.keys)-1]) {
				t.Errorf("/config does not show it:\n%s", view)
			}
		})
	}
}

// TestBadSchemaPanics: a tag the schema cannot read is a bug to find at
// start, not a key silently ignored.
func TestBadSchemaPanics(t *testing.T) {
	type unknownCheck struct {
		Timeout time.Duration `yaml:"timeout" check:"positve"`
	}
	type noFileField struct {
		Key string `yaml:"key,orfile"`
	}
	type unknownOption struct {
		Name string `yaml:"name,omitemtpy"`
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[unknownCheck](), reflect.TypeFor[noFileField](), reflect.TypeFor[unknownOption]()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", typ.Name())
				}
			}()
			buildSchema(typ)
		}()
	}
}
