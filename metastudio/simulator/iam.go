package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// iamTimeLayout is how IAM writes expires_at and issued_at.
const iamTimeLayout = "2006-01-02T15:04:05.000000Z"

type tokenGrant struct {
	project string
	expires time.Time
}

type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type tokenProject struct {
	ID string `json:"id"`
}

type tokenBody struct {
	Token struct {
		ExpiresAt string       `json:"expires_at"`
		IssuedAt  string       `json:"issued_at"`
		Methods   []string     `json:"methods"`
		Project   tokenProject `json:"project"`
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
// project scope.
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
	var req tokenRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeIAMError(w, http.StatusBadRequest, "The request body is invalid.")
		return
	}
	id := req.Auth.Identity
	if !slices.Contains(id.Methods, "password") {
		writeIAMError(w, http.StatusBadRequest, "The password method is required.")
		return
	}
	project := req.Auth.Scope.Project.ID
	if project == "" {
		writeIAMError(w, http.StatusBadRequest, "A project scope is required.")
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
	if t == nil || t.userKey != key {
		writeIAMError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}

	now := s.now().UTC()
	grant := tokenGrant{project: project, expires: now.Add(s.tokenTTL)}
	token := "MIIsim" + rand.Text() + rand.Text()
	s.tokMu.Lock()
	s.tokens[token] = grant
	s.tokMu.Unlock()
	s.issued.Add(1)

	var out tokenBody
	out.Token.ExpiresAt = grant.expires.Format(iamTimeLayout)
	out.Token.IssuedAt = now.Format(iamTimeLayout)
	out.Token.Methods = []string{"password"}
	out.Token.Project = tokenProject{ID: project}
	resp, err := json.Marshal(out)
	if err != nil {
		writeIAMError(w, http.StatusInternalServerError, "Internal error")
		return
	}
	w.Header()["X-Subject-Token"] = []string{token}
	writeJSON(w, http.StatusCreated, resp)
}

// checkToken returns the project an X-Auth-Token is scoped to.
func (s *Server) checkToken(token string) (string, *apiError) {
	s.tokMu.RLock()
	grant, ok := s.tokens[token]
	s.tokMu.RUnlock()
	if !ok {
		return "", tokenInvalid("token is invalid")
	}
	if !s.now().Before(grant.expires) {
		return "", tokenInvalid("token has expired")
	}
	return grant.project, nil
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
