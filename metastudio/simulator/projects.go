package simulator

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

const authProjectsPath = "/v3/auth/projects"

// Project is a project that IAM lists but that serves no user config: a
// disabled project, another region's, one whose name matches no filter.
// Its credentials are registered as a Tenant's are, and it is listed to
// them only.
type Project struct {
	ID            string
	Name          string
	Disabled      bool
	AccessKey     string // listed to requests signed with this AK ("" = none)
	SecretKey     string
	SecurityToken string
	IAMDomain     string // listed to this user's tokens ("" = none)
	IAMUser       string
	IAMPassword   string
}

// listedProject is one entry of the IAM project list, a tenant's or a
// Project's.
type listedProject struct {
	id        string
	name      string
	disabled  bool
	accessKey string
	userKey   string
	domain    string
}

// credentials are the AK/SK and IAM password a Tenant or Project accepts.
type credentials struct {
	ak, sk, st             string
	domain, user, password string
}

func (c credentials) validate(project string) error {
	if project == "" || strings.Contains(project, "/") {
		return fmt.Errorf("simulator: invalid project id %q", project)
	}
	if (c.ak == "") != (c.sk == "") {
		return fmt.Errorf("simulator: project %q: access key and secret key must be set together", project)
	}
	if c.st != "" && c.ak == "" {
		return fmt.Errorf("simulator: project %q: security token without access key", project)
	}
	iamSet := 0
	for _, v := range []string{c.domain, c.user, c.password} {
		if v != "" {
			iamSet++
		}
	}
	if iamSet != 0 && iamSet != 3 {
		return fmt.Errorf("simulator: project %q: IAM domain, user and password must be set together", project)
	}
	return nil
}

func (c credentials) userKey() string {
	if c.user == "" {
		return ""
	}
	return userKey(c.domain, c.user)
}

// checkCredentialsLocked refuses an AK or user already registered with
// other secrets: the cloud has one secret per AK and one password per user.
func (s *Server) checkCredentialsLocked(project string, c credentials) error {
	if k, ok := s.keys[c.ak]; ok && c.ak != "" && (string(k.secret) != c.sk || k.securityToken != c.st) {
		return fmt.Errorf("simulator: project %q: access key %q is already registered with other credentials", project, c.ak)
	}
	if u, ok := s.users[c.userKey()]; ok && c.user != "" && u.password != c.password {
		return fmt.Errorf("simulator: project %q: IAM user %q is already registered with another password", project, c.user)
	}
	return nil
}

func (s *Server) registerCredentialsLocked(c credentials) {
	if c.ak != "" {
		s.keys[c.ak] = &accessKey{id: c.ak, secret: []byte(c.sk), securityToken: c.st}
	}
	if c.user != "" {
		s.users[c.userKey()] = &iamUser{password: c.password}
	}
}

// AddProject adds a project to IAM's project list only.
func (s *Server) AddProject(p Project) error {
	c := credentials{ak: p.AccessKey, sk: p.SecretKey, st: p.SecurityToken, domain: p.IAMDomain, user: p.IAMUser, password: p.IAMPassword}
	if err := c.validate(p.ID); err != nil {
		return err
	}
	if p.Name == "" {
		return fmt.Errorf("simulator: project %q: name required", p.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.listed[p.ID]; dup {
		return fmt.Errorf("simulator: project %q already exists", p.ID)
	}
	if err := s.checkCredentialsLocked(p.ID, c); err != nil {
		return err
	}
	s.registerCredentialsLocked(c)
	s.listed[p.ID] = &listedProject{id: p.ID, name: p.Name, disabled: p.Disabled, accessKey: c.ak, userKey: c.userKey(), domain: c.domain}
	return nil
}

// RemoveProject deletes a project, a tenant's included, as deleting it in
// the console would: it leaves the list, and its user config answers 404.
// The credentials stay registered.
func (s *Server) RemoveProject(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.listed[id]; !ok {
		return fmt.Errorf("simulator: unknown project %q", id)
	}
	delete(s.listed, id)
	delete(s.tenants, id)
	return nil
}

// SetProjectEnabled enables or disables a listed project. A disabled
// tenant still serves its user config: only the list shows the change.
func (s *Server) SetProjectEnabled(id string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.listed[id]
	if !ok {
		return fmt.Errorf("simulator: unknown project %q", id)
	}
	p.disabled = !enabled
	return nil
}

// SetProjectsFault makes GET /v3/auth/projects misbehave for every caller,
// after authentication; a zero Fault clears it. Fault.Body replaces the
// list and Fault.BodySize streams a padded object instead of it.
func (s *Server) SetProjectsFault(f Fault) {
	if f.isZero() {
		s.projectsFault.Store(nil)
		return
	}
	s.projectsFault.Store(&f)
}

// ProjectListCalls returns how many GET /v3/auth/projects requests the
// server received, counted before authentication and faults.
func (s *Server) ProjectListCalls() int64 { return s.listCalls.Load() }

type projectLinks struct {
	Self     string  `json:"self"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
}

type projectEntry struct {
	DomainID    string `json:"domain_id"`
	IsDomain    bool   `json:"is_domain"`
	ParentID    string `json:"parent_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Links       struct {
		Self string `json:"self"`
	} `json:"links"`
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
}

// serveProjects is KeystoneListAuthProjects: the projects visible to the
// caller's AK or to the user of its token, any token scope, sorted by
// name. Nothing is paginated: "next" is always null, as in IAM.
func (s *Server) serveProjects(w http.ResponseWriter, r *http.Request) {
	s.listCalls.Add(1)
	if r.Method != http.MethodGet {
		writeIAMError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
		return
	}
	body, apiErr := readBody(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	var visible func(*listedProject) bool
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		grant, err := s.checkToken(tok)
		if err != nil {
			writeError(w, err)
			return
		}
		visible = func(p *listedProject) bool { return p.userKey == grant.user }
	} else {
		key, err := s.verifyGlobalSignature(r, body)
		if err != nil {
			writeError(w, err)
			return
		}
		visible = func(p *listedProject) bool { return p.accessKey == key.id }
	}

	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	s.mu.RLock()
	visibleList := make([]listedProject, 0, len(s.listed))
	for _, p := range s.listed {
		if visible(p) {
			visibleList = append(visibleList, listedProject{id: p.id, name: p.name, disabled: p.disabled, domain: p.domain})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(visibleList, func(a, b listedProject) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.id, b.id))
	})
	if f := s.projectsFault.Load(); f != nil {
		var out bytes.Buffer
		if err := writeProjectList(&out, base, visibleList); err != nil {
			writeIAMError(w, http.StatusInternalServerError, "Internal error")
			return
		}
		serveFault(w, r, f, out.Bytes())
		return
	}
	// Streamed, so that a list of a few hundred thousand projects is never
	// held whole; its length is not known up front.
	w.Header()["Content-Type"] = []string{contentTypeJSON}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	if writeProjectList(bw, base, visibleList) == nil {
		_ = bw.Flush() // a client that went away is not the simulator's problem
	}
}

// writeProjectList writes {"links":{…},"projects":[…]} as IAM does.
func writeProjectList(w io.Writer, base string, list []listedProject) error {
	links, err := json.Marshal(projectLinks{Self: base + authProjectsPath})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, `{"links":%s,"projects":[`, links); err != nil {
		return err
	}
	for i, p := range list {
		e := projectEntry{DomainID: domainID(p.domain), ParentID: domainID(p.domain), Name: p.name, ID: p.id, Enabled: !p.disabled}
		e.Links.Self = base + "/v3/projects/" + p.id
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}")
	return err
}
