package logging

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/demo"
)

// TestToolkitLinesLookLikeOurs: exporter-toolkit logs through slog; its
// lines must have our key order (ts, caller, level, msg) so that every line
// has one format.
func TestToolkitLinesLookLikeOurs(t *testing.T) {
	var buf bytes.Buffer
	logs := New("info", "logfmt", &buf, nil)
	logs.Slog("info").Info("Listening on", "address", "127.0.0.1:10036")
	_ = logs.Main.Log("level", "info", "msg", "ours")
	shape := regexp.MustCompile(`^ts=\S+Z caller=\S+:\d+ level=info msg=\S+`)
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if !shape.Match(l) {
			t.Errorf("line %q does not start ts=… caller=… level=… msg=…", l)
		}
	}
	if !bytes.HasSuffix(lines[0], []byte(`msg="Listening on" address=127.0.0.1:10036`)) {
		t.Errorf("toolkit line: %q", lines[0])
	}
}

// TestQuietLoggerKeepsCaller: with the demo's filter around the level
// filter, a line still names the code that logged it, and demo-rejected's
// warning is a debug line.
func TestQuietLoggerKeepsCaller(t *testing.T) {
	for _, quiet := range []func(log.Logger) log.Logger{nil, demo.QuietLogger} {
		var buf bytes.Buffer
		logs := New("debug", "logfmt", &buf, quiet)
		_ = level.Warn(log.With(logs.Main, "component", "test")).Log("msg", "x", "tenant", "demo-rejected")
		_, _, line, _ := runtime.Caller(0)
		want := fmt.Sprintf(" caller=logging_test.go:%d level=warn component=test msg=x tenant=demo-rejected\n", line-1)
		if quiet != nil {
			want = strings.Replace(want, "level=warn", "level=debug", 1)
		}
		if got := buf.String(); !strings.HasSuffix(got, want) {
			t.Errorf("quiet %v: got %q, want …%q", quiet != nil, got, want)
		}
	}
}
