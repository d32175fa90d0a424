package main

import (
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// TestMain lets a test run the compiled test binary as the program itself,
// for what only a whole process shows: kingpin's --help-long and --help-man
// write to the process's stdout, whatever writer run was given.
func TestMain(m *testing.M) {
	if os.Getenv("METASTUDIO_EXPORTER_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// runWithin runs the program with args and fails the test if it does not
// exit within 10s: a program that started serving never would.
func runWithin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut lockedbuffer.Buffer
	exited := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { exited <- run(ctx, args, &out, &errOut) }()
	select {
	case code = <-exited:
	case <-time.After(10 * time.Second):
		cancel()
		<-exited
		t.Fatalf("%v: still running after 10s; stdout:\n%s\nstderr:\n%s", args, out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// assertNotListening fails the test if something serves on addr.
func assertNotListening(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("something listens on %s: %v", addr, err)
		return
	}
	_ = ln.Close()
}

const helpStart = "usage: metastudio_exporter [<flags>]\n\nPrometheus exporter for Huawei Cloud MetaStudio live-streaming settings.\n"

// TestHelpAndVersionExitZero: help and version print their text and exit 0,
// whatever else is on the command line, and nothing starts serving.
func TestHelpAndVersionExitZero(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		start string
	}{
		{[]string{"--help"}, helpStart},
		{[]string{"-h"}, helpStart},
		{[]string{"--demo", "--help"}, helpStart},
		{[]string{"--help", "--demo"}, helpStart},
		{[]string{"--help", "--scrape.max-concurrency=0"}, helpStart},
		{[]string{"--version"}, "metastudio_exporter, version dev (branch: , revision: unknown)\n"},
		{[]string{"--version", "--demo"}, "metastudio_exporter, version dev (branch: , revision: unknown)\n"},
	} {
		addr := loopback.FreeAddress(t)
		code, stdout, stderr := runWithin(t, append(tc.args, "--web.listen-address="+addr)...)
		if code != 0 || !strings.HasPrefix(stdout, tc.start) || stderr != "" {
			t.Errorf("%v: exit %d, stdout %.120q, stderr %q; want exit 0, stdout beginning %q and no stderr",
				tc.args, code, stdout, stderr, tc.start)
		}
		assertNotListening(t, addr)
	}
}

// TestLongHelpAndManPageExitZero runs the program as a process: kingpin
// writes these two to os.Stdout.
func TestLongHelpAndManPageExitZero(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		start string
	}{
		{[]string{"--help-long", "--demo"}, helpStart},
		{[]string{"--demo", "--help-man"}, ".TH metastudio_exporter 1"},
	} {
		addr := loopback.FreeAddress(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], append(tc.args, "--web.listen-address="+addr)...)
		cmd.Env = append(os.Environ(), "METASTUDIO_EXPORTER_TEST_RUN_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil || !strings.HasPrefix(stdout.String(), tc.start) || stderr.Len() != 0 {
			t.Errorf("%v: %v, stdout %.120q, stderr %q; want exit 0, stdout beginning %q and no stderr",
				tc.args, err, stdout.String(), stderr.String(), tc.start)
		}
		assertNotListening(t, addr)
	}
}

// TestFlagErrors: a bad flag value is one line that names the flag and the
// value and says what is wrong, exit 2, and nothing starts.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scrape.max-concurrency=abc"}, `--scrape.max-concurrency="abc": not a whole number`},
		{[]string{"--scrape.max-concurrency=1.5"}, `--scrape.max-concurrency="1.5": not a whole number`},
		{[]string{"--scrape.max-concurrency=99999999999999999999"}, `--scrape.max-concurrency="99999999999999999999": out of range`},
		{[]string{"--scrape.max-concurrency=0"}, `--scrape.max-concurrency="0": must be at least 1`},
		{[]string{"--scrape.max-concurrency=-3"}, `--scrape.max-concurrency="-3": must be at least 1`},
		{[]string{"--background.max-concurrency=0"}, `--background.max-concurrency="0": must be at least 1`},
		{[]string{"--background.max-concurrency=four"}, `--background.max-concurrency="four": not a whole number`},
		{[]string{"--web.max-requests=-1"}, `--web.max-requests="-1": must be at least 0`},
		{[]string{"--web.max-requests=many"}, `--web.max-requests="many": not a whole number`},
		{[]string{"--scrape.timeout-offset=abc"}, `--scrape.timeout-offset="abc": not a duration (such as 500ms or 1s)`},
		{[]string{"--scrape.timeout-offset=5"}, `--scrape.timeout-offset="5": not a duration (such as 500ms or 1s)`},
		{[]string{"--scrape.timeout-offset=-1s"}, `--scrape.timeout-offset="-1s": must not be negative`},
		{[]string{"--log.level=loud"}, `--log.level="loud": must be one of debug, info, warn, error`},
		{[]string{"--log.format=xml"}, `--log.format="xml": must be one of logfmt, json`},
		{[]string{"--web.telemetry-path=metrics"}, `--web.telemetry-path="metrics": must start with /`},
		{[]string{"--web.telemetry-path="}, `--web.telemetry-path="": must start with /`},
		{[]string{"--web.telemetry-path=/probe"}, `--web.telemetry-path="/probe": /probe is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/sd"}, `--web.telemetry-path="/sd": /sd is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/config"}, `--web.telemetry-path="/config": /config is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/-/reload"}, `--web.telemetry-path="/-/reload": /-/reload is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/-/healthy"}, `--web.telemetry-path="/-/healthy": /-/healthy is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/-/ready"}, `--web.telemetry-path="/-/ready": /-/ready is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/debug/pprof/"}, `--web.telemetry-path="/debug/pprof/": /debug/pprof/ is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/debug/pprof/heap"}, `--web.telemetry-path="/debug/pprof/heap": /debug/pprof/ is taken by another endpoint`},
		{[]string{"--web.telemetry-path=/my metrics"}, `--web.telemetry-path="/my metrics": " " is not allowed in a path`},
		{[]string{"--web.telemetry-path=/metrics/{tenant}"}, `--web.telemetry-path="/metrics/{tenant}": "{" is not allowed in a path`},
		{[]string{"--web.telemetry-path=/metrics?x=1"}, `--web.telemetry-path="/metrics?x=1": "?" is not allowed in a path`},
		{[]string{"--web.telemetry-path=//metrics"}, `--web.telemetry-path="//metrics": not a clean path; did you mean /metrics?`},
		{[]string{"--web.telemetry-path=/a/../metrics"}, `--web.telemetry-path="/a/../metrics": not a clean path; did you mean /metrics?`},
		{[]string{"--demo", "--config.file=metastudio.yml"}, `--demo serves built-in sample tenants and reads no config file; drop --config.file, or --demo to use the file`},
		{[]string{"--config.file=x.yml", "--demo"}, `--demo serves built-in sample tenants and reads no config file; drop --config.file, or --demo to use the file`},
		{[]string{"--demo", "--config.check"}, `--config.check checks a config file and --demo has none; drop one of them`},
		{[]string{"--callback.external-url=mon.example.com"}, `--callback.external-url="mon.example.com": must be an absolute http or https URL, such as https://mon.example.com:10037`},
		{[]string{"--callback.external-url=https://u:s3cr3t@mon.example.com"}, `--callback.external-url="https://u:xxxxx@mon.example.com": must not contain user info`},
		{[]string{"--callback.external-url=https://mon.example.com/?x=1"}, `--callback.external-url="https://mon.example.com/?<secret>": must not contain a query or fragment`},
		{[]string{"--callback.external-url=https://mon.example.com/cb?access_token=s3cr3t&tok"}, `--callback.external-url="https://mon.example.com/cb?<secret>": must not contain a query or fragment`},
		{[]string{"--callback.max-streams=0"}, `--callback.max-streams="0": must be at least 1`},
		{[]string{"--callback.max-clock-skew=5"}, `--callback.max-clock-skew="5": not a duration (such as 500ms or 1s)`},
		{[]string{"--callback.end-retention=-1m"}, `--callback.end-retention="-1m": must be positive`},
		{[]string{"--callback.end-retention=0"}, `--callback.end-retention="0": must be positive`},
		{[]string{"--callback.max-clock-skew=0"}, `--callback.max-clock-skew="0": must be positive`},
		{[]string{"--callback.max-clock-skew=-5m"}, `--callback.max-clock-skew="-5m": must be positive`},
		{[]string{"--callback.settings-max-age=0s"}, `--callback.settings-max-age="0s": must be positive`},
		{[]string{"--callback.settings-max-age=-1m"}, `--callback.settings-max-age="-1m": must be positive`},
		{[]string{"--callback.max-streams=-1"}, `--callback.max-streams="-1": must be at least 1`},
		{[]string{"--callback.max-connections=0"}, `--callback.max-connections="0": must be at least 1`},
		{[]string{"--callback.max-connections=-1"}, `--callback.max-connections="-1": must be at least 1`},
		{[]string{"--callback.read-header-timeout=0"}, `--callback.read-header-timeout="0": must be positive`},
		{[]string{"--callback.read-timeout=0"}, `--callback.read-timeout="0": must be positive`},
		{[]string{"--callback.idle-timeout=-1s"}, `--callback.idle-timeout="-1s": must be positive`},
		{[]string{"--discovery.retry-base=0"}, `--discovery.retry-base="0": must be positive`},
		{[]string{"--discovery.retry-base=soon"}, `--discovery.retry-base="soon": not a duration (such as 500ms or 1s)`},
		{[]string{"--bogus"}, `unknown long flag '--bogus'`},
	} {
		addr := loopback.FreeAddress(t)
		code, stdout, stderr := runWithin(t, append(tc.args, "--web.listen-address="+addr)...)
		if want := "metastudio_exporter: error: " + tc.want + "\n"; code != 2 || stderr != want || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %.80q; want exit 2 and stderr %q", tc.args, code, stderr, stdout, want)
		}
		assertNotListening(t, addr)
	}
}

