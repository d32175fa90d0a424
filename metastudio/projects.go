package metastudio

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// DefaultIAMEndpoint is IAM's global endpoint, which lists the projects of
// every region.
const DefaultIAMEndpoint = "https://iam.myhuaweicloud.com"

const (
	opListProjects   = "list IAM projects"
	authProjectsPath = "/v3/auth/projects"
)

// Project is one entry of IAM's project list. A project named after a
// region ("cn-north-4") is that region's default project; subprojects are
// named region_suffix ("cn-north-4_shop").
type Project struct {
	ID       string
	Name     string
	Enabled  bool
	DomainID string
}

// ListProjects calls IAM's KeystoneListAuthProjects (GET /v3/auth/projects):
// the projects the credentials' user may access, in every region. The API
// has no pagination: one answer holds the whole list, up to
// MaxProjectListBytes, decoded as it arrives.
//
// AK/SK requests are signed without X-Project-Id: IAM is a global service
// and the signature must not name a project. IAM password credentials use a
// domain-scoped token, cached apart from the project-scoped ones; it comes
// from creds.IAM.Endpoint, or from endpoint when that is empty. endpoint ""
// means DefaultIAMEndpoint.
//
// The listing and its token go through conn, the discovery entry's
// connection. These calls are not MetaStudio calls and are not reported to
// the client's Observer.
func (c *Client) ListProjects(ctx context.Context, endpoint string, creds Credentials, conn Connection) ([]Project, error) {
	if creds.IAM == nil && (creds.AccessKey == "" || !creds.SecretKey.IsSet()) {
		return nil, &Error{Reason: ReasonCredentials, Op: opListProjects, Err: errNoCredentials}
	}
	if endpoint == "" {
		endpoint = DefaultIAMEndpoint
	}
	target := strings.TrimRight(endpoint, "/") + authProjectsPath
	r, rerr := c.route(conn, opListProjects)
	if rerr != nil {
		return nil, rerr
	}
	if creds.IAM == nil {
		return c.listProjects(ctx, r, target, creds, "")
	}
	p := creds.IAM
	if p.Endpoint == "" {
		cp := *p
		cp.Endpoint = endpoint
		p = &cp
	}
	token, key, err := c.token(ctx, conn, p, domainScope)
	if err != nil {
		return nil, err
	}
	projects, err := c.listProjects(ctx, r, target, creds, token)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		return projects, err
	}
	// A 401 with a token that is not yet due for refresh means it was
	// revoked: fetch a new one and try once more.
	c.tokens.drop(key, token)
	if token, _, err = c.token(ctx, conn, p, domainScope); err != nil {
		return nil, err
	}
	return c.listProjects(ctx, r, target, creds, token)
}

func (c *Client) listProjects(ctx context.Context, r *route, target string, creds Credentials, token secret.String) ([]Project, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &Error{Reason: ReasonNetwork, Op: opListProjects, Err: errors.New("invalid IAM endpoint URL")}
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	if token.IsSet() {
		req.Header.Set(headerAuthToken, token.Reveal())
	} else if err := SignRequest(req, nil, creds.AccessKey, creds.SecretKey, creds.SecurityToken, c.now()); err != nil {
		return nil, &Error{Reason: ReasonCredentials, Op: opListProjects, Err: err}
	}

	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.failed(opListProjects, req, err)
	}
	requestID := resp.Header.Get(headerRequestID)
	if resp.StatusCode != http.StatusOK {
		buf, readErr := readLimited(resp.Body, c.maxBody)
		if readErr != nil {
			return nil, readErr.withOp(opListProjects, requestID)
		}
		defer putBuffer(buf)
		return nil, statusError(opListProjects, resp, buf.Bytes(), c.now())
	}
	defer resp.Body.Close()
	projects, decodeErr := decodeProjectStream(resp.Body, c.maxProjectList)
	if decodeErr != nil {
		decodeErr.Op, decodeErr.RequestID = opListProjects, requestID
		return nil, decodeErr
	}
	return projects, nil
}
