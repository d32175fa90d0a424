package config

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a config file, located at the line of the
// offending key (or of the enclosing mapping when a required key is missing)
// so that an operator can jump straight to it.
type Problem struct {
	File    string
	Line    int
	Path    string // e.g. "tenants[2].project_id"; empty for YAML syntax errors
	Message string

	// cause keeps the underlying error (a failed secret file read) reachable
	// through errors.Is/As without putting anything but Message in the text.
	cause error
}

func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Path, p.Message)
}

// LoadError reports every problem found in a config file at once, so one
// --config.check run is enough to fix a file instead of one round per typo.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the causes of secret file failures (e.g. fs.ErrNotExist).
func (e *LoadError) Unwrap() []error {
	var causes []error
	for _, p := range e.Problems {
		if p.cause != nil {
			causes = append(causes, p.cause)
		}
	}
	return causes
}

// problems collects Problems while a file is decoded and validated.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(line int, path, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// count is how many problems have been found so far: a step that adds
// none went through.
func (ps *problems) count() int { return len(ps.list) }

func (ps *problems) addCause(line int, path string, cause error, format string, args ...any) {
	ps.add(line, path, format, args...)
	ps.list[len(ps.list)-1].cause = cause
}

// err returns nil when nothing was found, and otherwise the problems in file
// order; problems on the same line keep the order they were found in.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sorted := slices.Clone(ps.list)
	slices.SortStableFunc(sorted, func(a, b Problem) int { return a.Line - b.Line })
	return &LoadError{Problems: sorted}
}
