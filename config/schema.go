package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// A section of the file is described by a Go struct, once: each field with
// a yaml tag is a key, and its type says how the value is read.
//
//	yaml:"key"            the key; a field without the tag is no key
//	yaml:"key,orfile"     the value may instead be read from key_file; the
//	                      path read goes into the untagged string field
//	                      named after this one with "File" appended
//	yaml:",inline"        an embedded struct whose keys are this section's;
//	                      except:"a b" leaves its keys a and b out
//	yaml:"key,omitempty"  /config leaves an empty value out
//	yaml:"key,flow"       /config shows a list on one line
//	yaml:"key,omitdefault" /config leaves a section out while it equals the
//	                      built-in default
//	yaml:"key,url"        /config shows the value with RedactURL
//	check:"a,b=c"         what the value must satisfy (checks.go)
//
// Field types: string, secret.String, time.Duration, int, bool, []string,
// a struct (a nested section, applied key by key over the level below), a
// pointer to a struct (a block that the nearest level writing it sets as a
// whole), or a type implementing decodable (it reads its own value).

type fieldKind int

const (
	kindString fieldKind = iota
	kindSecret
	kindDuration
	kindInt
	kindBool
	kindStrings
	kindSection // a struct: key by key over the level below
	kindBlock   // a pointer to a struct: replaced as a whole
	kindCustom  // a decodable value, given the level below to build on
	kindCustomBlock
)

// field is one key of a section.
type field struct {
	key       string
	fileKey   string // "<key>_file" for an orfile value
	index     []int
	fileIndex []int
	kind      fieldKind
	typ       reflect.Type
	sub       *schema // for kindSection and kindBlock
	checks    checks
	omitempty bool
	flow      bool
	omitDef   bool
	url       bool
}

// schema is a section's keys in the order they are shown.
type schema struct {
	typ    reflect.Type
	fields []*field
	byKey  map[string]*field // file keys included
	// except lists the keys an inline section has that this one leaves out.
	except []string
}

// decodable is a field type that reads its own value: the receiver holds
// the level below (or the zero value for a block) and reports whether this
// level set anything. line is the key's.
type decodable interface {
	decodeYAML(d *decoder, line int, n *yaml.Node, path string) bool
}

var (
	schemas       sync.Map // reflect.Type → *schema
	decodableType = reflect.TypeFor[decodable]()
	durationType  = reflect.TypeFor[time.Duration]()
	secretType    = reflect.TypeFor[secret.String]()
)

// schemaOf returns the schema of struct type t. A malformed tag is a bug
// in this package and panics; every section's schema is built when the
// package is initialised (places in sections.go), so it panics at start.
func schemaOf(t reflect.Type) *schema {
	if s, ok := schemas.Load(t); ok {
		return s.(*schema)
	}
	s := buildSchema(t)
	actual, _ := schemas.LoadOrStore(t, s)
	return actual.(*schema)
}

func buildSchema(t reflect.Type) *schema {
	s := &schema{typ: t, byKey: map[string]*field{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			s.inline(sf)
			continue
		}
		f := &field{key: name, index: []int{i}, typ: sf.Type}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "orfile":
				f.fileKey = name + "_file"
				pf, ok := t.FieldByName(sf.Name + "File")
				if !ok || pf.Type.Kind() != reflect.String {
					panic(fmt.Sprintf("config: %s.%s: orfile needs a string field %sFile", t.Name(), sf.Name, sf.Name))
				}
				f.fileIndex = pf.Index
			case "omitempty":
				f.omitempty = true
			case "flow":
				f.flow = true
			case "omitdefault":
				f.omitDef = true
			case "url":
				f.url = true
			default:
				panic(fmt.Sprintf("config: %s.%s: unknown yaml option %q", t.Name(), sf.Name, o))
			}
		}
		f.kind = kindOf(sf.Type)
		switch f.kind {
		case kindSection:
			f.sub = schemaOf(sf.Type)
		case kindBlock:
			f.sub = schemaOf(sf.Type.Elem())
		}
		f.checks = parseChecks(sf.Tag.Get("check"), f.kind, t.Name()+"."+sf.Name)
		s.add(f)
	}
	return s
}

// inline adds the keys of an embedded struct, but those its except tag
// names.
func (s *schema) inline(sf reflect.StructField) {
	except := strings.Fields(sf.Tag.Get("except"))
	s.except = append(s.except, except...)
	for _, f := range schemaOf(sf.Type).fields {
		if slices.Contains(except, f.key) {
			continue
		}
		g := *f
		g.index = append([]int{sf.Index[0]}, f.index...)
		if f.fileIndex != nil {
			g.fileIndex = append([]int{sf.Index[0]}, f.fileIndex...)
		}
		s.add(&g)
	}
}

func (s *schema) add(f *field) {
	for _, k := range []string{f.key, f.fileKey} {
		if k == "" {
			continue
		}
		if _, dup := s.byKey[k]; dup {
			panic(fmt.Sprintf("config: %s: key %s twice", s.typ.Name(), k))
		}
		s.byKey[k] = f
	}
	s.fields = append(s.fields, f)
}

func kindOf(t reflect.Type) fieldKind {
	switch {
	case reflect.PointerTo(t).Implements(decodableType):
		return kindCustom
	case t.Kind() == reflect.Pointer && t.Implements(decodableType):
		return kindCustomBlock
	case t == secretType:
		return kindSecret
	case t == durationType:
		return kindDuration
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Int:
		return kindInt
	case reflect.Bool:
		return kindBool
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return kindStrings
		}
	case reflect.Struct:
		return kindSection
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Struct {
			return kindBlock
		}
	}
	panic("config: no key can hold a " + t.String())
}

// keys lists the keys a section takes, as written in the file.
func (s *schema) keys() []string {
	var out []string
	for _, f := range s.fields {
		out = append(out, f.key)
		if f.fileKey != "" {
			out = append(out, f.fileKey)
		}
	}
	return out
}
