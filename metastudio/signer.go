package metastudio

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

const (
	signAlgorithm  = "SDK-HMAC-SHA256"
	sdkDateLayout  = "20060102T150405Z"
	headerSdkDate  = "X-Sdk-Date"
	headerSecToken = "X-Security-Token"
	headerProject  = "X-Project-Id"
	// emptyBodySHA256 is hex(sha256("")): every GET hashes to it, so it is
	// not recomputed per request.
	emptyBodySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// signableHeaders is every header SignRequest may sign, already in the
// lower-case sorted order the canonical request needs, so that choosing the
// present ones needs no sort and no allocation. An empty key means Host,
// which net/http keeps outside req.Header.
var signableHeaders = [...]struct{ lower, key string }{
	{"content-type", "Content-Type"},
	{"host", ""},
	{"x-project-id", headerProject},
	{"x-sdk-date", headerSdkDate},
	{"x-security-token", headerSecToken},
}

var errSignNoKey = errors.New("sign request: access key and secret key are required")

// signBufPool recycles the canonical request buffer: at 1,000 tenants per
// scrape a fresh buffer per signature is measurable garbage.
var signBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// SignRequest signs req with SDK-HMAC-SHA256 as the API gateway verifies it.
// body must be the exact bytes that will be sent (nil for none). It sets
// X-Sdk-Date, X-Security-Token when securityToken is set, and Authorization.
func SignRequest(req *http.Request, body []byte, accessKey string, secretKey secret.String, securityToken secret.String, now time.Time) error {
	if accessKey == "" || !secretKey.IsSet() {
		return errSignNoKey
	}
	var dateBuf [len(sdkDateLayout)]byte
	date := string(appendSdkDate(dateBuf[:0], now))
	req.Header.Set(headerSdkDate, date)
	if securityToken.IsSet() {
		req.Header.Set(headerSecToken, securityToken.Reveal())
	}

	bodyHash := emptyBodySHA256
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		bodyHash = hex.EncodeToString(sum[:])
	}

	bp := signBufPool.Get().(*[]byte)
	buf, signed := appendCanonicalRequest((*bp)[:0], req, bodyHash)
	crLen := len(buf)
	buf = appendStringToSign(buf, date, buf[:crLen])
	stsEnd := len(buf)
	// The Authorization value is built after the string to sign in the
	// same buffer, so that the header costs one allocation: its string.
	buf = append(buf, signAlgorithm+" Access="...)
	buf = append(buf, accessKey...)
	buf = append(buf, ", SignedHeaders="...)
	buf = append(buf, signed...)
	buf = append(buf, ", Signature="...)
	buf = appendSignature(buf, secretKey, buf[crLen:stsEnd])
	req.Header.Set("Authorization", string(buf[stsEnd:]))
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		signBufPool.Put(bp)
	}
	return nil
}

// appendSdkDate appends t in UTC as 20060102T150405Z. It is
// time.Format(sdkDateLayout) without parsing the layout on every request.
func appendSdkDate(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = appendDigits(dst, int(month), 2)
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = appendDigits(dst, minute, 2)
	dst = appendDigits(dst, sec, 2)
	return append(dst, 'Z')
}

// appendDigits appends the last width decimal digits of v, zero-padded.
func appendDigits(dst []byte, v, width int) []byte {
	start := len(dst)
	for range width {
		dst = append(dst, 0)
	}
	for i := len(dst) - 1; i >= start; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// appendCanonicalRequest appends the canonical request of req to dst and
// returns it with the SignedHeaders list.
func appendCanonicalRequest(dst []byte, req *http.Request, bodyHash string) ([]byte, string) {
	dst = append(dst, req.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, req.URL.EscapedPath())
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, req.URL.RawQuery)
	dst = append(dst, '\n')

	present := 0
	for i, h := range signableHeaders {
		v := headerValue(req, h.key)
		if v == "" {
			continue
		}
		present |= 1 << i
		dst = append(dst, h.lower...)
		dst = append(dst, ':')
		dst = append(dst, strings.TrimSpace(v)...)
		dst = append(dst, '\n')
	}
	signed := signedHeaderLists[present]
	dst = append(dst, '\n')
	dst = append(dst, signed...)
	dst = append(dst, '\n')
	dst = append(dst, bodyHash...)
	return dst, signed
}

