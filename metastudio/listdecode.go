package metastudio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

var (
	errEndOfInput   = errors.New("unexpected end of JSON input")
	errTrailingData = errors.New("data after the JSON value")
)

// The list answers (live jobs, rooms, IAM projects) are decoded token by
// token: the list is walked entry by entry into small wire structs, so
// that what is not kept is never decoded into anything, an error can name
// the entry it is in, and a long list costs memory for what is kept only.
// These are the helpers they share.
// Error texts name where the problem is (a field path such as
// smart_live_jobs[3].duration) and what kind of value was found there,
// never the value.

// expectObject reads the opening { of the answer.
func expectObject(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return describeDecodeError("", err)
	}
	if tok != json.Delim('{') {
		return errNotObject
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", describeDecodeError("", err)
	}
	key, _ := tok.(string) // inside an object the decoder yields keys only
	return key, nil
}

// openList reads the [ of a list, or its null.
func openList(dec *json.Decoder, path string) (isNull bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, describeDecodeError(path, err)
	}
	switch tok {
	case nil:
		return true, nil
	case json.Delim('['):
		return false, nil
	}
	return false, fmt.Errorf("%s: %s where a list belongs", path, tokenKind(tok))
}

// closeObject reads the closing } and makes sure nothing but white space
// follows, as json.Unmarshal would.
func closeObject(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return describeDecodeError("", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return describeDecodeError("", err)
		}
		return errTrailingData
	}
	return nil
}

// skipValue reads past one value of any kind.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// describeDecodeError restates a decoding error with the field path and the
// kind of value found, leaving out the value itself (json's own texts quote
// numbers and characters of the body).
func describeDecodeError(path string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		at := joinPath(path, typeErr.Field)
		found, _, _ := strings.Cut(typeErr.Value, " ")
		if found == "number" && numberKind(typeErr.Type) {
			return fmt.Errorf("%s: number out of range for %s", at, typeErr.Type)
		}
		return fmt.Errorf("%s: a JSON %s where %s belongs", at, found, kindOf(typeErr.Type))
	case errors.As(err, &syntaxErr) && syntaxErr.Error() != errEndOfInput.Error():
		// Inside an entry the decoder counts from the entry's start, so
		// the entry is named instead.
		if path != "" {
			return fmt.Errorf("%s: invalid JSON", path)
		}
		return fmt.Errorf("invalid JSON at byte %d", syntaxErr.Offset)
	case syntaxErr != nil, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errEndOfInput
	case path != "":
		return fmt.Errorf("%s: invalid value", path)
	}
	return errors.New("invalid value")
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

func numberKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func kindOf(t reflect.Type) string {
	switch {
	case numberKind(t):
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	}
	return "an object"
}

func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "true or false"
	}
	return "a number"
}
