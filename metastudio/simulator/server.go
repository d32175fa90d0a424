package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Server. The zero value behaves like the cloud.
type Options struct {
	Now      func() time.Time // nil = time.Now; used for skew checks and token expiry
	MaxSkew  time.Duration    // 0 = 15m
	TokenTTL time.Duration    // 0 = 24h
	Latency  time.Duration    // added to every MetaStudio call (not IAM), honouring request cancellation
}

// Tenant is one project the simulated cloud knows, with the credentials it
// accepts for that project.
type Tenant struct {
	ProjectID     string
	AccessKey     string // AK accepted for this project ("" = none)
	SecretKey     string
	SecurityToken string // non-empty: AK/SK are temporary and need this token
	IAMDomain     string // password login accepted for this project ("" = none)
	IAMUser       string
	IAMPassword   string
	Config        []byte // initial user-config JSON; nil = "{}"
	// ProjectName is the project's name in IAM's project list, where the
	// tenant appears to its AK and IAM user; "" lists it under its id.
	ProjectName string
}

// Server is the simulated MetaStudio user-config API plus the IAM token API.
// It is safe for concurrent use.
type Server struct {
	now      func() time.Time
	maxSkew  time.Duration
	tokenTTL time.Duration
	latency  time.Duration

	mu      sync.RWMutex
	tenants map[string]*tenant
	keys    map[string]*accessKey // by AK; one AK may serve many projects, as in a real account
	users   map[string]*iamUser   // by userKey(domain, user)
	listed  map[string]*listedProject

	projectsFault atomic.Pointer[Fault]
	listCalls     atomic.Int64

	tokMu  sync.RWMutex
	tokens map[string]tokenGrant
	issued atomic.Int64

	// Request ids are a per-server random prefix plus a counter: unique
	// without a crypto/rand read on every request.
	ridPrefix [16]byte
	ridSeq    atomic.Uint64
}

type tenant struct {
	projectID string
	accessKey string // "" = no AK/SK access
	userKey   string // "" = no password login
	config    atomic.Pointer[[]byte]
	faults    [numRoutes]atomic.Pointer[Fault]
	calls     [numRoutes]atomic.Int64
	inventory inventory
}

type accessKey struct {
	id            string
	secret        []byte
	securityToken string
}

type iamUser struct {
	password string
}

const (
	tokensPath      = "/v3/auth/tokens"
	maxRequestBody  = 64 << 10
	contentTypeJSON = "application/json;charset=UTF-8"
)

