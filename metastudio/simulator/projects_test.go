package simulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const iamProjectsURL = "http://iam.myhuaweicloud.com/v3/auth/projects"

// projectsGet is a GET /v3/auth/projects signed as a global request: no
// X-Project-Id.
func projectsGet(ak, sk string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, iamProjectsURL, nil)
	r.Header.Set("X-Sdk-Date", t0.Format("20060102T150405Z"))
	r.Header.Set("Content-Type", "application/json;charset=utf8")
	testSign(r, ak, sk, nil, "content-type", "host", "x-sdk-date")
	return r
}

func projectsWithToken(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, iamProjectsURL, nil)
	r.Header.Set("X-Auth-Token", token)
	return r
}

// entry renders one project of the list as the simulator writes it.
func entry(domain, name, id string, enabled bool) string {
	d := domainID(domain)
	en := "true"
	if !enabled {
		en = "false"
	}
	return `{"domain_id":"` + d + `","is_domain":false,"parent_id":"` + d + `","name":"` + name +
		`","description":"","links":{"self":"http://iam.myhuaweicloud.com/v3/projects/` + id + `"},"id":"` + id + `","enabled":` + en + `}`
}

func projectList(entries ...string) string {
	return `{"links":{"self":"http://iam.myhuaweicloud.com/v3/auth/projects","previous":null,"next":null},"projects":[` +
		strings.Join(entries, ",") + `]}`
}

func domainLogin(t *testing.T, s *Server, domain string) *httptest.ResponseRecorder {
	t.Helper()
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"` + iamName +
		`","password":"` + iamPass + `","domain":{"name":"` + iamDomain + `"}}}},"scope":{"domain":{"name":"` + domain + `"}}}}`
	return postToken(s, body)
}

