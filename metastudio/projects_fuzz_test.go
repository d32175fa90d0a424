package metastudio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

// FuzzListProjects feeds any 200 body to ListProjects: it must never panic,
// accept only a JSON object with a "projects" list within the body limit,
// and return one Project with an id per entry, or a decode error.
func FuzzListProjects(f *testing.F) {
	for _, seed := range []string{
		`{"projects":[{"id":"a","name":"cn-north-4","enabled":true,"domain_id":"d"}],"links":{"next":null}}`,
		`{"projects":[]}`,
		`{"projects":null}`,
		`{"projects":[{"name":"x"}]}`,
		`{"projects":[{"id":"a","enabled":"yes"}]}`,
		`{}`, `[]`, `null`, ``, `{"projects":[{"id":1}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fuzzClient(canned{status: http.StatusOK, header: http.Header{}, body: body})
		got, err := c.ListProjects(context.Background(), "https://iam.fuzz.invalid", fuzzTarget.Credentials, Connection{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonDecode || e.Op != opListProjects {
				t.Fatalf("error %v is not a decode *Error of %s", err, opListProjects)
			}
			return
		}
		if len(body) > fuzzBodyLimit || !json.Valid(body) {
			t.Fatalf("accepted %d bytes, valid JSON %v", len(body), json.Valid(body))
		}
		var raw struct {
			Projects []json.RawMessage `json:"projects"`
		}
		if err := json.Unmarshal(body, &raw); err != nil || len(raw.Projects) != len(got) {
			t.Fatalf("%d projects from a list of %d (%v)", len(got), len(raw.Projects), err)
		}
		for _, p := range got {
			if p.ID == "" {
				t.Fatalf("project without id accepted: %+v", p)
			}
		}
	})
}
