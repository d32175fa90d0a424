package metastudio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestListProjectsLargeList: IAM answers a user with 200,000 projects in
// one body of about 60 MB; the client's 1 MiB body limit used to refuse
// any list past about 3,500 projects. Under the race detector, which
// takes a minute over it, 20,000 (6 MB) make the point.
func TestListProjectsLargeList(t *testing.T) {
	sim, url := startProjectSimulator(t)
	n := 200_000
	if raceEnabled {
		n = 20_000
	}
	for i := range n {
		p := simulator.Project{ID: fmt.Sprintf("%032x", i+1<<60), Name: fmt.Sprintf("cn-north-4_p%06d", i), AccessKey: "AKBIG", SecretKey: "sk-SECRET-big"}
		if err := sim.AddProject(p); err != nil {
			t.Fatal(err)
		}
	}
	c := metastudio.NewClient(metastudio.ClientOptions{})
	got, err := c.ListProjects(context.Background(), url, metastudio.Credentials{AccessKey: "AKBIG", SecretKey: "sk-SECRET-big"}, metastudio.Connection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d projects, want %d", len(got), n)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		want := metastudio.Project{ID: fmt.Sprintf("%032x", i+1<<60), Name: fmt.Sprintf("cn-north-4_p%06d", i), Enabled: true, DomainID: got[0].DomainID}
		if got[i] != want {
			t.Fatalf("project %d = %+v, want %+v", i, got[i], want)
		}
	}
}

func TestListProjectsStreamErrors(t *testing.T) {
	sim, url := startProjectSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{})
	ak := metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: simSK}
	long := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name   string
		fault  simulator.Fault
		reason metastudio.Reason
		msg    string
	}{
		{"65 MiB", simulator.Fault{BodySize: 65 << 20}, metastudio.ReasonDecode,
			"list IAM projects: decode: response body exceeds 67108864 bytes"},
		{"exactly 64 MiB of padding", simulator.Fault{BodySize: 64 << 20}, metastudio.ReasonDecode,
			"list IAM projects: decode: a JSON value is over 1048576 bytes"},
		{"one value over 1 MiB", simulator.Fault{Body: []byte(`{"projects":[{"id":"a","name":"` + long + `"}]}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: a JSON value is over 1048576 bytes"},
		{"wrong type, named by its path", simulator.Fault{Body: []byte(`{"projects":[{"id":"a"},{"id":"b","enabled":"yes-SECRET"}]}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: projects[1].enabled: a JSON string where true or false belongs"},
		{"number out of range", simulator.Fault{Body: []byte(`{"projects":[{"id":"a","enabled":1e999}]}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: projects[0].enabled: a JSON number where true or false belongs"},
		{"list is an object", simulator.Fault{Body: []byte(`{"projects":{"id":"a"}}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: projects: an object where a list belongs"},
		{"broken JSON", simulator.Fault{Body: []byte(`{"projects":[{"id":"a"}}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: projects: invalid JSON"},
		{"cut short", simulator.Fault{Body: []byte(`{"projects":[{"id":"a"},`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: unexpected end of JSON input"},
		{"trailing data", simulator.Fault{Body: []byte(`{"projects":[]} {}`)}, metastudio.ReasonDecode,
			"list IAM projects: decode: data after the JSON value"},
		{"reset mid-body", simulator.Fault{ResetMidBody: true}, metastudio.ReasonNetwork, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetProjectsFault(tc.fault)
			defer sim.SetProjectsFault(simulator.Fault{})
			_, err := c.ListProjects(context.Background(), url, ak, metastudio.Connection{})
			var e *metastudio.Error
			if !errors.As(err, &e) || e.Reason != tc.reason || len(e.RequestID) != 32 {
				t.Fatalf("err = %#v, want reason %s with a request id", err, tc.reason)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("err = %q\nwant %q", err, tc.msg)
			}
			noSecrets(t, err.Error())
		})
	}
	// The list is read to its end: a good answer after all that.
	if got, err := c.ListProjects(context.Background(), url, ak, metastudio.Connection{}); err != nil || len(got) != 3 {
		t.Fatalf("after the faults: %d projects, %v", len(got), err)
	}
}
