package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/iamapi"
)

// iamTimeLayout is how IAM writes expires_at and issued_at.
const iamTimeLayout = "2006-01-02T15:04:05.000000Z"

// tokenGrant is what a token stands for: a user, and one project of it or
// (project "") the user's whole domain.
type tokenGrant struct {
	user    string // userKey(domain, user)
	project string
	expires time.Time
}

type tokenProject struct {
	ID string `json:"id"`
}

type tokenDomain struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tokenBody struct {
	Token struct {
		ExpiresAt string        `json:"expires_at"`
		IssuedAt  string        `json:"issued_at"`
		Methods   []string      `json:"methods"`
		Project   *tokenProject `json:"project,omitempty"`
		Domain    *tokenDomain  `json:"domain,omitempty"`
	} `json:"token"`
}

type iamErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Title   string `json:"title"`
}

// writeIAMError answers in IAM's own error shape, which differs from the
// gateway's error_code/error_msg.
func writeIAMError(w http.ResponseWriter, status int, message string) {
	body, err := json.Marshal(struct {
		Error iamErrorDetail `json:"error"`
	}{iamErrorDetail{Code: status, Message: message, Title: http.StatusText(status)}})
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"Internal error","title":"Internal Server Error"}}`)
	}
	writeJSON(w, status, body)
}

// userKey joins domain and user with a byte neither may contain.
func userKey(domain, user string) string { return domain + "\x00" + user }

// serveTokens is POST /v3/auth/tokens with the password method and a
// project or domain scope.
func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeIAMError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
		return
	}
	body, apiErr := readBody(r)
	if apiErr != nil {
		writeIAMError(w, apiErr.status, "The request body is invalid.")
		return
	}
	var req iamapi.AuthRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeIAMError(w, http.StatusBadRequest, "The request body is invalid.")
		return
	}
	id := req.Auth.Identity
	if !slices.Contains(id.Methods, "password") {
		writeIAMError(w, http.StatusBadRequest, "The password method is required.")
		return
	}
	scope := req.Auth.Scope
	if scope.Project != nil && scope.Domain != nil {
		writeIAMError(w, http.StatusBadRequest, "Specify either a project or a domain scope, not both.")
		return
	}
	var project string
	if scope.Project != nil {
		project = scope.Project.ID
	}
	if project == "" && (scope.Domain == nil || scope.Domain.Name == "") {
		writeIAMError(w, http.StatusBadRequest, "A project or domain scope is required.")
		return
	}
	u := id.Password.User
	key := userKey(u.Domain.Name, u.Name)
	s.mu.RLock()
	user := s.users[key]
	t := s.tenants[project]
	s.mu.RUnlock()
	if user == nil || subtle.ConstantTimeCompare([]byte(u.Password), []byte(user.password)) != 1 {
		writeIAMError(w, http.StatusUnauthorized, "The username or password is wrong.")
		return
	}
	// A user may scope to its own domain or to a project it is granted.
	if project == "" && scope.Domain.Name != u.Domain.Name || project != "" && (t == nil || t.userKey != key) {
		writeIAMError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}

	now := s.now().UTC()
	grant := tokenGrant{user: key, project: project, expires: now.Add(s.tokenTTL)}
	token := "MIIsim" + rand.Text() + rand.Text()
	s.tokMu.Lock()
	s.tokens[token] = grant
	s.tokMu.Unlock()
	s.issued.Add(1)

	var out tokenBody
	out.Token.ExpiresAt = grant.expires.Format(iamTimeLayout)
	out.Token.IssuedAt = now.Format(iamTimeLayout)
	out.Token.Methods = []string{"password"}
	if project != "" {
		out.Token.Project = &tokenProject{ID: project}
	} else {
		out.Token.Domain = &tokenDomain{ID: domainID(u.Domain.Name), Name: u.Domain.Name}
	}
	resp, err := json.Marshal(out)
	if err != nil {
		writeIAMError(w, http.StatusInternalServerError, "Internal error")
		return
	}
	w.Header()["X-Subject-Token"] = []string{token}
	writeJSON(w, http.StatusCreated, resp)
}

// checkToken returns what an X-Auth-Token grants.
func (s *Server) checkToken(token string) (tokenGrant, *apiError) {
	s.tokMu.RLock()
	grant, ok := s.tokens[token]
	s.tokMu.RUnlock()
	if !ok {
		return tokenGrant{}, tokenInvalid("token is invalid")
	}
	if !s.now().Before(grant.expires) {
		return tokenGrant{}, tokenInvalid("token has expired")
	}
	return grant, nil
}

// domainID is the simulated account id of an IAM domain name: stable, so
// that answers can be compared in tests, and shaped like IAM's 32 hex.
func domainID(name string) string {
	sum := sha256.Sum256([]byte("simulated domain " + name))
	return hex.EncodeToString(sum[:16])
}

// TokensIssued returns how many IAM tokens the server has issued.
func (s *Server) TokensIssued() int64 { return s.issued.Load() }

// RevokeTokens invalidates every token issued so far, as a password change
// would; the next call with one of them gets 401 APIGW.0307.
func (s *Server) RevokeTokens() {
	s.tokMu.Lock()
	s.tokens = make(map[string]tokenGrant)
	s.tokMu.Unlock()
}
