package metastudio

import (
	"net/http"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// Credentials authenticate calls for one tenant: either AK/SK (with an
// optional security token for temporary credentials) or an IAM password that
// is exchanged for an X-Auth-Token.
type Credentials struct {
	AccessKey     string
	SecretKey     secret.String
	SecurityToken secret.String
	IAM           *IAMPassword
}

// IAMPassword is the password method of POST /v3/auth/tokens.
type IAMPassword struct {
	Endpoint string // e.g. https://iam.cn-north-4.myhuaweicloud.com
	Domain   string
	User     string
	Password secret.String
}

// Target is one tenant as the client needs it: plain values, no config model.
type Target struct {
	Name        string // the tenant label; used for request metrics only
	Endpoint    string // e.g. https://metastudio.cn-north-4.myhuaweicloud.com
	ProjectID   string
	Credentials Credentials
	// Connection is the proxy and TLS of the tenant's calls, its IAM
	// token's included; the zero value is the client's shared transport.
	Connection Connection
}

// Observer is told about every MetaStudio call: code is the HTTP status
// ("200", "429") or "timeout" / "network" when no answer came.
type Observer func(tenant, code string, seconds float64)

// ClientOptions tune a Client; the zero value is usable.
type ClientOptions struct {
	// Transport serves every call whose Connection is the zero value. Nil
	// means NewTransport(MaxConnsPerHost).
	Transport http.RoundTripper
	// MaxConnsPerHost bounds the connections to one host, and those kept
	// idle, of each transport the client builds for a Connection (and of
	// the shared one when Transport is nil). Zero means 32.
	MaxConnsPerHost int
	// MaxBodyBytes bounds every response body read. Zero means 1 MiB.
	MaxBodyBytes int64
	// Observe, if set, is called once per MetaStudio call.
	Observe Observer
	// Now is the clock used for X-Sdk-Date and token expiry. Nil means time.Now.
	Now func() time.Time
}
