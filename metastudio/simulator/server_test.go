package simulator

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func signedPut(project, ak, sk string, body []byte) *http.Request {
	r := newRequest(http.MethodPut, project, body, t0)
	testSign(r, ak, sk, body)
	return r
}

func TestPutRoundTrip(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	body := `{"live_exit_config":{"max_live_duration":168,"auto_stop_mode":"SCRIPT_END","max_exception_waiting_duration":0},` +
		`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example/cb?token=abc","auth_type":"MSS_A_HEAD","key":"0123456789abcdef0123456789abcdef",` +
		`"callback_event_type":["SHOOT_SCRIPT_SWITCH","REPLY_COMMAND_FINISH"]},"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`
	wantOK(t, serve(s, signedPut(projA, akA, skA, []byte(body))), body)
	wantOK(t, serve(s, signedGet(projA, akA, skA)), body)
	if cfg, err := s.Config(projA); err != nil || string(cfg) != body {
		t.Fatalf("Config = %s, %v", cfg, err)
	}

	// PUT replaces: absent objects go, unknown fields are not stored, and
	// whitespace is not kept.
	wantOK(t, serve(s, signedPut(projA, akA, skA, []byte(` {"live_exit_config": {"max_live_duration": 0}, "extra": 1} `))),
		`{"live_exit_config":{"max_live_duration":0}}`)
	wantOK(t, serve(s, signedPut(projA, akA, skA, []byte(`{}`))), `{}`)

	// The body is signed: altering it after signing fails.
	r := signedPut(projA, akA, skA, []byte(`{}`))
	r.Body = io.NopCloser(strings.NewReader(`{"live_exit_config":{"max_live_duration":1}}`))
	wantError(t, serve(s, r), 401, CodeAuthFailed, "Incorrect IAM authentication information: signature mismatch")

	// Calls counts GETs only.
	if n := s.Calls(projA); n != 1 {
		t.Fatalf("Calls = %d, want 1", n)
	}
}

func TestPutValidation(t *testing.T) {
	const p = "Invalid parameter: "
	secretURL := "https://hooks.example/" + strings.Repeat("s", 2048)
	secretKey := strings.Repeat("k", 33)
	for _, tc := range []struct{ body, msg string }{
		{`{"live_exit_config":{"max_live_duration":169}}`, "live_exit_config.max_live_duration must be between 0 and 168"},
		{`{"live_exit_config":{"max_live_duration":-1}}`, "live_exit_config.max_live_duration must be between 0 and 168"},
		{`{"live_exit_config":{"max_live_duration":"1"}}`, "live_exit_config.max_live_duration has the wrong type"},
		{`{"live_exit_config":{"max_live_duration":1.5}}`, "live_exit_config.max_live_duration has the wrong type"},
		{`{"live_exit_config":{"auto_stop_mode":"NEVER"}}`, "live_exit_config.auto_stop_mode is not one of FORCE_EXIT|SEGMENT_END|SCENE_END|SCRIPT_END"},
		{`{"live_exit_config":{"max_exception_waiting_duration":61}}`, "live_exit_config.max_exception_waiting_duration must be between 0 and 60"},
		{`{"live_event_callback_config":{"live_event_type_callback_url":"` + secretURL + `"}}`, "live_event_callback_config.live_event_type_callback_url must be at most 2048 characters"},
		{`{"live_event_callback_config":{"auth_type":"BASIC"}}`, "live_event_callback_config.auth_type is not one of NONE|MSS_A|MSS_A_HEAD|MEITUAN_DEFAULT"},
		{`{"live_event_callback_config":{"key":"` + secretKey + `"}}`, "live_event_callback_config.key must be at most 32 characters"},
		{`{"live_event_callback_config":{"callback_event_type":["SHOOT_SCRIPT_SWITCH","LIVE_END"]}}`, "live_event_callback_config.callback_event_type is not one of SHOOT_SCRIPT_SWITCH|RTMP_STREAM_STATE_CHANGE|REPLY_COMMAND_FINISH"},
		{`{"live_notify_config":{"notify_events":["AUTO_START"]}}`, "live_notify_config.notify_events is not one of AUTO_EXIT"},
		{`{"live_exit_config":`, "request body is not a valid JSON object"},
		{`[]`, "request body is not a valid JSON object"},
	} {
		s, _ := newTestServer(t, Options{})
		rec := serve(s, signedPut(projB, akB, skB, []byte(tc.body)))
		wantError(t, rec, 400, CodeBadParameter, p+tc.msg)
		if strings.Contains(rec.Body.String(), "sss") || strings.Contains(rec.Body.String(), "kkk") {
			t.Fatalf("error echoes a secret value: %s", rec.Body)
		}
		if cfg, _ := s.Config(projB); string(cfg) != `{"live_exit_config":{"max_live_duration":2}}` {
			t.Fatalf("rejected PUT changed the config to %s", cfg)
		}
	}

	s, _ := newTestServer(t, Options{})
	big := []byte(`{"x":"` + strings.Repeat("a", 64<<10) + `"}`)
	wantError(t, serve(s, signedPut(projB, akB, skB, big)), 413, CodeBodyTooLarge, "Request entity too large")
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	const msg = "The API does not exist or has not been published in the environment"
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "http://x/v1/"+projA+"/smart-live-configs/user-config/extra", nil),
		httptest.NewRequest(http.MethodGet, "http://x/v1//smart-live-configs/user-config", nil),
		httptest.NewRequest(http.MethodGet, "http://x/v1/a/b/smart-live-configs/user-config", nil),
		httptest.NewRequest(http.MethodGet, "http://x/v2/"+projA+"/smart-live-configs/user-config", nil),
		httptest.NewRequest(http.MethodDelete, userConfigURL(projA), nil),
		httptest.NewRequest(http.MethodGet, "http://x/", nil),
	} {
		wantError(t, serve(s, r), 404, CodeAPINotFound, msg)
	}
	if n := s.Calls(projA); n != 0 {
		t.Fatalf("unrouted requests counted: Calls = %d", n)
	}
}

