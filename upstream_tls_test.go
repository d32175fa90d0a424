package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// Secrets of the upstream connection tests: none may show in an error.
const (
	upAK, upSK   = "AKUPSTREAM000000001", "upstream-sk-SECRET-1"
	upDomain     = "acme"
	upUser       = "monitor"
	upPassword   = "upstream-password-SECRET-2"
	upUserConfig = `{"live_exit_config":{"max_live_duration":3}}`
)

// upstreamSim is a simulator knowing the projects given, each reachable
// with upAK/upSK and with the IAM user; listed in IAM as cn-north-4_<id>.
func upstreamSim(t *testing.T, projects ...string) *simulator.Server {
	t.Helper()
	sim := simulator.New(simulator.Options{})
	for _, id := range projects {
		err := sim.AddTenant(simulator.Tenant{ProjectID: id, ProjectName: "cn-north-4_" + id, AccessKey: upAK, SecretKey: upSK,
			IAMDomain: upDomain, IAMUser: upUser, IAMPassword: upPassword, Config: []byte(upUserConfig)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return sim
}

// loadUpstreamConfig loads yaml as metastudio.yml in dir, where the PKI's
// files are, and returns it with a client for its tenants.
func loadUpstreamConfig(t *testing.T, dir, yaml string) (*config.Config, *metastudio.Client) {
	t.Helper()
	cfg, err := config.Load(writeFile(t, dir, "metastudio.yml", yaml))
	if err != nil {
		t.Fatal(err)
	}
	client := metastudio.NewClient(metastudio.ClientOptions{})
	t.Cleanup(client.CloseIdleConnections)
	return cfg, client
}

const upCredentials = `credentials:
  ak: {access_key: ` + upAK + `, secret_key: ` + upSK + `}
  iam:
    iam_password: {domain: ` + upDomain + `, user: ` + upUser + `, password: ` + upPassword + `, endpoint: %q}
    http_client: {tls_config: {ca_file: ca.pem}}
`

// checkUserConfig calls tenant name's user config and checks the outcome:
// the simulator's settings, or the error want (a prefix when it ends in
// "..."), a network failure naming no secret. It returns the error.
func checkUserConfig(t *testing.T, cfg *config.Config, client *metastudio.Client, name, want string) error {
	t.Helper()
	tenant, ok := cfg.Tenant(name)
	if !ok {
		t.Fatalf("no tenant %s", name)
	}
	uc, err := client.GetUserConfig(context.Background(), tenant.Target)
	if want == "" {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if got := uc.Effective().MaxLiveDurationHours; got != 3 {
			t.Errorf("%s: max live duration %d, want the simulator's 3", name, got)
		}
		return err
	}
	switch prefix, isPrefix := strings.CutSuffix(want, "..."); {
	case err == nil:
		t.Errorf("%s: no error, want %s", name, want)
		return nil
	case isPrefix && !strings.HasPrefix(err.Error(), prefix), !isPrefix && err.Error() != want:
		t.Errorf("%s: err = %v\nwant %s", name, err, want)
	case metastudio.ReasonOf(err) != metastudio.ReasonNetwork:
		t.Errorf("%s: reason %s, want network", name, metastudio.ReasonOf(err))
	}
	if strings.Contains(fmt.Sprintf("%v %+v", err, err), "SECRET") {
		t.Errorf("%s: a secret in the error: %v", name, err)
	}
	return err
}

// TestUpstreamTLS: the simulator over HTTPS on a CA of the test's own.
// Without ca_file a tenant fails with a TLS error of reason network; with
// it, it works; server_name is the name the certificate is checked
// against, insecure_skip_verify checks nothing, min_version is held, and a
// server that wants a client certificate gets cert_file/key_file's. The
// IAM token goes through the tenant's block too.
func TestUpstreamTLS(t *testing.T) {
	pki := newTestPKI(t)
	projects := []string{"p-no-ca", "p-ca", "p-name", "p-wrong-name", "p-insecure", "p-no-cert", "p-cert", "p-tls13", "p-tls12", "p-iam", "p-iam-no-ca"}
	sim := upstreamSim(t, projects...)
	plain := startTLSSim(t, sim, pki, tlsSimOptions{})
	mutual := startTLSSim(t, sim, pki, tlsSimOptions{clientCert: true})
	tls12 := startTLSSim(t, sim, pki, tlsSimOptions{maxVersion: tls.VersionTLS12})

	cfg, client := loadUpstreamConfig(t, pki.dir, fmt.Sprintf(upCredentials+`defaults: {credentials: ak}
tenants:
  - {name: no-ca, project_id: p-no-ca, endpoint: %[1]q}
  - {name: ca, project_id: p-ca, endpoint: %[1]q, http_client: {tls_config: {ca_file: ca.pem}}}
  - {name: name, project_id: p-name, endpoint: %[1]q, http_client: {tls_config: {ca_file: ca.pem, server_name: metastudio.test}}}
  - {name: wrong-name, project_id: p-wrong-name, endpoint: %[1]q, http_client: {tls_config: {ca_file: ca.pem, server_name: other.test}}}
  - {name: insecure, project_id: p-insecure, endpoint: %[1]q, http_client: {tls_config: {insecure_skip_verify: true}}}
  - {name: no-cert, project_id: p-no-cert, endpoint: %[2]q, http_client: {tls_config: {ca_file: ca.pem}}}
  - name: cert
    project_id: p-cert
    endpoint: %[2]q
    http_client: {tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}}
  - {name: tls13, project_id: p-tls13, endpoint: %[3]q, http_client: {tls_config: {ca_file: ca.pem, min_version: TLS13}}}
  - {name: tls12, project_id: p-tls12, endpoint: %[3]q, http_client: {tls_config: {ca_file: ca.pem, min_version: TLS12}}}
  - {name: iam, project_id: p-iam, endpoint: %[1]q, credentials: iam}
  - {name: iam-no-ca, project_id: p-iam-no-ca, endpoint: %[1]q, credentials: iam, http_client: {tls_config: {server_name: metastudio.test}}}
`, plain.url, mutual.url, tls12.url))

	for _, tc := range []struct{ tenant, want string }{
		{"no-ca", "get user config: network: to " + plain.addr + ": tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"ca", ""},
		{"name", ""},
		{"wrong-name", "get user config: network: to " + plain.addr + ": tls: failed to verify certificate: x509: certificate is valid for metastudio.test, localhost, not other.test"},
		{"insecure", ""},
		// Whether the client reads the server's alert or a reset first
		// depends on timing; the server's log says why (below).
		{"no-cert", "get user config: network: ..."},
		{"cert", ""},
		{"tls13", "get user config: network: to " + tls12.addr + ": remote error: tls: protocol version not supported"},
		{"tls12", ""},
		{"iam", ""},
		{"iam-no-ca", "get IAM token: network: to " + plain.addr + ": tls: failed to verify certificate: x509: certificate signed by unknown authority"},
	} {
		_ = checkUserConfig(t, cfg, client, tc.tenant, tc.want)
	}
	if got := mutual.handshakeErrors.String(); !strings.Contains(got, "client didn't provide a certificate") {
		t.Errorf("the server that wants a client certificate did not refuse one for lack of it; its log:\n%s", got)
	}
}
