package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// stubFetcher answers from fixed bodies or errors, keyed by project id. It
// decodes with encoding/json like the client, so body shapes are exercised.
type stubFetcher struct {
	bodies map[string]string
	errs   map[string]error
}

func (f *stubFetcher) GetUserConfig(ctx context.Context, t metastudio.Target) (*metastudio.UserConfig, error) {
	if err, ok := f.errs[t.ProjectID]; ok {
		return nil, err
	}
	var uc metastudio.UserConfig
	if err := json.Unmarshal([]byte(f.bodies[t.ProjectID]), &uc); err != nil {
		return nil, &metastudio.Error{Reason: metastudio.ReasonDecode, Op: "get user config", Err: err}
	}
	return &uc, nil
}

// fixedClock makes a scrape's scrape_duration_seconds exactly 0.25: its
// first reading is the scrape's start and every later one 250ms on, however
// often the Scraper reads it in between.
func fixedClock() func() time.Time {
	t := time.Unix(1700000000, 0)
	var calls atomic.Int64
	return func() time.Time {
		if calls.Add(1) == 1 {
			return t
		}
		return t.Add(250 * time.Millisecond)
	}
}

func testTenant(name string) *config.Tenant {
	return config.NewTenant(config.Tenant{
		Target: metastudio.Target{
			Name:        name,
			ProjectID:   "p-" + name,
			Endpoint:    "https://metastudio.cn-north-4.myhuaweicloud.com",
			Credentials: metastudio.Credentials{AccessKey: "AK", SecretKey: "SK-not-shown"},
		},
		Settings: config.Settings{
			Region:  "cn-north-4",
			Timeout: 10 * time.Second,
			Policy:  config.Policy{MaxLiveDuration: 24 * time.Hour, MaxExceptionWaiting: 30 * time.Minute},
		},
	})
}

// with returns a copy of t changed by change, resolved as the config
// resolves a tenant, so that its key follows the change.
func with(t *config.Tenant, change func(*config.Tenant)) *config.Tenant {
	c := *t
	change(&c)
	return config.NewTenant(c)
}

// scrapeTenant is a Gatherer of one scrape of tenant, each Gather with a new
// Scraper and clock, so that every gathering of a golden test sees the same
// durations and no cache.
func scrapeTenant(f Fetcher, tenant *config.Tenant) prometheus.Gatherer {
	return scrapeGatherer(func() *Families {
		return NewScraper(f, Options{MaxConcurrency: 1, Now: fixedClock()}).Scrape(context.Background(), nil, tenant)
	})
}

