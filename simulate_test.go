package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSimulateCommand: `simulate` is dispatched before the exporter's own
// flags are parsed, and the exporter's help points at it.
func TestSimulateCommand(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		code         int
		stdout       string
		stderrPrefix string
	}{
		{[]string{"--help"}, 0, "`metastudio_exporter simulate`", ""},
		{[]string{"simulate", "--help"}, 0, "usage: metastudio_exporter simulate [<flags>]\n", ""},
		{[]string{"simulate", "--demo"}, 2, "", "metastudio_exporter simulate: error: unknown long flag '--demo', try --help\n"},
		{[]string{"simulate", "--listen-address"}, 2, "", "metastudio_exporter simulate: error: expected argument for flag '--listen-address', try --help\n"},
		// Only the first argument names the command.
		{[]string{"--demo", "simulate"}, 2, "", "metastudio_exporter: error: unexpected simulate"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.HasPrefix(stderr.String(), tc.stderrPrefix) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderrPrefix)
		}
	}
}
