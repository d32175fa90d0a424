package config

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxRepairs bounds how many unquoted values parseYAML blanks before it
// gives up and reports the syntax error as it is.
const maxRepairs = 32

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
	// A block mapping entry whose value starts with a character YAML gives a
	// meaning to. Keys of this file are plain words.
	unquotedValueRE = regexp.MustCompile("^[ \t]*(?:-[ \t]+)*([A-Za-z0-9_.-]+)[ \t]*:[ \t]+([*&!%@`|>{\\['\"])")
)

// parserMessages are the yaml parser's (not its scanner's) messages. The
// parser names the zero-based line where the enclosing block starts, the
// scanner the one-based line of the problem.
var parserMessages = []string{
	"did not find expected ", "found undefined tag handle", "found duplicate %", "found incompatible YAML document",
}

// yamlError splits a parser error into its one-based line and message.
func yamlError(err error) (int, string) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		// Without a line the mark was on the first line.
		return 1, strings.TrimPrefix(msg, "yaml: ")
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	for _, p := range parserMessages {
		if strings.HasPrefix(msg, p) && !scannerDidNotFind(msg) {
			line++
			break
		}
	}
	return line, msg
}

// scannerDidNotFind tells the scanner's "did not find expected ..." messages
// from the parser's.
func scannerDidNotFind(msg string) bool {
	for _, s := range []string{"comment or line break", "alphabetic or numeric", "digit or '.'", "whitespace", "version number", "tag URI", "'!'", "hexdecimal", "URI escaped"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// parseYAML parses data into a node tree. When the parser stops at an
// unquoted value that starts with a YAML indicator (a secret such as
// `*Ab3...` or `%xy...`), the value is blanked and parsing starts over, so
// that the value is reported with its key path and a hint to quote it, and
// the rest of the file is still checked. unquoted maps the blanked lines to
// their indicator.
func parseYAML(data []byte) (*yaml.Node, map[int]byte, error) {
	unquoted := map[int]byte{}
	for {
		var doc yaml.Node
		err := yaml.Unmarshal(data, &doc)
		if err == nil {
			return &doc, unquoted, nil
		}
		line, at, ok := unquotedValueAt(data, err)
		// A line blanked before that still stops the parser is not the
		// value's fault.
		if !ok || unquoted[line] != 0 || len(unquoted) >= maxRepairs {
			return nil, unquoted, &parseError{err: err, unquoted: unquoted, data: data}
		}
		unquoted[line] = data[at]
		data = blankValue(data, at)
	}
}

// parseError is a syntax error together with the values blanked before it.
type parseError struct {
	err      error
	unquoted map[int]byte
	data     []byte
}

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// unquotedValueAt finds the value the parser stopped at, if it is an
// unquoted value starting with an indicator: its line and byte offset.
func unquotedValueAt(data []byte, err error) (int, int, bool) {
	if m := unknownAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		for i, l := range lines(data) {
			if v := unquotedValueRE.FindSubmatchIndex(l.text); v != nil && l.text[v[4]] == '*' && bytes.HasPrefix(l.text[v[4]+1:], []byte(m[1])) {
				return i + 1, l.start + v[4], true
			}
		}
		return 0, 0, false
	}
	line, _ := yamlError(err)
	ls := lines(data)
	if line < 1 || line > len(ls) {
		return 0, 0, false
	}
	l := ls[line-1]
	v := unquotedValueRE.FindSubmatchIndex(l.text)
	if v == nil {
		return 0, 0, false
	}
	return line, l.start + v[4], true
}

type textLine struct {
	text  []byte
	start int
}

func lines(data []byte) []textLine {
	var out []textLine
	start := 0
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		out = append(out, textLine{text: bytes.TrimRight(l, "\r\n"), start: start})
		start += len(l)
	}
	return out
}

// blankValue replaces the value starting at offset at, up to the end of its
// line, with "".
func blankValue(data []byte, at int) []byte {
	end := bytes.IndexByte(data[at:], '\n')
	if end < 0 {
		end = len(data) - at
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:at]...)
	out = append(out, `""`...)
	return append(out, data[at+end:]...)
}

// syntaxProblems turns a parser error into Problems: one per value blanked
// on the way and one for the error itself. The blanked values go without a
// key path, as the tree they belong to could not be built, and without the
// key as written, which is not known to be a key of this file. Parser
// messages describe structure, never values, except an unknown anchor's,
// whose name is not repeated.
func syntaxProblems(file string, err error) []Problem {
	var out []Problem
	var data []byte
	var pe *parseError
	if errors.As(err, &pe) {
		data = pe.data
		for line, c := range pe.unquoted {
			out = append(out, Problem{File: file, Line: line, Message: "a value " + hintMessage(c)})
		}
		err = pe.err
	}
	line, msg := yamlError(err)
	switch {
	case unknownAnchorRE.MatchString(err.Error()):
		line = 1
		if m := unknownAnchorRE.FindStringSubmatch(err.Error()); m != nil {
			for i, l := range lines(data) {
				if bytes.Contains(l.text, []byte("*"+m[1])) {
					line = i + 1
					break
				}
			}
		}
		msg = "an alias (a value starting with \"*\") names an anchor that is not defined; put a value that starts with \"*\" in quotes"
	case msg == "found a tab character that violates indentation":
		// The scanner names the line where the value before the tab
		// started; the tab is on a later line's indentation.
		for i, l := range lines(data) {
			if i+1 > line && bytes.ContainsRune(l.text[:len(l.text)-len(bytes.TrimLeft(l.text, " \t"))], '\t') {
				line = i + 1
				break
			}
		}
	}
	return append(out, Problem{File: file, Line: line, Message: "YAML syntax error: " + msg, cause: err})
}

func hintMessage(c byte) string {
	return "starts with " + strconv.Quote(string(c)) + ", which YAML reads as " + indicatorMeaning[c] + ": put the value in quotes"
}