func TestExpositionGolden(t *testing.T) {
	bodies := map[string]string{
		"full": `{
		  "live_exit_config": {"max_live_duration": 12, "auto_stop_mode": "SEGMENT_END", "max_exception_waiting_duration": 5},
		  "live_event_callback_config": {
		    "live_event_type_callback_url": "https://hooks.example.com/cb?token=s3cr3t-in-url",
		    "auth_type": "MSS_A", "key": "s3cr3t-key",
		    "callback_event_type": ["RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH", "REPLY_COMMAND_FINISH"]},
		  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}}`,
		"empty": `{}`,
		"unknown": `{
		  "future_object": {"x": 1},
		  "live_exit_config": {"max_live_duration": 168, "auto_stop_mode": "WHEN_BORED", "new_field": true},
		  "live_event_callback_config": {
		    "live_event_type_callback_url": "http://hooks.example.com/cb",
		    "auth_type": "OAUTH9",
		    "callback_event_type": ["SHOOT_SCRIPT_SWITCH", "NEW_EVENT", "NEW_EVENT"]},
		  "live_notify_config": {"notify_events": ["AUTO_EXIT", "AUTO_PAUSE"]}}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			f := &stubFetcher{bodies: map[string]string{"p-" + name: body}}
			compareGolden(t, scrapeTenant(f, testTenant(name)), name)
		})
	}
}

func TestExpositionErrorClasses(t *testing.T) {
	cases := map[string]error{
		"auth":         &metastudio.Error{Reason: metastudio.ReasonAuth, StatusCode: 401, ErrorCode: "APIGW.0301", Op: "get user config"},
		"forbidden":    &metastudio.Error{Reason: metastudio.ReasonForbidden, StatusCode: 403, ErrorCode: "APIGW.0305", Op: "get user config"},
		"throttled":    &metastudio.Error{Reason: metastudio.ReasonThrottled, StatusCode: 429, ErrorCode: "APIGW.0308", Op: "get user config"},
		"client_error": &metastudio.Error{Reason: metastudio.ReasonClientError, StatusCode: 404, ErrorCode: "MSS.00000004", Op: "get user config"},
		"server_error": &metastudio.Error{Reason: metastudio.ReasonServerError, StatusCode: 500, ErrorCode: "MSS.00000001", Op: "get user config"},
		"timeout":      &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: "get user config", Err: context.DeadlineExceeded},
		"network":      &metastudio.Error{Reason: metastudio.ReasonNetwork, Op: "get user config", Err: errors.New("connection refused")},
		"decode":       &metastudio.Error{Reason: metastudio.ReasonDecode, Op: "get user config", Err: errors.New("unexpected end of JSON input")},
		"credentials":  &metastudio.Error{Reason: metastudio.ReasonCredentials, StatusCode: 401, Op: "get IAM token"},
	}
	for reason, err := range cases {
		t.Run(reason, func(t *testing.T) {
			tenant := testTenant("t")
			f := &stubFetcher{errs: map[string]error{tenant.ProjectID: err}}
			code := metastudio.ErrorCodeOf(err)
			want := fmt.Sprintf(errorGolden, reason, code)
			if err := testutil.GatherAndCompare(scrapeTenant(f, tenant), strings.NewReader(want)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

const errorGolden = `# HELP metastudio_policy_max_exception_waiting_seconds The tenant's policy threshold for max exception waiting; 0 means none.
# TYPE metastudio_policy_max_exception_waiting_seconds gauge
metastudio_policy_max_exception_waiting_seconds{tenant="t"} 1800
# HELP metastudio_policy_max_live_duration_seconds The tenant's policy threshold for max live duration; 0 means none.
# TYPE metastudio_policy_max_live_duration_seconds gauge
metastudio_policy_max_live_duration_seconds{tenant="t"} 86400
# HELP metastudio_scrape_duration_seconds Time spent on this tenant in this scrape.
# TYPE metastudio_scrape_duration_seconds gauge
metastudio_scrape_duration_seconds{tenant="t"} 0.25
# HELP metastudio_scrape_error_info 1 while up is 0: why this tenant's config could not be fetched.
# TYPE metastudio_scrape_error_info gauge
metastudio_scrape_error_info{error_code="%[2]s",reason="%[1]s",tenant="t"} 1
# HELP metastudio_tenant_info Project and region of the tenant; always 1.
# TYPE metastudio_tenant_info gauge
metastudio_tenant_info{project_id="p-t",region="cn-north-4",tenant="t"} 1
# HELP metastudio_up 1 if this tenant's live-streaming config was fetched and decoded in this scrape.
# TYPE metastudio_up gauge
metastudio_up{tenant="t"} 0
`

// compareGolden compares g's exposition with testdata/NAME.prom; with
// -update it rewrites the file instead.
func compareGolden(t *testing.T, g prometheus.Gatherer, name string) {
	t.Helper()
	path := filepath.Join("testdata", name+".prom")
	if *update {
		writeExposition(t, g, path)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(g, strings.NewReader(string(want))); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3t", "token="} {
		if strings.Contains(string(want), secret) {
			t.Errorf("%s holds %q", path, secret)
		}
	}
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("promlint: %v", problems)
	}
}
