package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// written is what one mapping of the file set, for the checks that look at
// a level as a whole and for the resolver's messages. A nil *written is a
// level that wrote nothing.
type written struct {
	line int            // the section's line: its key's, or its list item's
	at   map[string]int // every key present, with its line
	keys map[string]int // keys given a value (not "" or null)
	bad  map[string]bool
	sub  map[string]*written
	// text holds the raw values of orfile keys until the level is read.
	text map[string]string
	// notMapping: the value was not a mapping, which has been reported.
	notMapping bool
}

func newWritten(line int) *written {
	return &written{line: line, at: map[string]int{}, keys: map[string]int{}, bad: map[string]bool{},
		sub: map[string]*written{}, text: map[string]string{}}
}

func (w *written) set(key string) bool {
	if w == nil {
		return false
	}
	_, ok := w.keys[key]
	return ok
}

// missing tells whether "required" should be reported: a wrong value has
// its own problem already.
func (w *written) missing(key string) bool { return !w.set(key) && (w == nil || !w.bad[key]) }

// lineOf is the line of key if it is written, else the section's own.
func (w *written) lineOf(key string) int {
	if l, ok := w.at[key]; ok {
		return l
	}
	return w.line
}

// A levelChecker is a section with a rule across its keys, checked on every
// level that writes the section, after the level is applied; report puts a
// problem on one of the level's keys.
type levelChecker interface {
	checkLevel(w *written, report func(key, msg string))
}

// section applies the mapping n over dst, a struct of schema s that holds
// what the level below set: each key n writes replaces the field it
// describes, nested sections key by key. line is where the section starts
// (its key's line, or its list item's), path where it is in the file.
func (d *decoder) section(n *yaml.Node, line int, path string, dst reflect.Value, s *schema) *written {
	w := newWritten(line)
	w.notMapping = !d.each(n, path, func(k, v *yaml.Node, kp string) {
		f := s.byKey[k.Value]
		if f == nil {
			d.unknownKey(k.Line, kp, k.Value, s)
			d.hint(deref(v), kp) // a value blanked there is reported all the same
			return
		}
		w.at[k.Value] = k.Line
		before := d.count()
		if d.value(f, k, v, kp, dst, w) {
			w.keys[k.Value] = k.Line
		}
		if d.count() > before {
			w.bad[k.Value] = true
		}
	})
	for _, f := range s.fields {
		if f.fileKey != "" {
			d.orfile(f, path, dst, w)
		}
		if f.checks.required && !w.notMapping && w.missing(f.key) && (f.fileKey == "" || w.missing(f.fileKey)) {
			msg := "required"
			if f.fileKey != "" {
				msg = "required (or " + f.fileKey + ")"
			}
			d.add(w.line, joinPath(path, f.key), "%s", msg)
		}
	}
	if c, ok := dst.Interface().(levelChecker); ok && !w.notMapping {
		c.checkLevel(w, func(key, msg string) {
			d.add(w.lineOf(key), joinPath(path, key), "%s", msg)
		})
	}
	return w
}

// value reads the value of one key into its field of dst, reporting
// whether the key set it.
func (d *decoder) value(f *field, k, v *yaml.Node, path string, dst reflect.Value, w *written) bool {
	fv := dst.FieldByIndex(f.index)
	switch f.kind {
	case kindSection:
		sub := d.section(v, k.Line, path, fv, f.sub)
		w.sub[f.key] = sub
		return len(sub.keys) > 0
	case kindBlock:
		if isUnset(deref(v)) {
			return false
		}
		p := reflect.New(f.typ.Elem())
		sub := d.section(v, k.Line, path, p.Elem(), f.sub)
		w.sub[f.key] = sub
		if sub.notMapping {
			return false
		}
		fv.Set(p)
		return true
	case kindCustom:
		return fv.Addr().Interface().(decodable).decodeYAML(d, k.Line, v, path)
	case kindCustomBlock:
		if isUnset(deref(v)) {
			return false
		}
		p := reflect.New(f.typ.Elem())
		if !p.Interface().(decodable).decodeYAML(d, k.Line, v, path) {
			return false
		}
		fv.Set(p)
		return true
	case kindStrings:
		return d.strings(f, v, path, fv)
	}
	if f.kind == kindString && deref(v).Kind == yaml.MappingNode {
		// A string key named like a section of the file refers to an entry
		// of it: "credentials: {access_key: ...}" on a tenant is the entry
		// itself, written where its name belongs.
		if p := placeOf(f.key); p != nil {
			d.add(deref(v).Line, path, "must be a string naming %s; move this mapping there under a name and write that name here", p.name)
			return false
		}
	}
	s, ok, _ := d.scalar(v, path)
	if !ok || s == "" {
		return false
	}
	if f.fileKey != "" {
		// Read once the whole level is known: key and key_file together are
		// an error, not one winning over the other.
		w.text[k.Value] = s
		return true
	}
	switch f.kind {
	case kindString, kindSecret:
		s, ok = d.checkString(f.checks, s, k.Line, path)
		if ok {
			fv.SetString(s)
		}
		return ok
	case kindDuration:
		dv, ok := d.duration(s, k.Line, path)
		if ok && checkWith(f.checks.dur, dv, d, k.Line, path) {
			fv.SetInt(int64(dv))
			return true
		}
	case kindInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			d.add(k.Line, path, "must be a whole number")
			return false
		}
		if checkWith(f.checks.num, n, d, k.Line, path) {
			fv.SetInt(int64(n))
			return true
		}
	case kindBool:
		b, ok := d.boolean(s, k.Line, path)
		if ok {
			fv.SetBool(b)
		}
		return ok
	}
	return false
}

