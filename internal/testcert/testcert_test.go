package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestChainsVerify(t *testing.T) {
	ca := NewCA(t, "test CA")
	server := ca.Server(t, "metastudio.test", "localhost", "127.0.0.1")
	client := ca.Client(t, "exporter")
	self := SelfSigned(t, "127.0.0.1")
	serverUse := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientUse := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	for _, tc := range []struct {
		name string
		cert *Cert
		opts x509.VerifyOptions
		err  string // "" when it verifies
	}{
		{"server by name", server, x509.VerifyOptions{Roots: ca.Pool(), DNSName: "metastudio.test", KeyUsages: serverUse}, ""},
		{"server by IP", server, x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1", KeyUsages: serverUse}, ""},
		{"server by another name", server, x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.test", KeyUsages: serverUse},
			"x509: certificate is valid for metastudio.test, localhost, not other.test"},
		{"client", client, x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: clientUse}, ""},
		{"client as a server", client, x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: serverUse},
			"x509: certificate specifies an incompatible key usage"},
		{"self-signed", self, x509.VerifyOptions{Roots: self.Pool(), DNSName: "127.0.0.1", KeyUsages: serverUse}, ""},
		{"self-signed, untrusted", self, x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1", KeyUsages: serverUse},
			"x509: certificate signed by unknown authority"},
	} {
		_, err := tc.cert.Cert.Verify(tc.opts)
		if got := errText(err); got != tc.err && !strings.HasPrefix(got, tc.err+" (") {
			t.Errorf("%s: Verify = %q, want %q", tc.name, got, tc.err)
		}
	}
	if ca.Cert.SerialNumber.Cmp(server.Cert.SerialNumber) == 0 || server.Cert.SerialNumber.Cmp(client.Cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

func TestPEMPairs(t *testing.T) {
	ca := NewCA(t, "test CA")
	client := ca.Client(t, "exporter")
	if _, err := tls.X509KeyPair(client.CertPEM, client.KeyPEM); err != nil {
		t.Errorf("a certificate and its own key: %v", err)
	}
	other := ca.Client(t, "other")
	_, err := tls.X509KeyPair(client.CertPEM, other.KeyPEM)
	if got, want := errText(err), "tls: private key does not match public key"; got != want {
		t.Errorf("a certificate and another's key: %q, want %q", got, want)
	}
}

// A server with a certificate of the CA that requires a client certificate
// of the same CA: a client with one gets its answer, one without is
// refused.
func TestMutualTLS(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.Server(t, "127.0.0.1").TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(),
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	get := func(certs ...tls.Certificate) (string, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	if got, err := get(ca.Client(t, "exporter").TLS()); err != nil || got != "exporter" {
		t.Errorf("with a client certificate: %q, %v; want the server to see exporter", got, err)
	}
	if _, err := get(); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("without a client certificate: %v, want the server to require one", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
