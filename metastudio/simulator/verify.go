package simulator

// The verifier is written from the published SDK-HMAC-SHA256 algorithm and
// shares no code with the client's signer: a signer bug that the verifier
// copied would otherwise pass unnoticed.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

const (
	sdkAlgorithm  = "SDK-HMAC-SHA256"
	sdkDateLayout = "20060102T150405Z"
)

// requiredSignedHeaders is what the gateway insists a signature covers:
// X-Sdk-Date only. Huawei's API signing guide says so ("only X-Sdk-Date is
// required and other request header parameters are optional"), and the
// official SDK signs every header it sends but Host (user-agent, x-project-id,
// x-sdk-date for a MetaStudio GET). Whatever else is signed is covered by the
// signature and checked with it.
var requiredSignedHeaders = []string{"x-sdk-date"}

type authorization struct {
	access        string
	signedHeaders []string // lowercase, sorted, unique
	signature     string   // hex, as sent
}

// parseAuthorization reads
// "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(v string) (authorization, bool) {
	var a authorization
	rest, ok := strings.CutPrefix(v, sdkAlgorithm+" ")
	if !ok {
		return a, false
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || val == "" {
			return a, false
		}
		switch k {
		case "Access":
			a.access = val
		case "SignedHeaders":
			a.signedHeaders = normalizeSignedHeaders(val)
		case "Signature":
			a.signature = val
		default:
			return a, false
		}
	}
	return a, a.access != "" && len(a.signedHeaders) > 0 && a.signature != ""
}

func normalizeSignedHeaders(v string) []string {
	hs := strings.Split(strings.ToLower(v), ";")
	slices.Sort(hs)
	hs = slices.Compact(hs)
	if len(hs) > 0 && hs[0] == "" {
		hs = hs[1:]
	}
	return hs
}

// verifySignature authenticates an AK/SK request for project and returns
// the access key it was signed with. X-Project-Id is required with AK/SK
// (the API reference says so) but, like any header, need not be signed.
// Rejection reasons name what is wrong, never a secret or the expected
// signature.
func (s *Server) verifySignature(r *http.Request, project string, body []byte) (*accessKey, *apiError) {
	return s.verify(r, body, func() *apiError {
		if r.Header.Get("X-Project-Id") != project {
			return authFailed("X-Project-Id does not match the project in the path")
		}
		return nil
	})
}

// verifyGlobalSignature authenticates an AK/SK request to IAM. A request
// that names a project is refused, so that a client signing IAM calls the
// way it signs MetaStudio calls is caught here rather than in the cloud.
func (s *Server) verifyGlobalSignature(r *http.Request, body []byte) (*accessKey, *apiError) {
	return s.verify(r, body, func() *apiError {
		if len(r.Header["X-Project-Id"]) > 0 {
			return authFailed("X-Project-Id must not be sent to a global service")
		}
		return nil
	})
}

// verify runs the checks in the order docs/simulator.md lists; checkProject is the
// route's own rule for X-Project-Id.
func (s *Server) verify(r *http.Request, body []byte, checkProject func() *apiError) (*accessKey, *apiError) {
	raw := r.Header.Get("Authorization")
	if raw == "" {
		return nil, authFailed("Authorization header missing")
	}
	a, ok := parseAuthorization(raw)
	if !ok {
		return nil, authFailed("malformed Authorization header")
	}
	for _, h := range requiredSignedHeaders {
		if !slices.Contains(a.signedHeaders, h) {
			return nil, authFailed(h + " is not a signed header")
		}
	}
	date := r.Header.Get("X-Sdk-Date")
	signedAt, err := time.Parse(sdkDateLayout, date)
	if err != nil {
		return nil, authFailed("X-Sdk-Date missing or malformed")
	}
	if skew := s.now().Sub(signedAt); skew > s.maxSkew || skew < -s.maxSkew {
		return nil, authFailed("X-Sdk-Date is more than " + s.maxSkew.String() + " away from the server clock")
	}
	if err := checkProject(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	key := s.keys[a.access]
	s.mu.RUnlock()
	if key == nil {
		return nil, authFailed("unknown access key")
	}
	// A temporary key's token must come with the request; like any other
	// header it need not be signed (the SDK signs it anyway).
	if key.securityToken != "" {
		tok := r.Header.Get("X-Security-Token")
		if tok == "" {
			return nil, authFailed("X-Security-Token missing")
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(key.securityToken)) != 1 {
			return nil, authFailed("X-Security-Token invalid")
		}
	}
	for _, h := range a.signedHeaders {
		if h != "host" && len(r.Header[textproto.CanonicalMIMEHeaderKey(h)]) == 0 {
			return nil, authFailed("signed header " + h + " missing from the request")
		}
	}
	got, err := hex.DecodeString(a.signature)
	if err != nil {
		return nil, authFailed("signature mismatch")
	}
	want := computeSignature(key.secret, date, canonicalRequest(r, a.signedHeaders, body))
	if !hmac.Equal(got, want) {
		return nil, authFailed("signature mismatch")
	}
	return key, nil
}

func computeSignature(secret []byte, date, canonical string) []byte {
	sum := sha256.Sum256([]byte(canonical))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(sdkAlgorithm + "\n" + date + "\n"))
	var hexSum [sha256.Size * 2]byte
	hex.Encode(hexSum[:], sum[:])
	mac.Write(hexSum[:])
	return mac.Sum(nil)
}

// canonicalRequest is METHOD \n URI/ \n query \n headers \n signed \n
// hex(sha256(body)); the header block ends in its own "\n", so a blank line
// separates it from the signed-header list.
func canonicalRequest(r *http.Request, signed []string, body []byte) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	writeCanonicalURI(&b, r.URL.Path)
	b.WriteByte('\n')
	writeCanonicalQuery(&b, r)
	b.WriteByte('\n')
	for _, h := range signed {
		if h == "host" {
			b.WriteString("host:")
			b.WriteString(strings.TrimSpace(r.Host))
			b.WriteByte('\n')
			continue
		}
		vals := r.Header[textproto.CanonicalMIMEHeaderKey(h)]
		if len(vals) > 1 {
			vals = slices.Sorted(slices.Values(vals))
		}
		for _, v := range vals {
			b.WriteString(h)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	sum := sha256.Sum256(body)
	var hexSum [sha256.Size * 2]byte
	hex.Encode(hexSum[:], sum[:])
	b.Write(hexSum[:])
	return b.String()
}

func writeCanonicalURI(b *strings.Builder, path string) {
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		uriEscape(b, seg)
	}
	if !strings.HasSuffix(path, "/") {
		b.WriteByte('/')
	}
}

func writeCanonicalQuery(b *strings.Builder, r *http.Request) {
	if r.URL.RawQuery == "" {
		return
	}
	q := r.URL.Query()
	first := true
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range slices.Sorted(slices.Values(q[k])) {
			if !first {
				b.WriteByte('&')
			}
			first = false
			uriEscape(b, k)
			b.WriteByte('=')
			uriEscape(b, v)
		}
	}
}

// uriEscape percent-encodes everything but RFC 3986 unreserved characters,
// with upper-case hex, as the signing algorithm requires.
func uriEscape(b *strings.Builder, s string) {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0xf])
	}
}
