package metastudio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/iamapi"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

const (
	opGetIAMToken    = "get IAM token"
	headerSubjectTok = "X-Subject-Token"
	// iamFetchTimeout bounds a token fetch that no caller waits for any more:
	// the fetch outlives a caller whose context ended so that the callers
	// sharing it, and the next scrape, still get the token.
	iamFetchTimeout = 30 * time.Second
)

// tokenCache holds IAM tokens per (endpoint, domain, user, password hash,
// scope) until shortly before they expire.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]cachedToken
	flight  singleflight.Group
}

type cachedToken struct {
	value     secret.String
	refreshAt time.Time
}

func (tc *tokenCache) lookup(key string, now time.Time) (secret.String, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	ct, ok := tc.entries[key]
	if !ok || !now.Before(ct.refreshAt) {
		return "", false
	}
	return ct.value, true
}

func (tc *tokenCache) store(key string, ct cachedToken) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.entries == nil {
		tc.entries = make(map[string]cachedToken)
	}
	tc.entries[key] = ct
}

// drop forgets token only if it is still the cached one, so a token that a
// concurrent caller has already replaced is not thrown away.
func (tc *tokenCache) drop(key string, token secret.String) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if ct, ok := tc.entries[key]; ok && ct.value == token {
		delete(tc.entries, key)
	}
}

// tokenScope is what a token is scoped to: one project, or (project "")
// the user's whole domain, which is what listing projects needs.
type tokenScope struct {
	project string
}

// domainScope scopes a token to the user's domain.
var domainScope = tokenScope{}

func projectScope(id string) tokenScope { return tokenScope{project: id} }

// cacheKey keeps domain tokens apart from project tokens: project ids are
// hex, so neither prefix can be forged by an id.
func (s tokenScope) cacheKey() string {
	if s.project == "" {
		return "domain"
	}
	return "project:" + s.project
}

// tokenKey identifies a token. The password enters only as its hash: a
// changed password must not reuse the old token, and the key must hold no
// secret. The connection's digest keeps callers of two connections from
// sharing one fetch, so that a broken proxy fails only its own tenants.
func tokenKey(conn Connection, p *IAMPassword, scope tokenScope) string {
	sum := sha256.Sum256([]byte(p.Password.Reveal()))
	return strings.Join([]string{p.Endpoint, p.Domain, p.User, hex.EncodeToString(sum[:]), scope.cacheKey(), conn.Digest}, "\x00")
}

// token returns a cached token or fetches one; concurrent callers for the
// same key share one IAM request. It also returns the cache key for drop.
func (c *Client) token(ctx context.Context, conn Connection, p *IAMPassword, scope tokenScope) (secret.String, string, error) {
	key := tokenKey(conn, p, scope)
	if tok, ok := c.tokens.lookup(key, c.now()); ok {
		return tok, key, nil
	}
	ch := c.tokens.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), iamFetchTimeout)
		defer cancel()
		ct, err := c.fetchToken(fctx, conn, p, scope)
		if err != nil {
			return nil, err
		}
		c.tokens.store(key, ct)
		return ct.value, nil
	})
	if c.onTokenWait != nil {
		c.onTokenWait()
	}
	select {
	case <-ctx.Done():
		return "", key, &Error{Reason: ReasonTimeout, Op: opGetIAMToken, Err: ctx.Err()}
	case r := <-ch:
		if r.Err != nil {
			return "", key, r.Err
		}
		return r.Val.(secret.String), key, nil
	}
}

type iamTokenResponse struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
	} `json:"token"`
}

// fetchToken exchanges the password for a token of the given scope. IAM is
// not a MetaStudio call, so it is not reported to the observer.
func (c *Client) fetchToken(ctx context.Context, conn Connection, p *IAMPassword, scope tokenScope) (cachedToken, error) {
	r, rerr := c.route(conn, opGetIAMToken)
	if rerr != nil {
		return cachedToken{}, rerr
	}
	var ar iamapi.AuthRequest
	ar.Auth.Identity.Methods = []string{"password"}
	ar.Auth.Identity.Password.User.Name = p.User
	ar.Auth.Identity.Password.User.Password = p.Password.Reveal()
	ar.Auth.Identity.Password.User.Domain.Name = p.Domain
	if scope.project != "" {
		ar.Auth.Scope.Project = &iamapi.ScopeProject{ID: scope.project}
	} else {
		ar.Auth.Scope.Domain = &iamapi.ScopeDomain{Name: p.Domain}
	}
	body, err := json.Marshal(&ar)
	if err != nil {
		return cachedToken{}, &Error{Reason: ReasonCredentials, Op: opGetIAMToken, Err: errors.New("encode auth request")}
	}

	// nocatalog keeps the service catalog, tens of kilobytes we do not
	// read, out of the answer.
	target := strings.TrimRight(p.Endpoint, "/") + "/v3/auth/tokens?nocatalog=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return cachedToken{}, &Error{Reason: ReasonCredentials, Op: opGetIAMToken, Err: errors.New("invalid IAM endpoint URL")}
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")

	resp, err := r.client.Do(req)
	if err != nil {
		return cachedToken{}, r.failed(opGetIAMToken, req, err)
	}
	buf, readErr := readLimited(resp.Body, c.maxBody)
	requestID := resp.Header.Get(headerRequestID)
	if readErr != nil {
		return cachedToken{}, readErr.withOp(opGetIAMToken, requestID)
	}
	defer putBuffer(buf)
	now := c.now()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		e := statusError(opGetIAMToken, resp, buf.Bytes(), now)
		// IAM refusing the request means the configured password,
		// user or project is unusable; throttling and IAM outages are not
		// the credentials' fault and keep their own class.
		if e.StatusCode >= 400 && e.StatusCode < 500 && e.Reason != ReasonThrottled {
			e.Reason = ReasonCredentials
		}
		return cachedToken{}, e
	}

	token := resp.Header.Get(headerSubjectTok)
	if token == "" {
		return cachedToken{}, &Error{Reason: ReasonDecode, Op: opGetIAMToken, RequestID: requestID, Err: errors.New("no X-Subject-Token header in the answer")}
	}
	var tr iamTokenResponse
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		return cachedToken{}, &Error{Reason: ReasonDecode, Op: opGetIAMToken, RequestID: requestID, Err: err}
	}
	expires, err := time.Parse(time.RFC3339Nano, tr.Token.ExpiresAt)
	if err != nil {
		return cachedToken{}, &Error{Reason: ReasonDecode, Op: opGetIAMToken, RequestID: requestID, Err: errors.New("token.expires_at is not an RFC 3339 time")}
	}
	return cachedToken{value: secret.String(token), refreshAt: refreshTime(now, expires)}, nil
}

// refreshTime is one hour before expiry, or half the remaining life for a
// token that lives less than two hours, so a slow IAM or a skewed clock
// never leaves a tenant holding an expired token.
func refreshTime(now, expires time.Time) time.Time {
	life := expires.Sub(now)
	if life >= 2*time.Hour {
		return expires.Add(-time.Hour)
	}
	return now.Add(life / 2)
}
