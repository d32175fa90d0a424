package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Where MetaStudio puts the signature: query parameters for MSS_A, headers
// for MSS_A_HEAD.
const (
	paramSecret  = "hwSecret"
	paramTime    = "hwTime"
	headerSecret = "x-hw-mss-secret"
	headerTime   = "x-hw-mss-time"
)

// verdict is the outcome of verifying one request.
type verdict struct {
	result result // "" when verified
	detail string // why not, for the answer; never holds a secret
	signed bool   // the request carried a valid hwTime signature
	hwTime int64  // hwTime as sent, when signed
	atMs   int64  // hwTime as Unix milliseconds, when signed
}

// Why a request is refused. Fixed texts: none quotes the request or the
// settings.
const (
	detailNoKey        = "the tenant has no callback key"
	detailMissingQuery = "hwSecret and hwTime query parameters are required"
	detailMissingHead  = "x-hw-mss-secret and x-hw-mss-time headers are required"
	detailBadTime      = "hwTime is not hexadecimal Unix seconds (or milliseconds)"
	detailBadSecret    = "hwSecret is not a hexadecimal HMAC-SHA256"
	detailMismatch     = "the signature does not match"
	detailExpired      = "hwTime is outside the accepted clock skew"
	detailDecimalTime  = "hwTime is outside the accepted clock skew; it looks like decimal Unix seconds, but hwTime is hexadecimal Unix seconds"
	detailNoURLCreds   = "the tenant's callback URL carries no credentials in its query (no parameter with a value)"
	detailURLCreds     = "the request does not carry the callback URL's query parameters"
	detailUnsupported  = "the tenant's auth_type is not supported by this receiver"
)

// verify checks r against s at now.
func verify(s *TenantSettings, r *http.Request, now time.Time, skew time.Duration) verdict {
	switch s.AuthType {
	case metastudio.AuthMSSA:
		q := r.URL.Query()
		return verifySigned(s, q.Get(paramSecret), q.Get(paramTime), detailMissingQuery, now, skew)
	case metastudio.AuthMSSAHead:
		return verifySigned(s, r.Header.Get(headerSecret), r.Header.Get(headerTime), detailMissingHead, now, skew)
	case metastudio.AuthNone, "":
		return verifyURLCredentials(s, r.URL.RawQuery)
	default:
		return verdict{result: resultUnsupportedAuth, detail: detailUnsupported}
	}
}

// verifySigned checks hwSecret = hex(HMAC-SHA256(key, U + hwTime)) for U the
// callback URL as held and U its path alone, then the clock skew, so that a
// stale but authentic request is told it is expired.
func verifySigned(s *TenantSettings, gotSecret, gotTime, missing string, now time.Time, skew time.Duration) verdict {
	if !s.Key.IsSet() {
		return verdict{result: resultUnauthenticated, detail: detailNoKey}
	}
	if gotSecret == "" || gotTime == "" {
		return verdict{result: resultBadSignature, detail: missing}
	}
	t, ok := parseHWTime(gotTime)
	if !ok {
		return verdict{result: resultBadSignature, detail: detailBadTime}
	}
	mac, err := hex.DecodeString(gotSecret) // either case; the value is not secret
	if err != nil || len(mac) != sha256.Size {
		return verdict{result: resultBadSignature, detail: detailBadSecret}
	}
	u := s.CallbackURL.Reveal()
	key := s.Key.Reveal()
	// Both forms are always computed, so the time taken does not say which
	// one matched.
	match := hmac.Equal(mac, signature(key, u, gotTime))
	if hmac.Equal(mac, signature(key, urlPath(u), gotTime)) {
		match = true
	}
	if !match {
		return verdict{result: resultBadSignature, detail: detailMismatch}
	}
	atMs := hwTimeMs(t)
	if !withinSkew(atMs, now, skew) {
		if readsAsDecimalNow(gotTime, now, skew) {
			return verdict{result: resultExpired, detail: detailDecimalTime}
		}
		return verdict{result: resultExpired, detail: detailExpired}
	}
	return verdict{signed: true, hwTime: t, atMs: atMs}
}

func withinSkew(atMs int64, now time.Time, skew time.Duration) bool {
	d := now.Sub(time.UnixMilli(atMs))
	return -skew <= d && d <= skew
}

// readsAsDecimalNow tells whether hwTime, read as decimal, is a time inside
// the skew window: a sender that wrote the time in decimal (a common
// mistake) signs and sends "1733540000", which as hex is far from now.
func readsAsDecimalNow(hwTime string, now time.Time, skew time.Duration) bool {
	t, err := strconv.ParseInt(hwTime, 10, 64)
	return err == nil && t > 0 && withinSkew(hwTimeMs(t), now, skew)
}

// hwTimeMillisFrom is the least hwTime read as milliseconds: 10^11 seconds
// is the year 5138, while 10^11 milliseconds is 1973. The vendor's text
// says only hex(timestamp), so both are taken.
const hwTimeMillisFrom = 100_000_000_000

// hwTimeMs is hwTime t as Unix milliseconds.
func hwTimeMs(t int64) int64 {
	if t >= hwTimeMillisFrom {
		return t
	}
	return t * 1000
}

// signature is HMAC-SHA256(key, u + hwTime), the MSS_A formula.
func signature(key, u, hwTime string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(u))
	m.Write([]byte(hwTime))
	return m.Sum(nil)
}

// parseHWTime reads hwTime: hexadecimal, no sign; hwTimeMs says whether it
// counts seconds or milliseconds. The signature is over the text as sent.
func parseHWTime(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 15 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, false
		}
	}
	t, err := strconv.ParseInt(s, 16, 64)
	return t, err == nil
}

// urlPath is the path of a URL exactly as written in it: what follows the
// authority, up to the query or fragment.
func urlPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return ""
	}
	return u
}

// verifyURLCredentials is auth_type NONE: the request must carry every query
// parameter of the callback URL with the same values.
func verifyURLCredentials(s *TenantSettings, rawQuery string) verdict {
	u := s.CallbackURL.Reveal()
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	var want url.Values
	if i := strings.IndexByte(u, '?'); i >= 0 {
		want, _ = url.ParseQuery(u[i+1:]) // the well-formed pairs
	}
	if !carriesCredentials(want) {
		if s.AllowUnauthenticated {
			return verdict{}
		}
		return verdict{result: resultUnauthenticated, detail: detailNoURLCreds}
	}
	got, _ := url.ParseQuery(rawQuery)
	ok := 1
	for k, vs := range want {
		g := got[k]
		if len(g) != len(vs) {
			ok = 0
			continue
		}
		for i := range vs {
			ok &= subtle.ConstantTimeCompare([]byte(g[i]), []byte(vs[i]))
		}
	}
	if ok != 1 {
		return verdict{result: resultBadSignature, detail: detailURLCreds}
	}
	return verdict{}
}

// carriesCredentials tells whether a callback URL's query holds anything a
// sender must know: "?token=" alone is matched by any request that sends
// an empty token, which is no authentication.
func carriesCredentials(q url.Values) bool {
	for _, vs := range q {
		for _, v := range vs {
			if v != "" {
				return true
			}
		}
	}
	return false
}
