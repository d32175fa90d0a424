// Package demo runs the exporter against the built-in MetaStudio simulator
// with three sample tenants, so that it can be tried with no account, and
// plays their live jobs' events to the exporter's live-event receiver.
package demo

import (
	"fmt"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// Demo is a running simulator and the config that points at it.
type Demo struct {
	URL    string
	Config *config.Config
	run    *simulator.Running
}

// Close stops the simulator.
func (d *Demo) Close() error { return d.run.Close() }

// Sample tenants. The AK/SK pairs are made up; demo-rejected is configured
// with a secret key the simulator does not accept.
const (
	demoAccessKey = "DEMOACCESSKEY0000001"
	demoSecretKey = "demo-secret-key-not-a-real-one"
	wrongSecret   = "demo-secret-key-that-is-wrong"

	safeProject     = "5f2c1e9a7b3d4c6e8f0a1b2c3d4e5f60"
	riskyProject    = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	rejectedProject = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

	safeTenant     = "demo-safe"
	riskyTenant    = "demo-risky"
	rejectedTenant = "demo-rejected"

	// The projects' names in IAM's project list, where real projects are
	// named after their region (a region's default project) or region_name.
	safeProjectName     = "cn-north-4_" + safeTenant
	riskyProjectName    = "ap-southeast-1_" + riskyTenant
	rejectedProjectName = "cn-north-4_" + rejectedTenant
)

// CallbackExternalURL is the public base URL the sample tenants' callbacks
// point at: the receiver as MetaStudio would reach it, through a
// TLS-terminating proxy. In the demo nothing listens there; RunLiveJobs
// delivers to the local receiver instead, as that proxy would. Run the
// demo's receiver with --callback.external-url set to it.
const CallbackExternalURL = "https://mon.example.com:10037"

// safeConfig stops streams after 12 h, stops a broken stream after 5 min,
// sends signed https callbacks for every event to the exporter's receiver
// and notifies on auto exit. %[1]s is the callback URL, %[2]s the auth type.
const safeConfig = `{
  "live_exit_config": {"max_live_duration": 12, "auto_stop_mode": "SEGMENT_END", "max_exception_waiting_duration": 5},
  "live_event_callback_config": {
    "live_event_type_callback_url": "%[1]s",
    "auth_type": "%[2]s",
    "key": "demo-callback-signing-key",
    "callback_event_type": ["SHOOT_SCRIPT_SWITCH", "RTMP_STREAM_STATE_CHANGE", "REPLY_COMMAND_FINISH"]
  },
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`

// riskyConfig is every setting that costs money or hides an outage: no
// duration limit, no exception limit, an unsigned plain-http callback whose
// query carries a token, no stream-state events and no auto-exit notice.
const riskyConfig = `{
  "live_exit_config": {"max_live_duration": 0, "max_exception_waiting_duration": 0},
  "live_event_callback_config": {
    "live_event_type_callback_url": "http://mon.example.com:10037/callback/` + riskyTenant + `?access_token=demo-token-in-url",
    "auth_type": "NONE",
    "callback_event_type": ["SHOOT_SCRIPT_SWITCH"]
  },
  "live_notify_config": {"notify_events": []}
}`

// Tenants returns the simulator side of the sample tenants. The rejected
// tenant signs in headers (MSS_A_HEAD), the safe one in the query (MSS_A),
// so that the demo sends both.
func Tenants() []simulator.Tenant {
	return []simulator.Tenant{
		{ProjectID: safeProject, ProjectName: safeProjectName, AccessKey: demoAccessKey, SecretKey: demoSecretKey,
			Config: signedConfig(safeTenant, simulator.AuthMSSA)},
		{ProjectID: riskyProject, ProjectName: riskyProjectName, AccessKey: demoAccessKey, SecretKey: demoSecretKey,
			Config: []byte(riskyConfig)},
		{ProjectID: rejectedProject, ProjectName: rejectedProjectName, AccessKey: demoAccessKey, SecretKey: demoSecretKey,
			Config: signedConfig(rejectedTenant, simulator.AuthMSSAHead)},
	}
}

// signedConfig is safe settings whose signed callbacks (authType) go to
// tenant's URL at CallbackExternalURL.
func signedConfig(tenant, authType string) []byte {
	return fmt.Appendf(nil, safeConfig, CallbackExternalURL+"/callback/"+tenant, authType)
}

// configYAML is the exporter side of the sample tenants; %[1]s is the
// simulator's URL.
const configYAML = `defaults:
  region: cn-north-4
  timeout: 5s
  credentials: demo
  policy:
    max_live_duration: 24h
    max_exception_waiting: 30m
  # The shortest intervals: every room's own settings show within a
  # minute of the first scrape, where the default takes ten, and a dropped
  # push shows in its job's stream_duration within 15 seconds.
  rooms:
    refresh_interval: 1m
  live_jobs:
    refresh_interval: 15s
credentials:
  demo:
    access_key: ` + demoAccessKey + `
    secret_key: ` + demoSecretKey + `
  demo-wrong-secret:
    access_key: ` + demoAccessKey + `
    secret_key: ` + wrongSecret + `
tenants:
  - name: ` + safeTenant + `
    project_id: ` + safeProject + `
    endpoint: %[1]s
  - name: ` + riskyTenant + `
    project_id: ` + riskyProject + `
    region: ap-southeast-1
    endpoint: %[1]s
  - name: ` + rejectedTenant + `
    project_id: ` + rejectedProject + `
    endpoint: %[1]s
    credentials: demo-wrong-secret
`

// Start runs the simulator on a loopback port with the sample tenants and a
// realistic upstream latency.
func Start() (*Demo, error) {
	run, err := simulator.Start(simulator.Options{Latency: 30 * time.Millisecond}, Tenants()...)
	if err != nil {
		return nil, fmt.Errorf("starting the simulator: %w", err)
	}
	now := time.Now()
	if err := addRooms(run.Server, now, sampleRooms(now)); err != nil {
		_ = run.Close()
		return nil, fmt.Errorf("adding the sample rooms: %w", err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(configYAML, run.URL)), "demo.yml", "", noEnv)
	if err != nil {
		_ = run.Close()
		return nil, fmt.Errorf("building the demo config: %w", err)
	}
	return &Demo{URL: run.URL, Config: cfg, run: run}, nil
}

// noEnv keeps the demo independent of HUAWEICLOUD_SDK_* in the environment.
func noEnv(string) (string, bool) { return "", false }
