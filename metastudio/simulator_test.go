package metastudio_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// These tests run the client against the simulator, whose signature
// verifier was written apart from the client's signer: agreement between
// the two is evidence that both follow the gateway's rules.

const (
	simAKProject  = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
	simSTSProject = "1b2c3d4e5f60718293a4b5c6d7e8f90a"
	simIAMProject = "2c3d4e5f6071829304b5c6d7e8f90a1b"
	simSK         = "sim-SECRET-sk"
	simSTSSK      = "sim-SECRET-sts-sk"
	simSTSToken   = "sim-SECRET-security-token"
	simPassword   = "sim-SECRET-password"
)

func startSimulator(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.New(simulator.Options{})
	for _, tn := range []simulator.Tenant{
		{ProjectID: simAKProject, AccessKey: "AKSIMPLAIN", SecretKey: simSK,
			Config: []byte(`{"live_exit_config":{"max_live_duration":0}}`)},
		{ProjectID: simSTSProject, AccessKey: "AKSIMTEMP", SecretKey: simSTSSK, SecurityToken: simSTSToken},
		{ProjectID: simIAMProject, IAMDomain: "acme", IAMUser: "monitor", IAMPassword: simPassword,
			Config: []byte(`{"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`)},
	} {
		if err := sim.AddTenant(tn); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func simTarget(endpoint, project string, creds metastudio.Credentials) metastudio.Target {
	return metastudio.Target{Name: "sim", Endpoint: endpoint, ProjectID: project, Credentials: creds}
}

func noSecrets(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, "SECRET") {
		t.Errorf("secret in %q", s)
	}
}

func TestSimulatorAKSK(t *testing.T) {
	_, url := startSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{})
	tg := simTarget(url, simAKProject, metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: simSK})
	ctx := context.Background()

	uc, err := c.GetUserConfig(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if s := uc.Effective(); s.MaxLiveDurationHours != 0 || s.MaxExceptionWaitingMinutes != 3 {
		t.Errorf("initial settings %+v", s)
	}

	put := `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SCRIPT_END","max_exception_waiting_duration":5},` +
		`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/cb","auth_type":"MSS_A","key":"k",` +
		`"callback_event_type":["REPLY_COMMAND_FINISH"]}}`
	if err := c.PutUserConfig(ctx, tg, []byte(put)); err != nil {
		t.Fatal(err)
	}
	uc, err = c.GetUserConfig(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	s := uc.Effective()
	if s.MaxLiveDurationHours != 12 || s.AutoStopMode != "SCRIPT_END" || s.MaxExceptionWaitingMinutes != 5 ||
		!s.CallbackHTTPS || s.CallbackAuthType != "MSS_A" || !s.CallbackKeyConfigured ||
		strings.Join(s.CallbackEvents, ",") != "REPLY_COMMAND_FINISH" {
		t.Errorf("settings after PUT %+v", s)
	}
}

func TestSimulatorAKSKWithSecurityToken(t *testing.T) {
	_, url := startSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{})
	creds := metastudio.Credentials{AccessKey: "AKSIMTEMP", SecretKey: simSTSSK, SecurityToken: simSTSToken}
	if _, err := c.GetUserConfig(context.Background(), simTarget(url, simSTSProject, creds)); err != nil {
		t.Fatal(err)
	}
	creds.SecurityToken = ""
	_, err := c.GetUserConfig(context.Background(), simTarget(url, simSTSProject, creds))
	if metastudio.ReasonOf(err) != metastudio.ReasonAuth || metastudio.ErrorCodeOf(err) != simulator.CodeAuthFailed {
		t.Errorf("temporary AK/SK without its token: %v", err)
	}
}

func TestSimulatorIAMPassword(t *testing.T) {
	sim, url := startSimulator(t)
	var codes []string
	c := metastudio.NewClient(metastudio.ClientOptions{Observe: func(_, code string, _ float64) { codes = append(codes, code) }})
	tg := simTarget(url, simIAMProject, metastudio.Credentials{IAM: &metastudio.IAMPassword{
		Endpoint: url, Domain: "acme", User: "monitor", Password: simPassword,
	}})
	ctx := context.Background()

	for range 3 {
		uc, err := c.GetUserConfig(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(uc.Effective().NotifyEvents, ","); got != "AUTO_EXIT" {
			t.Errorf("notify events %q", got)
		}
	}
	if n := sim.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued for 3 calls, want 1", n)
	}

	sim.RevokeTokens()
	if _, err := c.GetUserConfig(ctx, tg); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := sim.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued after revocation, want 2", n)
	}
	if got := strings.Join(codes, ","); got != "200,200,200,401,200" {
		t.Errorf("observed %s", got)
	}

	tg.Credentials.IAM = &metastudio.IAMPassword{Endpoint: url, Domain: "acme", User: "monitor", Password: "sim-SECRET-wrong"}
	_, err := c.GetUserConfig(ctx, tg)
	if err == nil || err.Error() != "get IAM token: HTTP 401 401: The username or password is wrong." ||
		metastudio.ReasonOf(err) != metastudio.ReasonCredentials {
		t.Errorf("wrong password: %v", err)
	}
}

func TestSimulatorWrongSecretKey(t *testing.T) {
	_, url := startSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{})
	tg := simTarget(url, simAKProject, metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: "sim-SECRET-wrong"})
	_, err := c.GetUserConfig(context.Background(), tg)
	want := "get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: signature mismatch"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	var e *metastudio.Error
	if !errors.As(err, &e) || e.Reason != metastudio.ReasonAuth || e.RequestID == "" {
		t.Errorf("error %+v; want auth with a request id", e)
	}
	noSecrets(t, err.Error())
}

func TestSimulatorFaults(t *testing.T) {
	sim, url := startSimulator(t)
	c := metastudio.NewClient(metastudio.ClientOptions{})
	tg := simTarget(url, simAKProject, metastudio.Credentials{AccessKey: "AKSIMPLAIN", SecretKey: simSK})

	sim.SetFault(simAKProject, simulator.Fault{Status: 429, RetryAfter: "3"})
	_, err := c.GetUserConfig(context.Background(), tg)
	var e *metastudio.Error
	if !errors.As(err, &e) || e.Reason != metastudio.ReasonThrottled || e.RetryAfter != 3*time.Second {
		t.Errorf("429 fault: %v", err)
	}

	sim.SetFault(simAKProject, simulator.Fault{BodySize: 2 << 20})
	_, err = c.GetUserConfig(context.Background(), tg)
	if err == nil || err.Error() != "get user config: decode: response body exceeds 1048576 bytes" {
		t.Errorf("2 MiB body: %v", err)
	}

	sim.SetFault(simAKProject, simulator.Fault{ResetMidBody: true})
	_, err = c.GetUserConfig(context.Background(), tg)
	if r := metastudio.ReasonOf(err); r != metastudio.ReasonNetwork {
		t.Errorf("reset mid-body: reason %q, err %v", r, err)
	}

	sim.SetFault(simAKProject, simulator.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.GetUserConfig(ctx, tg)
	if err == nil || err.Error() != "get user config: timeout: context deadline exceeded" {
		t.Errorf("hang: %v", err)
	}
}
