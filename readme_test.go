package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/alecthomas/kingpin/v2"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// The README is a user's guide kept short on purpose; the reference lives
// in docs/. These tests keep the two honest: the README stays short, its
// links and the docs' links lead somewhere, and the reference lists every
// flag and metric the program has.

const maxReadmeLines = 250

// docFiles are the Markdown files whose links are checked: the README and
// the reference it links to.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, docs...)
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeLength(t *testing.T) {
	// Counted as wc -l counts: newline characters.
	if n := strings.Count(readDoc(t, "README.md"), "\n"); n > maxReadmeLines {
		t.Errorf("README.md has %d lines, at most %d: move reference material into docs/", n, maxReadmeLines)
	}
}

var (
	fenceRE       = regexp.MustCompile("(?ms)^ *```.*?^ *```[^\n]*$")
	doubleCodeRE  = regexp.MustCompile("(?s)``.+?``")
	singleCodeRE  = regexp.MustCompile("`[^`]*`")
	inlineLinkRE  = regexp.MustCompile(`\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	headingRE     = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
	urlSchemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	helpFlagRE    = regexp.MustCompile(`(?m)^ {2,10}(?:-[a-zA-Z], )?--(?:\[no-\])?([a-z][a-z0-9.-]*)`)
	flagsRowRE    = regexp.MustCompile("(?m)^\\| `--([a-z][a-z0-9.-]*)`")
	exporterFlags = regexp.MustCompile("`--((?:config|web|scrape|background|log|callback|events)\\.[a-z0-9.-]*[a-z0-9])")
)

// withoutCode blanks fenced blocks and inline code, where brackets and
// hashes are not Markdown.
func withoutCode(md string) string {
	md = fenceRE.ReplaceAllString(md, "")
	md = doubleCodeRE.ReplaceAllString(md, "code")
	return singleCodeRE.ReplaceAllString(md, "code")
}

// markdownLinks returns the targets of the inline links in md.
func markdownLinks(md string) []string {
	var targets []string
	for _, m := range inlineLinkRE.FindAllStringSubmatch(withoutCode(md), -1) {
		targets = append(targets, m[2])
	}
	return targets
}

// headingAnchors returns the anchors GitHub gives md's headings: the text
// lower-cased, everything but letters, marks, digits, connector
// punctuation, spaces and hyphens dropped, spaces turned into hyphens, and
// -1, -2, … appended to repeats.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range headingRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(md, ""), -1) {
		text := inlineLinkRE.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

func TestHeadingAnchors(t *testing.T) {
	md := "# Title\n## Caching (`max_cache_age`)\n```\n# not a heading\n```\n## Two replicas (HA)\n## Two replicas (HA)\n### The [receiver](x.md) — in brief ##\n"
	got := headingAnchors(md)
	for _, want := range []string{"title", "caching-max_cache_age", "two-replicas-ha", "two-replicas-ha-1", "the-receiver--in-brief"} {
		if !got[want] {
			t.Errorf("anchor #%s missing from %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block became a heading")
	}
}

func TestMarkdownLinks(t *testing.T) {
	md := "See [a](docs/a.md#x), [`code`\nsplit](b.md) and <https://example.com>.\n`[not](a-link.md)`\n```\n[nor](this.md)\n```\n[web](https://example.com/x)\n"
	got := markdownLinks(md)
	want := []string{"docs/a.md#x", "b.md", "https://example.com/x"}
	if !slices.Equal(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
}

// TestDocLinksResolve: every relative link in the README and docs/ names a
// file or directory of the repository, and every #anchor a heading of the
// Markdown file it points into.
func TestDocLinksResolve(t *testing.T) {
	for _, file := range docFiles(t) {
		for _, target := range markdownLinks(readDoc(t, file)) {
			if urlSchemeRE.MatchString(target) {
				continue // a web address: not checked offline
			}
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s: link %q: %s does not exist", file, target, resolved)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(resolved, ".md") {
				t.Errorf("%s: link %q: an anchor into a file that is not Markdown", file, target)
				continue
			}
			if !headingAnchors(readDoc(t, resolved))[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, target, resolved, anchor)
			}
		}
	}
}

// helpFlags runs the program with args (a help request) and returns the
// long flag names its help lists.
func helpFlags(t *testing.T, args ...string) []string {
	t.Helper()
	var out bytes.Buffer
	if code := run(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("%s exited %d:\n%s", strings.Join(args, " "), code, out.String())
	}
	var names []string
	for _, m := range helpFlagRE.FindAllStringSubmatch(out.String(), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("%s listed no flags:\n%s", strings.Join(args, " "), out.String())
	}
	return names
}

// TestFlagsDocumented: docs/flags.md has a row for every flag the program
// and its simulate and callback-test commands print in their help, and
// documents no flag they do not have; the README and docs mention only
// real flags.
func TestFlagsDocumented(t *testing.T) {
	known := map[string]bool{}
	for _, args := range [][]string{{"--help"}, {"simulate", "--help"}, {"callback-test", "--help"}} {
		for _, name := range helpFlags(t, args...) {
			known[name] = true
		}
	}
	flagsDoc := readDoc(t, "docs/flags.md")
	rows := map[string]bool{}
	for _, m := range flagsRowRE.FindAllStringSubmatch(flagsDoc, -1) {
		rows[m[1]] = true
		if !known[m[1]] {
			t.Errorf("docs/flags.md documents --%s, which --help does not list", m[1])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(known)) {
		if !rows[name] && !strings.Contains(flagsDoc, "`--"+name+"`") {
			t.Errorf("--%s is in --help but not in docs/flags.md", name)
		}
	}
	// Hidden flags (the receiver's timeouts, for tests) are not in --help,
	// but the docs may name them.
	mentionable := maps.Clone(known)
	app := kingpin.New(exporterName, "")
	if _, err := parseFlags(app, nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range app.Model().Flags {
		mentionable[m.Name] = true
	}
	for _, file := range docFiles(t) {
		for _, m := range exporterFlags.FindAllStringSubmatch(readDoc(t, file), -1) {
			if !mentionable[m[1]] {
				t.Errorf("%s mentions --%s, which --help does not list", file, m[1])
			}
		}
	}
}

// documentedMetrics are the metric names of the product's interface; every
// one must be described in docs/metrics.md.
var documentedMetrics = []string{
	"metastudio_up", "metastudio_scrape_duration_seconds", "metastudio_scrape_error_info",
	"metastudio_tenant_info", "metastudio_data_age_seconds",
	"metastudio_live_max_duration_seconds", "metastudio_live_max_exception_waiting_seconds",
	"metastudio_live_auto_stop_mode_info", "metastudio_live_event_callback_configured",
	"metastudio_live_event_callback_https", "metastudio_live_event_callback_auth_type_info",
	"metastudio_live_event_callback_key_configured", "metastudio_live_event_callback_event_enabled",
	"metastudio_live_notify_event_enabled", "metastudio_live_config_hash",
	"metastudio_policy_max_live_duration_seconds", "metastudio_policy_max_exception_waiting_seconds",
	"metastudio_exporter_build_info", "metastudio_exporter_api_requests_total",
	"metastudio_exporter_api_request_duration_seconds",
	"metastudio_exporter_config_last_reload_successful",
	"metastudio_exporter_config_last_reload_success_timestamp_seconds",
	"metastudio_live_stream_state", "metastudio_live_stream_state_timestamp_seconds",
	"metastudio_live_job_last_event_timestamp_seconds", "metastudio_live_script_paragraph",
	"metastudio_live_events_total", "metastudio_live_event_callback_routed_here",
	"metastudio_exporter_callback_requests_total", "metastudio_exporter_callback_forwards_total",
	"metastudio_exporter_callback_tracked_streams", "metastudio_exporter_callback_evicted_streams_total",
	"metastudio_exporter_discovery_tenants", "metastudio_exporter_discovery_last_success_timestamp_seconds",
	"metastudio_exporter_discovery_errors_total",
	"metastudio_rooms_up", "metastudio_rooms_last_success_timestamp_seconds", "metastudio_rooms_refresh_interval_seconds",
	"metastudio_rooms_skipped", "metastudio_room_info", "metastudio_room_play_repeats",
	"metastudio_room_live_max_duration_seconds", "metastudio_room_live_max_exception_waiting_seconds",
	"metastudio_room_event_callback_https", "metastudio_room_event_callback_auth_type_info",
	"metastudio_room_event_callback_url_credentials",
	"metastudio_live_jobs_up", "metastudio_live_jobs_last_success_timestamp_seconds", "metastudio_live_jobs_refresh_interval_seconds",
	"metastudio_live_jobs", "metastudio_live_job_info", "metastudio_live_job_duration_seconds",
	"metastudio_live_job_stream_duration_seconds", "metastudio_live_job_start_timestamp_seconds",
	"metastudio_live_job_max_duration_seconds", "metastudio_live_job_event_callback_info",
	"metastudio_live_job_failed_timestamp_seconds",
}

var typeLineRE = regexp.MustCompile(`(?m)^# TYPE (\S+) `)

// TestMetricsDocumented: docs/metrics.md has a row for every metric of the
// interface and for every metric a demo run serves besides the standard
// Go, process and promhttp ones.
func TestMetricsDocumented(t *testing.T) {
	e := startExporter(t, "--demo")
	code, body := e.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
	names := slices.Clone(documentedMetrics)
	for _, m := range typeLineRE.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "go_") && !strings.HasPrefix(m[1], "process_") && !strings.HasPrefix(m[1], "promhttp_") {
			names = append(names, m[1])
		}
	}
	metricsDoc := readDoc(t, "docs/metrics.md")
	for _, name := range slices.Compact(slices.Sorted(slices.Values(names))) {
		if !regexp.MustCompile("(?m)^\\| `" + name + "[`{]").MatchString(metricsDoc) {
			t.Errorf("%s has no row in docs/metrics.md", name)
		}
	}
}

var yamlBlockRE = regexp.MustCompile("(?ms)^```yaml\n(defaults:.*?)^```")

// TestConfigExamplesLoad: the config examples in the README and in
// docs/configuration.md load as they are written, their secret files
// standing where they say.
func TestConfigExamplesLoad(t *testing.T) {
	secrets := t.TempDir()
	for _, name := range []string{"sk", "pw"} {
		writeFile(t, secrets, name, "not-a-real-secret\n")
	}
	noEnv := func(string) (string, bool) { return "", false }
	for _, file := range []string{"README.md", "docs/configuration.md"} {
		blocks := yamlBlockRE.FindAllStringSubmatch(readDoc(t, file), -1)
		if len(blocks) == 0 {
			t.Errorf("%s: no config example found", file)
		}
		for _, b := range blocks {
			example := strings.ReplaceAll(b[1], "/etc/metastudio_exporter/", secrets+"/")
			if _, err := config.Parse([]byte(example), file, secrets, noEnv); err != nil {
				t.Errorf("%s: the config example does not load:\n%v", file, err)
			}
		}
	}
}
