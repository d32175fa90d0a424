package receiver

import (
	"context"
	"net/http"
	"time"
)

// NewSignedRequest builds the POST of body to target that MetaStudio sends
// for a tenant whose auth type and key these are, signed at now: U is
// target exactly as given; MSS_A appends hwSecret and hwTime to its query,
// MSS_A_HEAD sends them as x-hw-mss-* headers, NONE sends target as is.
// Relays are built the same way; callback-test sends one to check a
// tenant's callback end to end. Other auth types go out unsigned: the
// caller refuses them first.
func NewSignedRequest(ctx context.Context, authType, key, target string, body []byte, now time.Time) (*http.Request, error) {
	return newRelayRequest(ctx, authType, key, target, body, now)
}