// TestHiddenFlagDefaults: the hidden flags that let tests shorten a wait
// default to the waits the product has, so that leaving them alone is
// production behaviour; --help (TestHelpListsEveryFlag) does not show them.
func TestHiddenFlagDefaults(t *testing.T) {
	app := kingpin.New(exporterName, "")
	f, err := parseFlags(app, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{
		"discovery.retry-base":         f.discoveryRetryBase,
		"callback.read-header-timeout": f.callback.readHeaderTimeout,
		"callback.read-timeout":        f.callback.readTimeout,
		"callback.idle-timeout":        f.callback.idleTimeout,
	}
	want := map[string]time.Duration{
		"discovery.retry-base":         10 * time.Second,
		"callback.read-header-timeout": 10 * time.Second,
		"callback.read-timeout":        30 * time.Second,
		"callback.idle-timeout":        60 * time.Second,
	}
	if !maps.Equal(got, want) {
		t.Errorf("defaults %v, want %v", got, want)
	}
	for _, m := range app.Model().Flags {
		if _, ok := want[m.Name]; ok && !m.Hidden {
			t.Errorf("--%s is not hidden", m.Name)
		}
	}
	f, err = parseFlags(kingpin.New(exporterName, ""), []string{"--discovery.retry-base=250ms"})
	if err != nil || f.discoveryRetryBase != 250*time.Millisecond {
		t.Errorf("--discovery.retry-base=250ms: %v, %v", f, err)
	}
}

// TestFlagErrorQuotesBoundedValue: a flag's value is quoted back whole up
// to 64 bytes, no more.
func TestFlagErrorQuotesBoundedValue(t *testing.T) {
	code, _, stderr := runWithin(t, "--log.level="+strings.Repeat("x", 10000))
	want := `metastudio_exporter: error: --log.level="` + strings.Repeat("x", 64) + `"…: must be one of debug, info, warn, error` + "\n"
	if code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", code, stderr, want)
	}
}

