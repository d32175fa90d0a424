package config

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"reflect"
)

// Digests identify values by what they say, secrets included, without
// holding them: what is appended here only ever goes into sha256.

// digestible is a field type that appends its own value to a digest.
type digestible interface {
	appendDigest(b []byte) []byte
}

var digestibleType = reflect.TypeFor[digestible]()

// appendValue appends every field of v, so that a key added to Settings
// (or to any section digested) is covered without being listed here; the
// tests walk Settings to hold it to that.
func appendValue(b []byte, v reflect.Value) []byte {
	if v.Type().Implements(digestibleType) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return append(b, 0)
			}
			b = append(b, 1)
		}
		return v.Interface().(digestible).appendDigest(b)
	}
	switch v.Kind() {
	case reflect.String:
		return appendField(b, v.String())
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int, reflect.Int64:
		return binary.BigEndian.AppendUint64(b, uint64(v.Int()))
	case reflect.Struct:
		for i := range v.NumField() {
			b = appendValue(b, v.Field(i))
		}
		return b
	case reflect.Slice:
		b = appendCount(b, v.Len())
		for i := range v.Len() {
			b = appendValue(b, v.Index(i))
		}
		return b
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0)
		}
		return appendValue(append(b, 1), v.Elem())
	}
	panic("config: cannot digest a " + v.Type().String())
}

// appendField length-prefixes s so that no two field lists hash alike.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendCount(b []byte, n int) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }

// digestOf is the hex digest of b, short enough to log.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:16])
}