func TestRequestIDs(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	reqs := []func() *http.Request{
		func() *http.Request { return signedGet(projA, akA, skA) },
		func() *http.Request { return newRequest(http.MethodGet, projA, nil, t0) },
		func() *http.Request { return httptest.NewRequest(http.MethodGet, "http://x/nowhere", nil) },
		func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "http://x/v3/auth/tokens", strings.NewReader(tokenRequestBody(iamDomain, iamName, iamPass, projA)))
		},
	}
	for i := 0; i < 250; i++ {
		for _, mk := range reqs {
			id := serve(s, mk()).Header().Get("X-Request-Id")
			if !hex32.MatchString(id) {
				t.Fatalf("X-Request-Id %q is not 32 hex characters", id)
			}
			if seen[id] {
				t.Fatalf("X-Request-Id %q repeated", id)
			}
			seen[id] = true
		}
	}
	// A second server must not restart the same sequence.
	other := New(Options{})
	if id := serve(other, httptest.NewRequest(http.MethodGet, "http://x/", nil)).Header().Get("X-Request-Id"); seen[id] {
		t.Fatalf("second server repeated X-Request-Id %q", id)
	}
}

func TestCalls(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	serve(s, signedGet(projA, akA, skA))
	serve(s, newRequest(http.MethodGet, projA, nil, t0))
	s.SetFault(projA, Fault{Status: 503})
	serve(s, signedGet(projA, akA, skA))
	serve(s, signedPut(projA, akA, skA, []byte(`{}`)))
	serve(s, signedGet(projB, akB, skB))
	if a, b, t2 := s.Calls(projA), s.Calls(projB), s.Calls(projT); a != 3 || b != 1 || t2 != 0 {
		t.Fatalf("Calls = %d %d %d, want 3 1 0", a, b, t2)
	}
	if n := s.Calls("nope"); n != 0 {
		t.Fatalf("Calls(unknown) = %d", n)
	}
}

func TestAddTenantErrors(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, tc := range []struct {
		tenant Tenant
		err    string
	}{
		{Tenant{ProjectID: projA}, `simulator: project "` + projA + `" already exists`},
		{Tenant{}, `simulator: invalid project id ""`},
		{Tenant{ProjectID: "a/b"}, `simulator: invalid project id "a/b"`},
		{Tenant{ProjectID: "p1", AccessKey: "AK"}, `simulator: project "p1": access key and secret key must be set together`},
		{Tenant{ProjectID: "p1", SecurityToken: "x"}, `simulator: project "p1": security token without access key`},
		{Tenant{ProjectID: "p1", IAMUser: "u"}, `simulator: project "p1": IAM domain, user and password must be set together`},
		{Tenant{ProjectID: "p1", Config: []byte(`{`)}, `simulator: project "p1": initial config is not valid JSON`},
		{Tenant{ProjectID: "p1", AccessKey: akA, SecretKey: "other"}, `simulator: project "p1": access key "` + akA + `" is already registered with other credentials`},
		{Tenant{ProjectID: "p1", IAMDomain: iamDomain, IAMUser: iamName, IAMPassword: "other"}, `simulator: project "p1": IAM user "monitor" is already registered with another password`},
	} {
		err := s.AddTenant(tc.tenant)
		if err == nil || err.Error() != tc.err {
			t.Fatalf("AddTenant(%+v) = %v, want %s", tc.tenant.ProjectID, err, tc.err)
		}
		if strings.Contains(err.Error(), "other\"") || strings.Contains(err.Error(), skA) {
			t.Fatalf("error names a secret: %v", err)
		}
	}
	// One AK may serve several projects of the same account.
	if err := s.AddTenant(Tenant{ProjectID: "p2", AccessKey: akA, SecretKey: skA}); err != nil {
		t.Fatal(err)
	}
	wantOK(t, serve(s, signedGet("p2", akA, skA)), "{}")
}

