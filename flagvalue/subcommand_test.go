package flagvalue

import (
	"errors"
	"strings"
	"testing"
)

func TestSubcommandParse(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		done       bool
		stdout     string // a prefix
		stderr     string
		checked    bool
		checkFails bool
	}{
		{args: nil, checked: true},
		{args: []string{"--name=x"}, checked: true},
		{args: []string{"--help"}, code: 0, done: true, stdout: "usage: prog sub [<flags>]\n"},
		{args: []string{"-h", "--name=x"}, code: 0, done: true, stdout: "usage: prog sub [<flags>]\n"},
		{args: []string{"--bogus"}, code: 2, done: true, stderr: "prog sub: error: unknown long flag '--bogus', try --help\n"},
		{args: []string{"extra"}, code: 2, done: true, stderr: "prog sub: error: unexpected extra, try --help\n"},
		{args: []string{"--name=x"}, code: 2, done: true, checked: true, checkFails: true,
			stderr: `prog sub: error: --name="x": not this one, try --help` + "\n"},
	} {
		var stdout, stderr strings.Builder
		s := NewSubcommand("prog sub", "A subcommand.", &stdout, &stderr)
		name := s.Flag("name", "A name.").Default("").String()
		checked := false
		code, done := s.Parse(tc.args, func() error {
			checked = true
			if tc.checkFails {
				return errors.New(`--name="` + *name + `": not this one`)
			}
			return nil
		})
		if code != tc.code || done != tc.done || checked != tc.checked {
			t.Errorf("%q: code %d, done %v, checked %v; want %d, %v, %v", tc.args, code, done, checked, tc.code, tc.done, tc.checked)
		}
		if !strings.HasPrefix(stdout.String(), tc.stdout) || (tc.stdout == "" && stdout.Len() > 0) {
			t.Errorf("%q: stdout %q, want it to start with %q", tc.args, stdout.String(), tc.stdout)
		}
		if got := stderr.String(); got != tc.stderr {
			t.Errorf("%q: stderr %q, want %q", tc.args, got, tc.stderr)
		}
	}
}
