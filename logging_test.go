package main

import (
	"bytes"
	"regexp"
	"testing"
)

// TestToolkitLinesLookLikeOurs: exporter-toolkit logs through slog; its
// lines must have our key order (ts, caller, level, msg) so that every line
// has one format.
func TestToolkitLinesLookLikeOurs(t *testing.T) {
	var buf bytes.Buffer
	logs := newLoggers("info", "logfmt", &buf)
	logs.slogLogger("info").Info("Listening on", "address", "127.0.0.1:10036")
	_ = logs.main.Log("level", "info", "msg", "ours")
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
