package metastudio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// startProjectSimulator serves the tenants of startSimulator plus projects
// that only IAM lists.
func startProjectSimulator(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	sim, url := startSimulator(t)
	for _, p := range []simulator.Project{
		{ID: "3d4e5f60718293a4b5c6d7e8f90a1b2c", Name: "cn-north-4_shop", AccessKey: "AKSIMPLAIN", SecretKey: simSK},
		{ID: "4e5f60718293a4b5c6d7e8f90a1b2c3d", Name: "cn-east-3_off", Disabled: true, AccessKey: "AKSIMPLAIN", SecretKey: simSK},
		{ID: "5f60718293a4b5c6d7e8f90a1b2c3d4e", Name: "cn-north-4", IAMDomain: "acme", IAMUser: "monitor", IAMPassword: simPassword},
		{ID: "60718293a4b5c6d7e8f90a1b2c3d4e5f", Name: "ap-southeast-1_x", AccessKey: "AKSIMTEMP", SecretKey: simSTSSK, SecurityToken: simSTSToken},
	} {
		if err := sim.AddProject(p); err != nil {
			t.Fatal(err)
		}
	}
	return sim, url
}

func ids(ps []metastudio.Project) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name + "/" + p.ID
	}
	return out
}

func TestListProjectsAKSK(t *testing.T) {
	_, url := startProjectSimulator(t)
	var observed int
	c := metastudio.NewClient(metastudio.ClientOptions{Observe: func(string, string, float64) { observed++ }})
	got, err := c.ListProjects(context.Background(), url, metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: simSK}, metastudio.Connection{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{simAKProject + "/" + simAKProject, "cn-east-3_off/4e5f60718293a4b5c6d7e8f90a1b2c3d", "cn-north-4_shop/3d4e5f60718293a4b5c6d7e8f90a1b2c"}
	if g := ids(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("projects = %q\nwant %q", g, want)
	}
	if got[1].Enabled || !got[2].Enabled || len(got[2].DomainID) != 32 {
		t.Fatalf("projects = %+v", got)
	}
	if observed != 0 {
		t.Fatalf("observer called %d times for IAM calls", observed)
	}

	// Temporary AK/SK sign the security token too.
	got, err = c.ListProjects(context.Background(), url+"/", metastudio.Credentials{AccessKey: "AKSIMTEMP", SecretKey: simSTSSK, SecurityToken: simSTSToken}, metastudio.Connection{})
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !reflect.DeepEqual(g, []string{simSTSProject + "/" + simSTSProject, "ap-southeast-1_x/60718293a4b5c6d7e8f90a1b2c3d4e5f"}) {
		t.Fatalf("projects = %q", g)
	}
}

// tokenRecorder remembers every X-Subject-Token IAM hands out, so tests can
// look for it where it must not be.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (tr *tokenRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		if tok := resp.Header.Get("X-Subject-Token"); tok != "" {
			tr.mu.Lock()
			tr.tokens = append(tr.tokens, tok)
			tr.mu.Unlock()
		}
	}
	return resp, err
}

func TestListProjectsIAMPassword(t *testing.T) {
	sim, url := startProjectSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{Transport: &tokenRecorder{}})
	ctx := context.Background()
	// No IAM endpoint of its own: the token comes from the listing endpoint.
	creds := metastudio.Credentials{IAM: &metastudio.IAMPassword{Domain: "acme", User: "monitor", Password: simPassword}}
	want := []string{simIAMProject + "/" + simIAMProject, "cn-north-4/5f60718293a4b5c6d7e8f90a1b2c3d4e"}
	list := func() {
		t.Helper()
		got, err := c.ListProjects(ctx, url, creds, metastudio.Connection{})
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !reflect.DeepEqual(g, want) {
			t.Fatalf("projects = %q\nwant %q", g, want)
		}
	}
	list()
	list()
	if n := sim.TokensIssued(); n != 1 {
		t.Fatalf("TokensIssued = %d after two lists, want 1 (domain token cached)", n)
	}

	// The project-scoped token is cached apart: the domain token opens no
	// project, and the project token is not reused for listing.
	tg := simTarget(url, simIAMProject, metastudio.Credentials{IAM: &metastudio.IAMPassword{Endpoint: url, Domain: "acme", User: "monitor", Password: simPassword}})
	if _, err := c.GetUserConfig(ctx, tg); err != nil {
		t.Fatal(err)
	}
	list()
	if n := sim.TokensIssued(); n != 2 {
		t.Fatalf("TokensIssued = %d, want 2 (one per scope)", n)
	}

	// A revoked token is replaced once.
	sim.RevokeTokens()
	list()
	if n := sim.TokensIssued(); n != 3 {
		t.Fatalf("TokensIssued = %d, want 3", n)
	}
}

