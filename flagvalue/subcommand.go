package flagvalue

import (
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"
)

// Subcommand is the command line of a subcommand (callback-test,
// simulate): its help and errors go to the writers it is given, and after
// --help or a bad command line it returns the exit code instead of
// exiting, so that the program, and its tests, run it in-process.
type Subcommand struct {
	*kingpin.Application
	name   string
	stderr io.Writer
	exited *int
}

// NewSubcommand returns the command line of the subcommand name (the
// program's name and the subcommand's, as usage and errors start) with its
// help text; -h is --help.
func NewSubcommand(name, help string, stdout, stderr io.Writer) *Subcommand {
	s := &Subcommand{Application: kingpin.New(name, help), name: name, stderr: stderr}
	s.UsageWriter(stdout)
	s.ErrorWriter(stderr)
	s.HelpFlag.Short('h')
	s.Terminate(func(code int) { s.exited = &code })
	return s
}

// Parse parses args, then runs check when there is one. done says to exit
// with code at once: 0 after --help, which kingpin printed, or 2 after a
// bad command line or a failed check, printed as "NAME: error: ERR, try
// --help".
func (s *Subcommand) Parse(args []string, check func() error) (code int, done bool) {
	_, err := s.Application.Parse(args)
	switch {
	case s.exited != nil:
		return *s.exited, true
	case err == nil && check != nil:
		err = check()
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "%s: error: %v, try --help\n", s.name, err)
		return 2, true
	}
	return 0, false
}
