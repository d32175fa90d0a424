package config

import (
	"fmt"
	"strings"
)

// The outline reads the block structure of the file from its lines, the
// way YAML lays it out, without YAML's parser. It finds what the parser
// cannot say, or says on the wrong line: values no YAML parser can read
// (an unquoted value starting with an indicator such as a secret "%ab..."),
// all of them at once and with their key paths, so that they can be
// blanked before the one parse; and the first line whose layout is wrong
// (a tab in the indentation, a key indented too far or to no block), for
// when the parse fails. It only ever reports lines, keys and paths: never
// a value.

// unreadable is a value to blank before parsing: from start to the end of
// its line (bytes of the file), with the hint the decoder gives for it.
type unreadable struct {
	line       int
	start, end int
	path       string
	hint       string
}

const msgUnknownAlias = `an alias (a value starting with "*") names an anchor that is not defined; put a value that starts with "*" in quotes`

// fault is a line whose layout YAML cannot read.
type fault struct {
	line int
	path string
	msg  string
	// ignored: YAML reads the file, without this line and those after it.
	ignored bool
}

type srcLine struct {
	text  string // without the line break
	start int    // offset in the file
}

// level is an open block: a mapping or a sequence at one indentation.
type level struct {
	indent int
	seq    bool
	path   string // the block's own path
	key    string // a mapping's last key
	index  int    // a sequence's last item
	line   int    // where its last entry is
	// open: the last entry has no value on its line, so a deeper line is
	// that entry's value.
	open bool
	// compact: a sequence written at its parent key's indentation.
	compact bool
}

type outline struct {
	lines      []srcLine
	stack      []level
	anchors    map[string]bool
	unreadable []unreadable
	fault      *fault // the first, after which the layout is not known
}

// splitLines splits at each line break YAML knows: "\n", "\r\n" and a
// lone "\r".
func splitLines(data []byte) []srcLine {
	var out []srcLine
	start := 0
	for j := 0; j < len(data); j++ {
		if data[j] != '\n' && data[j] != '\r' {
			continue
		}
		out = append(out, srcLine{text: string(data[start:j]), start: start})
		if data[j] == '\r' && j+1 < len(data) && data[j+1] == '\n' {
			j++
		}
		start = j + 1
	}
	if start < len(data) {
		out = append(out, srcLine{text: string(data[start:]), start: start})
	}
	return out
}

// readOutline reads data up to its first fault.
func readOutline(data []byte) *outline {
	o := &outline{lines: splitLines(data), anchors: map[string]bool{}}
	for i := 0; i < len(o.lines) && o.fault == nil; i++ {
		i = o.line(i)
	}
	return o
}

// line reads line i and returns the last line it used (values may span
// lines).
func (o *outline) line(i int) int {
	text := o.lines[i].text
	content := strings.TrimLeft(text, " \t")
	if content == "" || content[0] == '#' {
		return i
	}
	indentation := text[:len(text)-len(content)]
	if strings.ContainsRune(indentation, '\t') {
		o.fault = &fault{line: i + 1, msg: "a tab character is used for indentation; YAML indents with spaces"}
		return i
	}
	col := len(indentation)
	if content == "?" || strings.HasPrefix(content, "? ") {
		// An explicit key: a config file has none, and what follows is not
		// read line by line; the outline stops here.
		return len(o.lines)
	}
	if col == 0 && (isMarker(content, "---") || isMarker(content, "...") || content[0] == '%' && len(o.stack) == 0) {
		return i
	}
	for {
		if content == "-" || strings.HasPrefix(content, "- ") {
			rest := o.properties(strings.TrimLeft(content[1:], " "))
			if !o.enter(i, col, true, "-", rest != "" && hasKey(rest)) {
				return i
			}
			dashCol := col
			col += len(content) - len(rest)
			content = rest
			if content == "" || content[0] == '#' {
				return i
			}
			if content != "-" && !strings.HasPrefix(content, "- ") && !hasKey(content) {
				return o.value(i, dashCol, o.lines[i].start+len(text)-len(content), o.top().itemPath())
			}
			continue
		}
		// An anchor or a tag may come before a key.
		if props := o.properties(content); props != content && props != "" {
			content = props
		}
		key, colon := keyOf(content)
		if key == "" && content[0] == '*' {
			if name, _ := token(content[1:]); !o.anchors[name] {
				o.fault = &fault{line: i + 1, msg: msgUnknownAlias}
			}
		}
		if key == "" {
			return o.node(i, col, o.lines[i].start+len(text)-len(content))
		}
		if !o.enter(i, col, false, key, true) {
			return i
		}
		rest := strings.TrimLeft(content[colon+1:], " \t")
		return o.value(i, col, o.lines[i].start+len(text)-len(rest), joinPath(o.top().path, key))
	}
}

// node reads a line that holds neither a key nor a list item: the value
// of the entry above it that has none on its own line, or a continuation
// of the text above it, which YAML reads as part of that text whatever it
// starts with.
func (o *outline) node(i, col, at int) int {
	if len(o.stack) == 0 {
		// The file is one value, not a mapping: the decoder says so, and
		// nothing in it is a key's value to check.
		return len(o.lines)
	}
	if top := o.top(); top.open && col > top.indent {
		return o.value(i, top.indent, at, top.childPath())
	}
	return i
}

// properties skips the anchors and tags that come before a value,
// recording the anchors.
func (o *outline) properties(v string) string {
	for len(v) > 0 && (v[0] == '&' || v[0] == '!') {
		name, rest := token(v[1:])
		if v[0] == '&' {
			o.anchors[name] = true
		}
		v = strings.TrimLeft(rest, " \t")
	}
	return v
}