// TestHelpListsEveryFlag: --help shows every flag with its default and a
// description that says what it does.
func TestHelpListsEveryFlag(t *testing.T) {
	code, stdout, _ := runWithin(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// A flag's entry is its line and the indented description lines below.
	flagLine := regexp.MustCompile(`^  (?:-h, |    )--(?:\[no-\])?([a-z.-]+)(=\S*)?`)
	var names []string
	entries := map[string]string{}
	for line := range strings.Lines(strings.SplitN(stdout, "Flags:\n", 2)[1]) {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			names = append(names, m[1]+m[2])
		}
		if len(names) > 0 {
			entries[names[len(names)-1]] += line
		}
	}
	want := []string{
		"help",
		`config.file="metastudio.yml"`,
		"config.check",
		"demo",
		`web.telemetry-path="/metrics"`,
		"web.max-requests=40",
		"scrape.max-concurrency=32",
		"background.max-concurrency=4",
		"scrape.timeout-offset=0.5s",
		"log.level=info",
		"log.format=logfmt",
		"web.systemd-socket",
		"web.listen-address=:10036",
		`web.config.file=""`,
		`callback.listen-address=""`,
		`callback.web-config.file=""`,
		`callback.external-url=""`,
		"callback.max-clock-skew=5m",
		"callback.max-streams=2000",
		"callback.end-retention=15m",
		`callback.state-file=""`,
		"callback.max-connections=1000",
		"callback.settings-max-age=5m",
		"version",
	}
	if !slices.Equal(names, want) {
		t.Errorf("--help lists\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for name, says := range map[string]string{
		`config.file="metastudio.yml"`:  "Tenants config file.",
		"config.check":                  "print a summary and exit: 0 if it is valid, 1 if not.",
		"demo":                          "built-in MetaStudio simulator",
		`web.telemetry-path="/metrics"`: "Path under which to expose every tenant's and the exporter's own metrics.",
		"web.max-requests=40":           "past it the answer is 503. 0 means no limit. /probe is bounded by --scrape.max-concurrency instead.",
		"scrape.max-concurrency=32":     "Upstream calls in flight at once, across all scrapes.",
		"background.max-concurrency=4":  "never one a scrape waits for.",
		"scrape.timeout-offset=0.5s":    "X-Prometheus-Scrape-Timeout-Seconds",
		"log.level=info":                "One of: [debug, info, warn, error]",
		"log.format=logfmt":             "One of: [logfmt, json]",
		"web.listen-address=:10036":     "Repeatable for multiple addresses.",
		`web.config.file=""`:            "enable TLS or authentication",
		"version":                       "Show application version.",
	} {
		// Descriptions wrap; compare with single spaces.
		if got := strings.Join(strings.Fields(entries[name]), " "); !strings.Contains(got, says) {
			t.Errorf("--help on %s: %q lacks %q", name, got, says)
		}
	}
}