// signedHeaderLists holds the SignedHeaders value for every subset of
// signableHeaders, indexed by a bit mask of the present ones, so that
// signing never builds the list.
var signedHeaderLists = func() (lists [1 << len(signableHeaders)]string) {
	for mask := range lists {
		var names []string
		for i, h := range signableHeaders {
			if mask&(1<<i) != 0 {
				names = append(names, h.lower)
			}
		}
		lists[mask] = strings.Join(names, ";")
	}
	return lists
}()

// headerValue reads a header the way it goes on the wire; Host comes from
// req.Host, or the URL when unset, exactly as net/http writes it.
func headerValue(req *http.Request, key string) string {
	if key != "" {
		return req.Header.Get(key)
	}
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// appendCanonicalURI re-encodes every path segment with the gateway's rules
// and ends the path with '/'. Segments are unescaped first so that a segment
// holding an escaped '/' stays one segment.
func appendCanonicalURI(dst []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(dst, '/')
	}
	first := true
	for seg := range strings.SplitSeq(escapedPath, "/") {
		if !first {
			dst = append(dst, '/')
		}
		first = false
		if raw, err := url.PathUnescape(seg); err == nil {
			seg = raw
		}
		dst = appendEscaped(dst, seg)
	}
	if dst[len(dst)-1] != '/' {
		dst = append(dst, '/')
	}
	return dst
}

// appendCanonicalQuery sorts parameters by key, then by value, and encodes
// both with the gateway's rules; a key without a value becomes "key=".
func appendCanonicalQuery(dst []byte, rawQuery string) []byte {
	if rawQuery == "" {
		return dst
	}
	values, _ := url.ParseQuery(rawQuery)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	first := true
	for _, k := range keys {
		vs := values[k]
		slices.Sort(vs)
		for _, v := range vs {
			if !first {
				dst = append(dst, '&')
			}
			first = false
			dst = appendEscaped(dst, k)
			dst = append(dst, '=')
			dst = appendEscaped(dst, v)
		}
	}
	return dst
}

// appendEscaped percent-encodes everything but the RFC 3986 unreserved set,
// in upper-case hex: url.PathEscape and QueryEscape each keep more characters
// (or turn ' ' into '+') than the gateway's verifier does.
func appendEscaped(dst []byte, s string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// appendStringToSign appends "SDK-HMAC-SHA256\n" + date + "\n" +
// hex(sha256(canonicalRequest)) to dst.
func appendStringToSign(dst []byte, date string, canonicalRequest []byte) []byte {
	sum := sha256.Sum256(canonicalRequest)
	dst = append(dst, signAlgorithm...)
	dst = append(dst, '\n')
	dst = append(dst, date...)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, sum[:])
}

// appendSignature appends hex(HMAC-SHA256(secretKey, stringToSign)).
func appendSignature(dst []byte, secretKey secret.String, stringToSign []byte) []byte {
	m := keyedMAC(secretKey)
	m.mac.Write(stringToSign)
	var sum [sha256.Size]byte
	dst = hex.AppendEncode(dst, m.mac.Sum(sum[:0]))
	macPool.Put(m)
	return dst
}

// pooledMAC is an HMAC keyed with key. A keyed HMAC takes five allocations
// to build; tenants of one agency usually share an AK/SK, so a pooled one
// usually has the right key already and only needs a Reset.
type pooledMAC struct {
	key secret.String
	mac hash.Hash
}

var macPool sync.Pool

func keyedMAC(key secret.String) *pooledMAC {
	if m, ok := macPool.Get().(*pooledMAC); ok && m.key == key {
		m.mac.Reset()
		return m
	}
	return &pooledMAC{key: key, mac: hmac.New(sha256.New, []byte(key.Reveal()))}
}