// New returns a Server with no tenants.
func New(opts Options) *Server {
	s := &Server{
		now:      opts.Now,
		maxSkew:  opts.MaxSkew,
		tokenTTL: opts.TokenTTL,
		latency:  opts.Latency,
		tenants:  make(map[string]*tenant),
		keys:     make(map[string]*accessKey),
		users:    make(map[string]*iamUser),
		listed:   make(map[string]*listedProject),
		tokens:   make(map[string]tokenGrant),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxSkew <= 0 {
		s.maxSkew = 15 * time.Minute
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = 24 * time.Hour
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	hex.Encode(s.ridPrefix[:], b[:])
	return s
}

// Handler returns the Server as an http.Handler. It logs nothing: the
// simulator runs inside tests and the demo, where noise would hide the
// exporter's own logs.
func (s *Server) Handler() http.Handler { return s }

// AddTenant registers a project and its credentials. The project is also
// listed by IAM's GET /v3/auth/projects, enabled, under t.ProjectName.
func (s *Server) AddTenant(t Tenant) error {
	c := credentials{ak: t.AccessKey, sk: t.SecretKey, st: t.SecurityToken, domain: t.IAMDomain, user: t.IAMUser, password: t.IAMPassword}
	if err := c.validate(t.ProjectID); err != nil {
		return err
	}
	cfg := []byte("{}")
	if t.Config != nil {
		if !json.Valid(t.Config) {
			return fmt.Errorf("simulator: project %q: initial config is not valid JSON", t.ProjectID)
		}
		cfg = append([]byte(nil), t.Config...)
	}

	nt := &tenant{projectID: t.ProjectID, accessKey: t.AccessKey, userKey: c.userKey()}
	nt.config.Store(&cfg)
	name := t.ProjectName
	if name == "" {
		name = t.ProjectID
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.listed[t.ProjectID]; dup {
		return fmt.Errorf("simulator: project %q already exists", t.ProjectID)
	}
	if err := s.checkCredentialsLocked(t.ProjectID, c); err != nil {
		return err
	}
	s.registerCredentialsLocked(c)
	s.tenants[t.ProjectID] = nt
	s.listed[t.ProjectID] = &listedProject{id: t.ProjectID, name: name, accessKey: c.ak, userKey: c.userKey(), domain: c.domain}
	return nil
}

// SetConfig replaces a project's stored user config. Any valid JSON is
// accepted, unlike PUT, so that tests can serve values the cloud would
// refuse to store (unknown enums, out-of-range numbers).
func (s *Server) SetConfig(projectID string, body []byte) error {
	t := s.tenant(projectID)
	if t == nil {
		return fmt.Errorf("simulator: unknown project %q", projectID)
	}
	if !json.Valid(body) {
		return fmt.Errorf("simulator: project %q: config is not valid JSON", projectID)
	}
	cp := append([]byte(nil), body...)
	t.config.Store(&cp)
	return nil
}

// Config returns a copy of a project's stored user config.
func (s *Server) Config(projectID string) ([]byte, error) {
	t := s.tenant(projectID)
	if t == nil {
		return nil, fmt.Errorf("simulator: unknown project %q", projectID)
	}
	return append([]byte(nil), *t.config.Load()...), nil
}

// SetFault makes the project's user-config GETs misbehave; a zero Fault
// clears it. Unknown projects are ignored.
func (s *Server) SetFault(projectID string, f Fault) { s.SetRouteFault(projectID, RouteUserConfig, f) }

// SetRouteFault makes one route of a project misbehave; a zero Fault clears
// it. Unknown projects and routes are ignored.
func (s *Server) SetRouteFault(projectID string, route Route, f Fault) {
	t := s.tenant(projectID)
	if t == nil || !route.valid() {
		return
	}
	if f.isZero() {
		t.faults[route].Store(nil)
		return
	}
	t.faults[route].Store(&f)
}

// Calls returns how many user-config GETs the project received, counted
// before authentication and faults.
func (s *Server) Calls(projectID string) int64 { return s.RouteCalls(projectID, RouteUserConfig) }

// RouteCalls returns how many GETs of one route the project received,
// counted before authentication and faults.
func (s *Server) RouteCalls(projectID string, route Route) int64 {
	if t := s.tenant(projectID); t != nil && route.valid() {
		return t.calls[route].Load()
	}
	return 0
}

func (s *Server) tenant(projectID string) *tenant {
	s.mu.RLock()
	t := s.tenants[projectID]
	s.mu.RUnlock()
	return t
}

// ServeHTTP serves the MetaStudio routes and IAM's on one handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Request-Id"] = []string{s.requestID()}
	switch r.URL.Path {
	case tokensPath:
		s.serveTokens(w, r)
		return
	case authProjectsPath:
		s.serveProjects(w, r)
		return
	}
	route, project, roomID, ok := parseRoute(r.URL.EscapedPath())
	if !ok || !route.allows(r.Method) {
		writeError(w, apiNotFound())
		return
	}
	t := s.tenant(project)
	if t != nil && r.Method == http.MethodGet {
		t.calls[route].Add(1)
	}
	if s.latency > 0 && !sleepCtx(r, s.latency) {
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.authenticate(r, project, body, t); err != nil {
		writeError(w, err)
		return
	}
	switch {
	case r.Method == http.MethodPut:
		s.servePut(w, t, body)
	case route == RouteUserConfig:
		if f := t.faults[route].Load(); f != nil {
			serveFault(w, r, f, *t.config.Load())
			return
		}
		writeJSON(w, http.StatusOK, *t.config.Load())
	default:
		s.serveInventory(w, r, t, route, roomID)
	}
}

// authenticate checks the credentials first and the project second, as the
// gateway does: a bad signature is 401 even for a project that does not
// exist, and only valid credentials learn whether it exists.
func (s *Server) authenticate(r *http.Request, project string, body []byte, t *tenant) *apiError {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		grant, err := s.checkToken(tok)
		if err != nil {
			return err
		}
		if t == nil {
			return projectNotFound()
		}
		if grant.project == "" {
			return forbidden("token is scoped to a domain, not to a project")
		}
		if grant.project != project {
			return forbidden("token is scoped to another project")
		}
		return nil
	}
	key, err := s.verifySignature(r, project, body)
	if err != nil {
		return err
	}
	if t == nil {
		return projectNotFound()
	}
	if t.accessKey != key.id {
		return forbidden("access key has no permission on this project")
	}
	return nil
}

func (s *Server) servePut(w http.ResponseWriter, t *tenant, body []byte) {
	stored, err := validateUserConfig(body)
	if err != nil {
		writeError(w, err)
		return
	}
	t.config.Store(&stored)
	writeJSON(w, http.StatusOK, stored)
}

func readBody(r *http.Request) ([]byte, *apiError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: CodeBadParameter, msg: "Invalid parameter: request body could not be read"}
	}
	if len(body) > maxRequestBody {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: CodeBodyTooLarge, msg: "Request entity too large"}
	}
	return body, nil
}

func (s *Server) requestID() string {
	var b [32]byte
	copy(b[:16], s.ridPrefix[:])
	n := s.ridSeq.Add(1)
	const digits = "0123456789abcdef"
	for i := 31; i >= 16; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{contentTypeJSON}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away is not the simulator's problem
}
