package metastudio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxProjectListBytes bounds IAM's project list answer. At about 300 bytes
// a project it holds some 200,000 projects; the client's MaxBodyBytes
// (1 MiB) would stop at about 3,500.
const MaxProjectListBytes = 64 << 20

// maxJSONValueBytes bounds one token of a streamed answer: json.Decoder
// buffers a whole token, so without it one 64 MiB string would cost as
// much memory as the body.
const maxJSONValueBytes = 1 << 20

var (
	errNoProjectsField = errors.New(`response has no "projects" list`)
	errProjectNoID     = errors.New("a project in the list has no id")
	errValueTooLong    = fmt.Errorf("a JSON value is over %d bytes", maxJSONValueBytes)
)

// wireProject is one entry of KeystoneListAuthProjects, with only the
// fields Project keeps.
type wireProject struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Enabled  *bool  `json:"enabled"`
	DomainID string `json:"domain_id"`
}

// decodeProjectStream decodes a project list as it is read from body: at
// most limit bytes, strict about the list (a body without "projects" must
// not read as "no projects", which would drop every discovered tenant),
// lenient about unknown fields. Memory grows with the projects kept, not
// with the body. The returned error has no Op.
func decodeProjectStream(body io.Reader, limit int64) ([]Project, *Error) {
	br := &boundedReader{r: io.LimitReader(body, limit+1)}
	projects, err := decodeProjects(json.NewDecoder(br))
	if err != nil && br.n <= limit && br.readErr == nil {
		// Whether the body is also over the limit decides the error, so
		// read on, into nothing, as far as the limit.
		n, copyErr := io.Copy(io.Discard, br.r)
		br.n += n
		if copyErr != nil {
			br.readErr = copyErr
		}
	}
	switch {
	case br.n > limit:
		return nil, &Error{Reason: ReasonDecode, Err: fmt.Errorf("response body exceeds %d bytes", limit)}
	case br.readErr != nil:
		return nil, &Error{Reason: classifyTransport(br.readErr), Err: br.readErr}
	case br.tooLong:
		return nil, &Error{Reason: ReasonDecode, Err: errValueTooLong}
	case err != nil:
		return nil, &Error{Reason: ReasonDecode, Err: err}
	}
	return projects, nil
}

func decodeProjects(dec *json.Decoder) ([]Project, error) {
	if err := expectObject(dec); err != nil {
		return nil, err
	}
	var out []Project
	sawList := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return nil, err
		}
		if key != "projects" {
			if err := skipValue(dec); err != nil {
				return nil, describeDecodeError(key, err)
			}
			continue
		}
		isNull, err := openList(dec, key)
		if err != nil {
			return nil, err
		}
		if isNull {
			continue
		}
		sawList = true
		if out, err = decodeProjectEntries(dec, out); err != nil {
			return nil, err
		}
	}
	if err := closeObject(dec); err != nil {
		return nil, err
	}
	if !sawList {
		return nil, errNoProjectsField
	}
	if out == nil {
		out = []Project{}
	}
	return out, nil
}

// decodeProjectEntries appends the entries of an opened list to out and
// reads its closing ].
func decodeProjectEntries(dec *json.Decoder, out []Project) ([]Project, error) {
	var domain string
	for dec.More() {
		var w wireProject
		if err := dec.Decode(&w); err != nil {
			return nil, describeDecodeError("projects["+strconv.Itoa(len(out))+"]", err)
		}
		if w.ID == "" {
			return nil, errProjectNoID
		}
		// A user's projects share a domain: keep one copy of its id.
		if w.DomainID == domain {
			w.DomainID = domain
		}
		domain = w.DomainID
		// Keystone always sends "enabled"; were it absent, its own
		// default (enabled) applies.
		out = append(out, Project{ID: w.ID, Name: w.Name, Enabled: w.Enabled == nil || *w.Enabled, DomainID: w.DomainID})
	}
	if _, err := dec.Token(); err != nil {
		return nil, describeDecodeError("projects", err)
	}
	return out, nil
}

// boundedReader counts what it reads, keeps a transport error apart from
// the decoder's, and fails a token longer than maxJSONValueBytes: a run
// of bytes, a string's quoted text included, with none of {}[],: outside a
// string.
type boundedReader struct {
	r        io.Reader
	n        int64
	readErr  error
	tooLong  bool
	inString bool
	escaped  bool
	run      int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.readErr = err
	}
	if !b.scan(p[:n]) {
		b.tooLong = true
		return n, errValueTooLong
	}
	return n, err
}

// scan follows p from one byte of interest to the next with
// bytes.IndexAny rather than byte by byte: a body is tens of megabytes.
func (b *boundedReader) scan(p []byte) bool {
	run, inString, escaped := b.run, b.inString, b.escaped
	defer func() { b.run, b.inString, b.escaped = run, inString, escaped }()
	for len(p) > 0 {
		if escaped {
			escaped, run, p = false, run+1, p[1:]
			continue
		}
		stops := `"{}[],:`
		if inString {
			stops = `"\`
		}
		i := bytes.IndexAny(p, stops)
		if i < 0 {
			run += len(p)
			break
		}
		if run += i + 1; run > maxJSONValueBytes {
			return false
		}
		switch p[i] {
		case '\\':
			escaped = true
		case '"':
			inString = !inString
		default: // {}[],: outside a string end a token
			run = 0
		}
		p = p[i+1:]
	}
	return run <= maxJSONValueBytes
}
