package config

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAML parses data once; it returns a nil document when the parse
// fails, and problems either way. Before that, the values the outline finds no
// YAML parser could read (unquoted values starting with an indicator, such
// as a secret "%Ab3..." or "*Ab3...") are blanked, each of them, so that
// the parse goes through: the decoder then reports each with its key path
// and a hint (unquoted maps their lines to it), and the rest of the file
// is still checked. When the parse fails all the same, the problems are
// those values and one for the syntax error, placed by the outline where
// it can; yaml's message is used only when the outline has nothing to say,
// with anything it quotes left out.
func parseYAML(data []byte, file string) (*yaml.Node, map[int]string, []Problem) {
	o := readOutline(data)
	unquoted := map[int]string{}
	if len(o.unreadable) > 0 {
		data = blankValues(data, o.unreadable)
		for _, u := range o.unreadable {
			unquoted[u.line] = u.hint
		}
	}
	var doc yaml.Node
	err := yaml.Unmarshal(data, &doc)
	if err == nil {
		if f := o.fault; f != nil && f.ignored {
			return &doc, unquoted, []Problem{{File: file, Line: f.line, Path: f.path, Message: f.msg}}
		}
		return &doc, unquoted, nil
	}
	var out []Problem
	for _, u := range o.unreadable {
		out = append(out, Problem{File: file, Line: u.line, Path: u.path, Message: u.hint})
	}
	// The parser names the line of the problem, or of the block around it
	// when the problem ends that block: the problem is on that line or
	// after it. Its error is not kept as a cause: it may quote a value.
	line, msg := yamlError(err)
	if f := o.fault; f != nil && f.line >= line {
		return nil, nil, append(out, Problem{File: file, Line: f.line, Path: f.path, Message: f.msg})
	}
	return nil, nil, append(out, Problem{File: file, Line: max(line, 1), Message: "YAML syntax error: " + msg})
}

// blankValues replaces each value with "" up to the end of its line.
func blankValues(data []byte, values []unreadable) []byte {
	out := make([]byte, 0, len(data))
	last := 0
	for _, u := range values {
		out = append(out, data[last:u.start]...)
		out = append(out, `""`...)
		last = u.end
	}
	return append(out, data[last:]...)
}

// yamlError takes the line from a yaml error ("yaml: line N: ...", or no
// line on the first one) and its message without anything it quotes but a
// single punctuation character ("did not find expected '-' indicator"):
// an anchor's name, say, is the rest of a secret that starts with "*".
func yamlError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, found := strings.Cut(rest, ": "); found {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	return line, withoutQuoted(msg)
}

func withoutQuoted(msg string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(msg, '\'')
		if open < 0 {
			b.WriteString(msg)
			break
		}
		end := strings.IndexByte(msg[open+1:], '\'')
		if end < 0 {
			b.WriteString(msg[:open])
			break
		}
		quoted := msg[open+1 : open+1+end]
		b.WriteString(msg[:open])
		if len(quoted) == 1 && !isAlnum(quoted[0]) {
			b.WriteString("'" + quoted + "'")
		}
		msg = msg[open+end+2:]
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// indicatorMeaning says what YAML made of an unquoted value that starts with
// one of its indicator characters.
var indicatorMeaning = map[byte]string{
	'*': "an alias", '&': "an anchor", '!': "a tag", '%': "a directive",
	'@': "a reserved character", '`': "a reserved character",
	'|': "a literal block", '>': "a folded block", '{': "a mapping", '[': "a list",
	'"': "a quoted string that is not closed", '\'': "a quoted string that is not closed",
}

// hintMessage names only the first character of the value: the rest may be
// a secret.
func hintMessage(c byte) string {
	return "starts with " + strconv.Quote(string(c)) + ", which YAML reads as " + indicatorMeaning[c] + ": put the value in quotes"
}

// hint reports a value YAML did not read as the text that was typed: the
// outline blanked it (see parseYAML), or the parser took its first
// character as an anchor or a tag.
func (d *decoder) hint(v *yaml.Node, path string) bool {
	if v == nil || v.Kind != yaml.ScalarNode {
		return false
	}
	var msg string
	switch {
	case v.Style == yaml.DoubleQuotedStyle && v.Value == "" && d.unquoted[v.Line] != "":
		msg = d.unquoted[v.Line]
	case strings.HasPrefix(v.Tag, "!") && !strings.HasPrefix(v.Tag, "!!"):
		msg = hintMessage('!')
	case v.Anchor != "" && v.Tag == "!!null":
		msg = hintMessage('&')
	default:
		return false
	}
	d.add(v.Line, path, "%s", msg)
	return true
}
