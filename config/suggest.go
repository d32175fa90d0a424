package config

import (
	"reflect"
	"slices"
	"strings"
)

// A key the section does not take is an error; the message says where the
// key belongs when the sections' descriptions take it elsewhere, so that a
// key nested under the wrong parent, or not nested at all, is found at
// once. The key is the user's own text (it is in the path already); no
// value is ever looked at.

// keyed is a field type with keys of its own (http_client).
type keyed interface{ keySchema() *schema }

var keyedType = reflect.TypeFor[keyed]()

func (d *decoder) unknownKey(line int, path, key string, s *schema) {
	d.add(line, path, "%s", unknownKeyMessage(key, s))
}

func unknownKeyMessage(key string, s *schema) string {
	if s == nil {
		if places := wherePlaced(key); places != "" {
			return "unknown key; " + key + " belongs under " + places
		}
		return "unknown key" + didYouMean(key, placeKeys())
	}
	if why, ok := exceptWhy[key]; ok && slices.Contains(s.except, key) {
		return "unknown key; " + why
	}
	if under := nestedIn(s, key, ""); len(under) > 0 {
		return "unknown key; " + key + " belongs under " + orList(under)
	}
	if places := wherePlaced(key); places != "" {
		return "unknown key; " + key + " belongs under " + places
	}
	return "unknown key" + didYouMean(key, s.keys())
}

// nestedIn lists the sections below s, as paths relative to it ending in
// ":", that take key.
func nestedIn(s *schema, key, prefix string) []string {
	var out []string
	for _, f := range s.fields {
		sub := subSchema(f)
		if sub == nil {
			continue
		}
		p := joinPath(prefix, f.key)
		if _, ok := sub.byKey[key]; ok {
			out = append(out, p+":")
		}
		out = append(out, nestedIn(sub, key, p)...)
	}
	return out
}

func subSchema(f *field) *schema {
	switch {
	case f.sub != nil:
		return f.sub
	case f.typ.Implements(keyedType):
		return reflect.Zero(f.typ).Interface().(keyed).keySchema()
	}
	return nil
}

// wherePlaced says in which sections of the file key is taken: the places
// themselves, then sections nested in them, grouped by their path.
func wherePlaced(key string) string {
	var groups []string
	var direct []string
	nested := map[string][]string{}
	var order []string
	for _, p := range places {
		if _, ok := p.schema.byKey[key]; ok {
			direct = append(direct, p.name)
		}
		for _, sub := range nestedIn(p.schema, key, "") {
			if _, seen := nested[sub]; !seen {
				order = append(order, sub)
			}
			nested[sub] = append(nested[sub], p.name)
		}
	}
	if len(direct) > 0 {
		groups = append(groups, orList(direct))
	}
	for _, sub := range order {
		groups = append(groups, sub+" in "+orList(nested[sub]))
	}
	return strings.Join(groups, "; or ")
}

func placeKeys() []string {
	var out []string
	for _, p := range places {
		out = append(out, p.key)
	}
	return out
}

// orList joins items as "a, b or c".
func orList(items []string) string { return joinList(items, " or ") }

func joinList(items []string, last string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + last + items[len(items)-1]
}

// didYouMean names the key of the section closest to a typo: a key that
// starts with what was typed, or is at most two edits away from it.
func didYouMean(typed string, keys []string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		dist := editDistance(typed, k)
		if strings.HasPrefix(k, typed) && len(typed) >= 2 {
			dist = min(dist, 1)
		}
		if dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance of two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