func TestSetConfig(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	// Values PUT would refuse are fine here: exporters must tolerate them.
	in := []byte(`{"live_exit_config":{"auto_stop_mode":"NEW_MODE","max_live_duration":999}}`)
	if err := s.SetConfig(projA, in); err != nil {
		t.Fatal(err)
	}
	in[2] = 'X' // the server keeps its own copy
	wantOK(t, serve(s, signedGet(projA, akA, skA)), `{"live_exit_config":{"auto_stop_mode":"NEW_MODE","max_live_duration":999}}`)
	out, _ := s.Config(projA)
	out[2] = 'Y'
	if again, _ := s.Config(projA); again[2] != 'l' {
		t.Fatal("Config returned the stored slice itself")
	}
	if err := s.SetConfig("nope", []byte(`{}`)); err == nil || err.Error() != `simulator: unknown project "nope"` {
		t.Fatalf("SetConfig(unknown) = %v", err)
	}
	if err := s.SetConfig(projA, []byte(`{"a":`)); err == nil || err.Error() != `simulator: project "`+projA+`": config is not valid JSON` {
		t.Fatalf("SetConfig(bad json) = %v", err)
	}
	if _, err := s.Config("nope"); err == nil || err.Error() != `simulator: unknown project "nope"` {
		t.Fatalf("Config(unknown) = %v", err)
	}
}

func TestStartServesOverLoopback(t *testing.T) {
	run, err := Start(Options{}, testTenants()...)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if !strings.HasPrefix(run.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %s", run.URL)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(liveGet(t, run, projB, akB, skB))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"live_exit_config":{"max_live_duration":2}}` {
		t.Fatalf("GET = %d %s", resp.StatusCode, body)
	}
	if _, err := Start(Options{}, Tenant{ProjectID: "x"}, Tenant{ProjectID: "x"}); err == nil || err.Error() != `simulator: project "x" already exists` {
		t.Fatalf("Start with duplicate tenants = %v", err)
	}
}

// TestConcurrentUse is for -race: readers, writers, faults, logins and
// revocations on the same tenants at once.
func TestConcurrentUse(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				switch (g + i) % 6 {
				case 0:
					if rec := serve(s, signedGet(projA, akA, skA)); rec.Code != 200 && rec.Code != 500 {
						t.Errorf("GET = %d %s", rec.Code, rec.Body)
					}
				case 1:
					body := []byte(fmt.Sprintf(`{"live_exit_config":{"max_live_duration":%d}}`, i))
					if rec := serve(s, signedPut(projA, akA, skA, body)); rec.Code != 200 {
						t.Errorf("PUT = %d %s", rec.Code, rec.Body)
					}
				case 2:
					if i%2 == 0 {
						s.SetFault(projA, Fault{Status: 500})
					} else {
						s.SetFault(projA, Fault{})
					}
				case 3:
					postToken(s, tokenRequestBody(iamDomain, iamName, iamPass, projU))
				case 4:
					s.RevokeTokens()
					_ = s.SetConfig(projB, []byte(`{}`))
				case 5:
					_ = s.AddTenant(Tenant{ProjectID: fmt.Sprintf("g%d-%d", g, i), AccessKey: akA, SecretKey: skA})
					_, _ = s.Config(projA)
					_ = s.Calls(projA)
					_ = s.TokensIssued()
				}
			}
		}()
	}
	wg.Wait()
	if n := s.TokensIssued(); n == 0 {
		t.Fatal("no token issued")
	}
}

func BenchmarkServeUserConfig(b *testing.B) {
	s, _ := newTestServer(b, Options{})
	if err := s.SetConfig(projA, []byte(`{"live_exit_config":{"max_live_duration":2,"auto_stop_mode":"FORCE_EXIT"},"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`)); err != nil {
		b.Fatal(err)
	}
	r := signedGet(projA, akA, skA)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d %s", rec.Code, rec.Body)
		}
	}
}