func (d *decoder) checkString(c checks, s string, line int, path string) (string, bool) {
	for _, check := range c.str {
		var msg string
		if s, msg = check(s); msg != "" {
			d.add(line, path, "%s", msg)
			return s, false
		}
	}
	return s, true
}

func checkWith[T any](checks []func(T) string, v T, d *decoder, line int, path string) bool {
	for _, check := range checks {
		if msg := check(v); msg != "" {
			d.add(line, path, "%s", msg)
			return false
		}
	}
	return true
}

// duration reads a Prometheus duration. The value is not repeated:
// whatever was typed here may be a secret pasted into the wrong line.
func (d *decoder) duration(s string, line int, path string) (time.Duration, bool) {
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		if _, err := model.ParseDuration(rest); err == nil {
			d.add(line, path, "must not be negative")
			return 0, false
		}
	}
	md, err := model.ParseDuration(s)
	if err != nil {
		d.add(line, path, "not a valid duration (use e.g. 30s, 5m, 72h, 1d)")
		return 0, false
	}
	return time.Duration(md), true
}

// boolean takes YAML 1.2's true and false only: "yes" or "on" are more
// likely a mistake than a wish.
func (d *decoder) boolean(s string, line int, path string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.add(line, path, "must be true or false")
	return false, false
}

// strings reads a list of distinct strings, which replaces the level
// below's as a whole. An empty list sets nothing.
func (d *decoder) strings(f *field, v *yaml.Node, path string, fv reflect.Value) bool {
	var items []string
	first := map[string]int{}
	d.list(v, path, func(item *yaml.Node, ipath string) {
		i := len(first)
		s, ok, bad := d.scalar(item, ipath)
		if bad || !ok {
			return
		}
		s, ok = d.checkString(f.checks, s, item.Line, ipath)
		if !ok {
			return
		}
		if prev, dup := first[s]; dup {
			d.add(item.Line, ipath, "duplicate, also %s", indexPath(f.key, prev))
			return
		}
		first[s] = i
		items = append(items, s)
	})
	if len(items) == 0 {
		return false
	}
	fv.Set(reflect.ValueOf(items))
	return true
}

// orfile applies a value that may be written inline or read from a file,
// once the level has been read: both at once is an error, and a file that
// cannot be read is named with its path, never its content.
func (d *decoder) orfile(f *field, path string, dst reflect.Value, w *written) {
	inline, hasInline := w.text[f.key]
	file, hasFile := w.text[f.fileKey]
	var value string
	switch {
	case hasInline && hasFile:
		d.add(w.at[f.fileKey], joinPath(path, f.fileKey), "set together with %s; use only one", f.key)
		w.bad[f.fileKey] = true
		return
	case hasInline:
		value, file = inline, ""
	case hasFile:
		v, err := readSecretFile(d.baseDir, file)
		if err != nil {
			d.addCause(w.at[f.fileKey], joinPath(path, f.fileKey), err, "%s", err.Error())
			w.bad[f.fileKey] = true
			delete(w.keys, f.fileKey)
			return
		}
		value = v
	default:
		return
	}
	// SetString serves secret.String too: it is a string underneath.
	dst.FieldByIndex(f.index).SetString(value)
	dst.FieldByIndex(f.fileIndex).SetString(file)
}