func isMarker(s, marker string) bool {
	return strings.HasPrefix(s, marker) && (len(s) == 3 || s[3] == ' ' || s[3] == '\t')
}

// keyOf returns the key of a mapping entry written on a line ("key: ..."
// or "key:"), or "" if the line holds none, and where its colon is. Keys
// of this file are plain words; a quoted key counts too.
func keyOf(s string) (string, int) {
	if s[0] == '"' || s[0] == '\'' {
		end := closingQuote(s, 0)
		if end < 0 || !isColonAt(s, end+1) {
			return "", 0
		}
		return s[:end+1], end + 1
	}
	if isColonAt(s, 0) {
		return `""`, 0 // an empty key, as after a tag or an anchor
	}
	// "-", "?" and ":" start a plain word when a non-space follows them.
	plainStart := strings.IndexByte("-?:", s[0]) >= 0 && len(s) > 1 && s[1] != ' ' && s[1] != '\t'
	if strings.IndexByte("-?:,[]{}#&*!|>%@`", s[0]) >= 0 && !plainStart {
		return "", 0
	}
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '#' && j > 0 && (s[j-1] == ' ' || s[j-1] == '\t'):
			return "", 0
		case isColonAt(s, j):
			return strings.TrimRight(s[:j], " \t"), j
		}
	}
	return "", 0
}

func hasKey(s string) bool {
	k, _ := keyOf(s)
	return k != ""
}

func isColonAt(s string, j int) bool {
	return j < len(s) && s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t')
}

func (o *outline) top() *level { return &o.stack[len(o.stack)-1] }

func (l *level) itemPath() string { return indexPath(l.path, l.index) }

// childPath is the path of the value of the block's last entry.
func (l *level) childPath() string {
	if l.seq {
		return l.itemPath()
	}
	return joinPath(l.path, l.key)
}

// enter places an entry (a key, or "-" for a list item) at column col of
// line i in the open blocks, or records why it fits none. withKey tells
// that a list item holds a key on its line.
func (o *outline) enter(i, col int, seq bool, key string, withKey bool) bool {
	var popped []level
	for len(o.stack) > 0 && o.top().indent > col {
		popped = append(popped, *o.top())
		o.stack = o.stack[:len(o.stack)-1]
	}
	if len(o.stack) == 0 && len(popped) > 0 {
		// yaml.v3 ends the document here without an error: this line and
		// all after it would be dropped silently.
		o.fault = &fault{line: i + 1, ignored: true, msg: fmt.Sprintf(
			"indented less than the first line of the file (%s, not %d): YAML ignores this line and all after it; indent the top-level keys alike",
			spaces(col), popped[len(popped)-1].indent)}
		return false
	}
	if len(o.stack) == 0 {
		o.stack = append(o.stack, level{indent: col, seq: seq})
	}
	top := o.top()
	switch {
	case top.indent < col && len(popped) > 0:
		o.fault = &fault{line: i + 1, msg: fmt.Sprintf("%s is indented %s, but %s",
			entryName(key), spaces(col), blockColumns(append(popped, *top)))}
		return false
	case top.indent < col && top.open:
		o.stack = append(o.stack, level{indent: col, seq: seq, path: top.childPath()})
	case top.indent < col && seq && !withKey:
		return false // "key: text" then "  - more": YAML reads one text
	case top.indent < col && seq:
		o.fault = &fault{line: i + 1, msg: fmt.Sprintf(
			"a list item is indented further than %s on line %d, which already has a value; items line up with the other items of their list",
			entryName(top.lastEntry()), top.line)}
		return false
	case top.indent < col:
		o.fault = &fault{line: i + 1, path: joinPath(top.path, key), msg: fmt.Sprintf(
			"%s is indented further than %s on line %d (%s, not %d), which already has a value; keys of one mapping line up",
			key, entryName(top.lastEntry()), top.line, spaces(col), top.indent)}
		return false
	case top.seq == seq:
	case seq && top.open:
		// "key:" then "- item" at the key's own indentation.
		o.stack = append(o.stack, level{indent: col, seq: true, path: top.childPath(), compact: true})
	case !seq && top.compact:
		o.stack = o.stack[:len(o.stack)-1]
	case seq:
		o.fault = &fault{line: i + 1, path: top.path, msg: "a list item among the keys of this mapping, at their indentation; indent it under the key whose list it is"}
		return false
	default:
		o.fault = &fault{line: i + 1, path: top.path, msg: fmt.Sprintf(
			"%s is a key among the items of this list, at their indentation; indent it under an item, or less to end the list", key)}
		return false
	}
	top = o.top()
	if seq {
		if top.line != 0 {
			top.index++
		}
	} else {
		top.key = key
	}
	top.line, top.open = i+1, true
	return true
}

func (l *level) lastEntry() string {
	if l.seq {
		return "-"
	}
	return l.key
}

func entryName(key string) string {
	if key == "-" {
		return "a list item"
	}
	return key
}

// blockColumns says where the blocks a line could have continued start.
func blockColumns(levels []level) string {
	var parts []string
	for n, l := range levels {
		if n > 0 && l.indent == levels[n-1].indent {
			continue // a list at its key's indentation: named once
		}
		what := "the keys of " + l.path
		switch {
		case l.seq:
			what = "the items of " + l.path
		case l.path == "":
			what = "the top-level keys"
		}
		verb := " are at "
		if len(parts) > 0 {
			verb = " at "
		}
		parts = append(parts, fmt.Sprintf("%s%s%d", what, verb, l.indent))
	}
	return joinList(parts, " and ")
}

func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}