func TestProjectListSignedWithAKSK(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if err := s.AddProject(Project{ID: "1e1e", Name: "cn-north-4_off", Disabled: true, AccessKey: akA, SecretKey: skA}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProject(Project{ID: "2e2e", Name: "ap-southeast-1", AccessKey: "AKNEW", SecretKey: "sk-new"}); err != nil {
		t.Fatal(err)
	}
	// projA is listed under its id (no ProjectName); projB belongs to akB.
	rec := serve(s, projectsGet(akA, skA))
	wantOK(t, rec, projectList(entry(iamDomain, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", projA, true), entry("", "cn-north-4_off", "1e1e", false)))
	if len(rec.Header().Get("X-Request-Id")) != 32 {
		t.Fatalf("X-Request-Id = %q", rec.Header().Get("X-Request-Id"))
	}
	// A key registered by AddProject alone signs too.
	wantOK(t, serve(s, projectsGet("AKNEW", "sk-new")), projectList(entry("", "ap-southeast-1", "2e2e", true)))
	if n := s.ProjectListCalls(); n != 2 {
		t.Fatalf("ProjectListCalls = %d, want 2", n)
	}
}

func TestProjectListSignatureRules(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	withProject := projectsGet(akA, skA)
	withProject.Header.Set("X-Project-Id", projA)
	testSign(withProject, akA, skA, nil, "host", "x-project-id", "x-sdk-date")
	noDate := projectsGet(akA, skA)
	testSign(noDate, akA, skA, nil, "host")
	for _, tc := range []struct {
		name string
		r    *http.Request
		msg  string
	}{
		{"project id sent", withProject, "X-Project-Id must not be sent to a global service"},
		{"date not signed", noDate, "x-sdk-date is not a signed header"},
		{"wrong secret", projectsGet(akA, skB), "signature mismatch"},
		{"unsigned", httptest.NewRequest(http.MethodGet, iamProjectsURL, nil), "Authorization header missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, serve(s, tc.r), 401, CodeAuthFailed, "Incorrect IAM authentication information: "+tc.msg)
		})
	}
	rec := serve(s, httptest.NewRequest(http.MethodPost, iamProjectsURL, nil))
	if rec.Code != 405 || rec.Body.String() != `{"error":{"code":405,"message":"The method is not allowed for the requested URL.","title":"Method Not Allowed"}}` {
		t.Fatalf("POST = %d %s", rec.Code, rec.Body)
	}
}

func TestDomainScopedToken(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if err := s.AddTenant(Tenant{ProjectID: "0e0e", ProjectName: "cn-north-4_shop", IAMDomain: iamDomain, IAMUser: iamName, IAMPassword: iamPass}); err != nil {
		t.Fatal(err)
	}
	rec := domainLogin(t, s, iamDomain)
	want := `{"token":{"expires_at":"2026-11-29T08:00:00.000000Z","issued_at":"2026-11-28T08:00:00.000000Z","methods":["password"],"domain":{"id":"` + domainID(iamDomain) + `","name":"acme"}}}`
	if rec.Code != 201 || rec.Body.String() != want {
		t.Fatalf("login = %d %s\nwant 201 %s", rec.Code, rec.Body, want)
	}
	tok := rec.Header().Get("X-Subject-Token")
	// The user's projects: projA and projU by id, the named one by name.
	wantOK(t, serve(s, projectsWithToken(tok)), projectList(
		entry(iamDomain, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", projA, true),
		entry(iamDomain, "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d", projU, true),
		entry(iamDomain, "cn-north-4_shop", "0e0e", true)))
	// A project-scoped token of the same user lists the same projects, as
	// Keystone's /v3/auth/projects does for any token.
	wantOK(t, serve(s, projectsWithToken(login(t, s, projA))), serve(s, projectsWithToken(tok)).Body.String())
	// A domain token opens no project.
	wantError(t, serve(s, tokenGet(projA, tok)), 403, CodeForbidden,
		"The IAM user is not authorized to access the API: token is scoped to a domain, not to a project")
	wantError(t, serve(s, projectsWithToken("MIIforged")), 401, CodeTokenInvalid, "The token must be updated: token is invalid")
}

func TestDomainScopeLoginFailures(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	rec := domainLogin(t, s, "other")
	if rec.Code != 401 || rec.Body.String() != `{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}` {
		t.Fatalf("other domain = %d %s", rec.Code, rec.Body)
	}
	both := strings.Replace(tokenRequestBody(iamDomain, iamName, iamPass, projA), `"scope":{`, `"scope":{"domain":{"name":"acme"},`, 1)
	rec = postToken(s, both)
	if rec.Code != 400 || rec.Body.String() != `{"error":{"code":400,"message":"Specify either a project or a domain scope, not both.","title":"Bad Request"}}` {
		t.Fatalf("both scopes = %d %s", rec.Code, rec.Body)
	}
	if n := s.TokensIssued(); n != 0 {
		t.Fatalf("TokensIssued = %d, want 0", n)
	}
}

func TestProjectListChanges(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if err := s.AddTenant(Tenant{ProjectID: "0f0f", ProjectName: "cn-east-3_b", AccessKey: akA, SecretKey: skA}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProjectEnabled("0f0f", false); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveProject(projA); err != nil {
		t.Fatal(err)
	}
	wantOK(t, serve(s, projectsGet(akA, skA)), projectList(entry("", "cn-east-3_b", "0f0f", false)))
	// A removed tenant's user config is gone; a disabled one still answers.
	wantError(t, serve(s, signedGet(projA, akA, skA)), 404, CodeProjectNotFound, "The project does not exist")
	wantOK(t, serve(s, signedGet("0f0f", akA, skA)), "{}")
	for _, err := range []error{
		s.RemoveProject(projA), s.SetProjectEnabled("nope", true),
		s.AddProject(Project{ID: projB, Name: "x"}), s.AddProject(Project{ID: "1f1f"}),
		s.AddProject(Project{ID: "2f2f", Name: "x", AccessKey: akA, SecretKey: "other"}),
	} {
		if err == nil {
			t.Fatal("want an error")
		}
	}
	if err := s.AddProject(Project{ID: "2f2f", Name: "x", AccessKey: akA, SecretKey: "other"}); err == nil ||
		err.Error() != `simulator: project "2f2f": access key "AKA0000000000001" is already registered with other credentials` {
		t.Fatalf("err = %v", err)
	}
}

func TestProjectListFault(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetProjectsFault(Fault{Status: 503})
	wantError(t, serve(s, projectsGet(akA, skA)), 503, CodeBackendDown, "Backend unavailable")
	// Authentication comes first, as on MetaStudio routes.
	wantError(t, serve(s, projectsGet(akA, skB)), 401, CodeAuthFailed, "Incorrect IAM authentication information: signature mismatch")
	s.SetProjectsFault(Fault{Body: []byte(`{"projects":"x"}`)})
	wantOK(t, serve(s, projectsGet(akA, skA)), `{"projects":"x"}`)
	s.SetProjectsFault(Fault{})
	wantOK(t, serve(s, projectsGet(akA, skA)), projectList(entry(iamDomain, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", projA, true)))
}
