package simulator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func tokenRequestBody(domain, user, password, project string) string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":%q}}}},"scope":{"project":{"id":%q}}}}`,
		user, password, domain, project)
}

func postToken(s *Server, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://iam.cn-north-4.myhuaweicloud.com/v3/auth/tokens", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json;charset=utf8")
	return serve(s, r)
}

func login(t *testing.T, s *Server, project string) string {
	t.Helper()
	rec := postToken(s, tokenRequestBody(iamDomain, iamName, iamPass, project))
	if rec.Code != http.StatusCreated {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return rec.Header().Get("X-Subject-Token")
}

func tokenGet(project, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, userConfigURL(project), nil)
	r.Header.Set("X-Auth-Token", token)
	return r
}

func TestIAMLogin(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	rec := postToken(s, tokenRequestBody(iamDomain, iamName, iamPass, projA))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	const want = `{"token":{"expires_at":"2026-11-29T08:00:00.000000Z","issued_at":"2026-11-28T08:00:00.000000Z","methods":["password"],"project":{"id":"` + projA + `"}}}`
	if rec.Body.String() != want {
		t.Fatalf("body = %s\nwant   %s", rec.Body, want)
	}
	tok := rec.Header().Get("X-Subject-Token")
	if len(tok) < 32 || strings.Contains(rec.Body.String(), tok) {
		t.Fatalf("X-Subject-Token %q: too short, or repeated in the body", tok)
	}
	if len(rec.Header().Get("X-Request-Id")) != 32 {
		t.Fatalf("X-Request-Id = %q", rec.Header().Get("X-Request-Id"))
	}
	if n := s.TokensIssued(); n != 1 {
		t.Fatalf("TokensIssued = %d, want 1", n)
	}
	wantOK(t, serve(s, tokenGet(projA, tok)), "{}")

	if tok2 := login(t, s, projA); tok2 == tok {
		t.Fatal("second login returned the same token")
	}
	if n := s.TokensIssued(); n != 2 {
		t.Fatalf("TokensIssued = %d, want 2", n)
	}
}

func TestIAMLoginFailures(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	const wrong = `{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}`
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"wrong password", tokenRequestBody(iamDomain, iamName, "guess", projA), 401, wrong},
		{"wrong user", tokenRequestBody(iamDomain, "admin", iamPass, projA), 401, wrong},
		{"wrong domain", tokenRequestBody("other", iamName, iamPass, projA), 401, wrong},
		{"project not granted", tokenRequestBody(iamDomain, iamName, iamPass, projB), 401,
			`{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`},
		{"not json", `{"auth":`, 400,
			`{"error":{"code":400,"message":"The request body is invalid.","title":"Bad Request"}}`},
		{"token method", strings.Replace(tokenRequestBody(iamDomain, iamName, iamPass, projA), `"methods":["password"]`, `"methods":["token"]`, 1), 400,
			`{"error":{"code":400,"message":"The password method is required.","title":"Bad Request"}}`},
		{"no scope", tokenRequestBody(iamDomain, iamName, iamPass, ""), 400,
			`{"error":{"code":400,"message":"A project or domain scope is required.","title":"Bad Request"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := postToken(s, tc.body)
			if rec.Code != tc.status || rec.Body.String() != tc.want {
				t.Fatalf("answer = %d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.want)
			}
			if rec.Header().Get("X-Subject-Token") != "" {
				t.Fatal("failed login returned a token")
			}
		})
	}
	rec := serve(s, httptest.NewRequest(http.MethodGet, "http://iam.test/v3/auth/tokens", nil))
	if rec.Code != http.StatusMethodNotAllowed ||
		rec.Body.String() != `{"error":{"code":405,"message":"The method is not allowed for the requested URL.","title":"Method Not Allowed"}}` {
		t.Fatalf("GET tokens = %d %s", rec.Code, rec.Body)
	}
	if n := s.TokensIssued(); n != 0 {
		t.Fatalf("TokensIssued = %d, want 0", n)
	}
}

func TestTokenScope(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tokA := login(t, s, projA)
	wantOK(t, serve(s, tokenGet(projA, tokA)), "{}")
	// The same user may log in to projU, but a token for projA stays projA's.
	login(t, s, projU)
	wantError(t, serve(s, tokenGet(projU, tokA)), 403, CodeForbidden,
		"The IAM user is not authorized to access the API: token is scoped to another project")
	wantError(t, serve(s, tokenGet("ffffffffffffffffffffffffffffffff", tokA)), 404, CodeProjectNotFound, "The project does not exist")
	wantError(t, serve(s, tokenGet(projA, "MIIforged")), 401, CodeTokenInvalid, "The token must be updated: token is invalid")
	// The token wins over a (bad) signature on the same request.
	r := tokenGet(projA, tokA)
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 garbage")
	wantOK(t, serve(s, r), "{}")
}

func TestTokenExpiry(t *testing.T) {
	s, c := newTestServer(t, Options{TokenTTL: time.Hour})
	rec := postToken(s, tokenRequestBody(iamDomain, iamName, iamPass, projA))
	if !strings.Contains(rec.Body.String(), `"expires_at":"2026-11-28T09:00:00.000000Z"`) {
		t.Fatalf("body %s lacks the 1h expiry", rec.Body)
	}
	tok := rec.Header().Get("X-Subject-Token")
	c.Set(t0.Add(time.Hour - time.Nanosecond))
	wantOK(t, serve(s, tokenGet(projA, tok)), "{}")
	c.Set(t0.Add(time.Hour))
	wantError(t, serve(s, tokenGet(projA, tok)), 401, CodeTokenInvalid, "The token must be updated: token has expired")
}

func TestRevokeTokens(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tok := login(t, s, projA)
	wantOK(t, serve(s, tokenGet(projA, tok)), "{}")
	s.RevokeTokens()
	wantError(t, serve(s, tokenGet(projA, tok)), 401, CodeTokenInvalid, "The token must be updated: token is invalid")
	wantOK(t, serve(s, tokenGet(projA, login(t, s, projA))), "{}")
	if n := s.TokensIssued(); n != 2 {
		t.Fatalf("TokensIssued = %d, want 2 (revocation does not reset the count)", n)
	}
}

// IAM is not a MetaStudio call: Options.Latency must not delay it. With a
// cancelled request a delayed route answers nothing, so an answer proves
// there was no delay.
func TestLatencySkipsIAM(t *testing.T) {
	s, _ := newTestServer(t, Options{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, "http://iam.test/v3/auth/tokens",
		strings.NewReader(tokenRequestBody(iamDomain, iamName, iamPass, projA))).WithContext(ctx)
	if rec := serve(s, r); rec.Code != http.StatusCreated {
		t.Fatalf("IAM under latency: %d %s", rec.Code, rec.Body)
	}
	rec := serve(s, signedGet(projA, akA, skA).WithContext(ctx))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatalf("cancelled MetaStudio call was answered: %d %s", rec.Code, rec.Body)
	}
	if n := s.Calls(projA); n != 1 {
		t.Fatalf("Calls = %d, want 1", n)
	}
}