func TestListProjectsErrors(t *testing.T) {
	sim, url := startProjectSimulator(t)
	tr := &tokenRecorder{}
	c := metastudio.NewClient(metastudio.ClientOptions{Transport: tr, MaxBodyBytes: 4096})
	metastudio.SetProjectListLimit(c, 4096)
	ctx := context.Background()
	ak := metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: simSK}
	for _, tc := range []struct {
		name   string
		fault  simulator.Fault
		creds  metastudio.Credentials
		reason metastudio.Reason
		msg    string
	}{
		{"wrong secret", simulator.Fault{}, metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: "wrong-SECRET"}, metastudio.ReasonAuth,
			"list IAM projects: HTTP 401 APIGW.0301: Incorrect IAM authentication information: signature mismatch"},
		{"wrong password", simulator.Fault{}, metastudio.Credentials{IAM: &metastudio.IAMPassword{Domain: "acme", User: "monitor", Password: "wrong-SECRET"}}, metastudio.ReasonCredentials,
			"get IAM token: HTTP 401 401: The username or password is wrong."},
		{"no credentials", simulator.Fault{}, metastudio.Credentials{AccessKey: "AKSIMPLAIN"}, metastudio.ReasonCredentials,
			"list IAM projects: credentials: no access key and secret key, and no IAM password"},
		{"IAM down", simulator.Fault{Status: 503}, ak, metastudio.ReasonServerError,
			"list IAM projects: HTTP 503 APIGW.0202: Backend unavailable"},
		{"throttled", simulator.Fault{Status: 429}, ak, metastudio.ReasonThrottled,
			"list IAM projects: HTTP 429 APIGW.0308: The throttling threshold has been reached: policy user over ratelimit"},
		{"no list", simulator.Fault{Body: []byte(`{"links":{}}`)}, ak, metastudio.ReasonDecode,
			`list IAM projects: decode: response has no "projects" list`},
		{"not an object", simulator.Fault{Body: []byte(`[]`)}, ak, metastudio.ReasonDecode,
			"list IAM projects: decode: response body is not a JSON object"},
		{"project without id", simulator.Fault{Body: []byte(`{"projects":[{"name":"cn-north-4"}]}`)}, ak, metastudio.ReasonDecode,
			"list IAM projects: decode: a project in the list has no id"},
		{"too large", simulator.Fault{BodySize: 5000}, ak, metastudio.ReasonDecode,
			"list IAM projects: decode: response body exceeds 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetProjectsFault(tc.fault)
			defer sim.SetProjectsFault(simulator.Fault{})
			_, err := c.ListProjects(ctx, url, tc.creds, metastudio.Connection{})
			var e *metastudio.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Reason != tc.reason || err.Error() != tc.msg {
				t.Fatalf("err = %s %q\nwant %s %q", e.Reason, err, tc.reason, tc.msg)
			}
			if e.StatusCode != 0 && len(e.RequestID) != 32 {
				t.Fatalf("RequestID = %q", e.RequestID)
			}
			noSecrets(t, err.Error())
		})
	}
	if len(tr.tokens) != 0 {
		t.Fatalf("tokens issued with wrong passwords: %d", len(tr.tokens))
	}
}

func TestListProjectsEnabledDefault(t *testing.T) {
	// Keystone always sends "enabled"; a list without it reads as enabled.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Project-Id") != "" || !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-sdk-date,") {
			t.Errorf("request headers %v", r.Header)
		}
		_, _ = w.Write([]byte(`{"projects":[{"id":"a","name":"cn-north-4","extra":1},{"id":"b","name":"cn-north-4_x","enabled":false}],"links":{"next":null}}`))
	}))
	defer srv.Close()
	c := metastudio.NewClient(metastudio.ClientOptions{})
	got, err := c.ListProjects(context.Background(), srv.URL, metastudio.Credentials{AccessKey: "AK", SecretKey: "sk-SECRET"}, metastudio.Connection{})
	if err != nil {
		t.Fatal(err)
	}
	want := []metastudio.Project{{ID: "a", Name: "cn-north-4", Enabled: true}, {ID: "b", Name: "cn-north-4_x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("projects = %+v\nwant %+v", got, want)
	}
}
