// Package secret holds the one type every credential and callback key is kept
// in, so that no formatting path can print its value.
package secret

import (
	"encoding/json"
	"fmt"
)

// Redacted is what a String shows instead of its value.
const Redacted = "<secret>"

// String is a string that must never be printed: fmt (%s, %v, %#v, %q),
// JSON, text and YAML encoding all render it as "<secret>". Decoding keeps the
// value; Reveal is the one way to read it, at the point of use.
type String string

func (String) String() string               { return Redacted }
func (String) GoString() string             { return Redacted }
func (String) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (String) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }
func (String) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
func (String) MarshalYAML() (any, error)    { return Redacted, nil }
func (s String) IsSet() bool                { return s != "" }
func (s String) Reveal() string             { return string(s) }
