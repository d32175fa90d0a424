package config

import "strings"

// How the outline reads the value on an entry's line: what YAML makes of
// its first character, and where a value that spans lines ends.

// value reads the value written after an entry (at offset at of line i,
// the entry being at column col) and returns the last line it uses.
func (o *outline) value(i, col, at int, path string) int {
	l := o.lines[i]
	v := l.text[at-l.start:]
	props := o.properties(v)
	at += len(v) - len(props)
	v = props
	if v == "" || v[0] == '#' {
		return i // the value is the block below
	}
	o.top().open = false
	switch c := v[0]; c {
	case '%', '@', '`':
		o.blank(i, at, path, hintMessage(c))
	case '*':
		if name, _ := token(v[1:]); !o.anchors[name] {
			o.blank(i, at, path, hintMessage(c))
		}
	case '|', '>':
		if !blockHeader(v[1:]) {
			o.blank(i, at, path, hintMessage(c))
			return i
		}
		return o.skipBlock(i, col)
	case '"', '\'':
		j, rest, ok := o.quoted(i, at-l.start, c)
		switch {
		case !ok:
			o.blank(i, at, path, hintMessage(c))
		case !isComment(rest):
			o.blank(i, at, path, "has text after its closing quote: quote the whole value")
		}
		return j
	case '[', '{':
		j, ok := o.flow(i, at-l.start, path)
		if !ok && o.fault == nil {
			o.blank(i, at, path, hintMessage(c))
			return i
		}
		return j
	default:
		if plainHasColon(v) {
			o.blank(i, at, path, `contains ": ", which YAML reads as a key: put the value in quotes`)
		}
	}
	return i
}

func (o *outline) blank(i, at int, path, hint string) {
	l := o.lines[i]
	o.unreadable = append(o.unreadable, unreadable{line: i + 1, start: at, end: l.start + len(l.text), path: path, hint: hint})
}

// token splits an anchor, alias or tag name from what follows it.
func token(s string) (string, string) {
	end := strings.IndexAny(s, " \t,[]{}")
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

func isComment(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return s == "" || s[0] == '#'
}

// blockHeader tells whether what follows "|" or ">" is a block scalar's
// header: indentation and chomping indicators, then at most a comment.
func blockHeader(s string) bool {
	return isComment(strings.TrimLeft(s, "0123456789+-"))
}

// plainHasColon tells whether an unquoted value holds ": " (or ends in
// ":"), which YAML reads as a mapping inside the value and refuses.
func plainHasColon(v string) bool {
	if j := strings.Index(v, " #"); j >= 0 {
		v = v[:j]
	}
	v = strings.TrimRight(v, " \t")
	return strings.Contains(v, ": ") || strings.Contains(v, ":\t") || strings.HasSuffix(v, ":")
}

// skipBlock skips the lines of a block scalar: those indented further
// than its entry, and blank ones.
func (o *outline) skipBlock(i, col int) int {
	for i+1 < len(o.lines) {
		text := o.lines[i+1].text
		if strings.TrimLeft(text, " ") != "" && len(text)-len(strings.TrimLeft(text, " ")) <= col {
			break
		}
		i++
	}
	return i
}

// closingQuote finds the quote that closes the one at s[open] on the same
// text, or -1.
func closingQuote(s string, open int) int {
	q := s[open]
	for j := open + 1; j < len(s); j++ {
		switch {
		case q == '"' && s[j] == '\\':
			j++
		case s[j] == q && q == '\'' && j+1 < len(s) && s[j+1] == '\'':
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

// quoted follows a quoted value from column pos of line i, across lines if
// it spans them, and returns its last line and what follows the closing
// quote there; ok is false when it is never closed.
func (o *outline) quoted(i, pos int, q byte) (int, string, bool) {
	text := o.lines[i].text
	for j := i; j < len(o.lines); j++ {
		if j > i {
			// Go on as if the line continued the text, quote still open.
			text = string(q) + o.lines[j].text
			pos = 0
		}
		if end := closingQuote(text, pos); end >= 0 {
			return j, text[end+1:], true
		}
	}
	return i, "", false
}

// flow follows a flow collection from column pos of line i to its close,
// checking the aliases in it; ok is false when it is never closed, or
// when it names an anchor not defined before it (o.fault says so).
func (o *outline) flow(i, pos int, path string) (int, bool) {
	depth := 0
	var quote byte // the quote a scalar inside is open with, across lines
	for j := i; j < len(o.lines); j++ {
		text, start := o.lines[j].text, 0
		if j == i {
			start = pos
		}
		for k := start; k < len(text); k++ {
			c := text[k]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					k++
				case c == '\'' && quote == '\'' && k+1 < len(text) && text[k+1] == '\'':
					k++
				case c == quote:
					quote = 0
				}
				continue
			}
			switch {
			case !tokenStart(text, k, start):
			case c == '"' || c == '\'':
				quote = c
			case c == '#' && (k == start || text[k-1] == ' ' || text[k-1] == '\t'):
				k = len(text)
			case c == '[' || c == '{':
				depth++
			case c == ']' || c == '}':
				depth--
				if depth == 0 {
					return j, true
				}
			case c == '&' || c == '*':
				name, _ := token(text[k+1:])
				if c == '&' {
					o.anchors[name] = true
				} else if !o.anchors[name] {
					o.fault = &fault{line: j + 1, path: path, msg: msgUnknownAlias}
					return j, false
				}
				k += len(name)
			}
		}
	}
	return i, false
}

// tokenStart tells whether a quote, anchor or alias character at text[k]
// starts one, rather than being part of a plain scalar ("don't", "a*b");
// other characters always count.
func tokenStart(text string, k, start int) bool {
	switch text[k] {
	case '"', '\'', '&', '*':
		return k == start || strings.IndexByte("[{,: \t", text[k-1]) >= 0
	}
	return true
}
