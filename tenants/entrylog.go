package tenants

import (
	"fmt"
	"strings"

	"github.com/go-kit/log/level"
)

// logListingLocked logs a listing whose outcome differs from the last one
// logged: one info line, and a warning when the filters matched nothing.
func (s *Set) logListingLocked(e *entry) {
	l := &e.own.listing
	names := make([]string, len(l.Projects))
	for i, p := range l.Projects {
		names[i] = p.TenantName
	}
	// What is served also depends on the file and the other entries: the
	// listing's own outcome is what IAM answered and the filters kept.
	outcome := fmt.Sprintf("%d %d %d %s", l.Listed, l.Enabled, l.Matched, strings.Join(names, ","))
	if outcome == e.outcome {
		return
	}
	e.outcome = outcome
	_ = level.Info(s.logger).Log("msg", "Listed projects", "source", e.label(), "credentials", e.src.CredentialsName,
		"listed", l.Listed, "enabled", l.Enabled, "matched", l.Matched, "served", e.served)
	if l.Matched == 0 {
		_ = level.Warn(s.logger).Log("msg", "Discovery entry matched no project: check its filters", "source", e.label(),
			"credentials", e.src.CredentialsName, "regions", strings.Join(e.src.Regions, ","),
			"name_regex", e.src.NameRegexText, "name_prefix", e.src.NamePrefix, "listed", l.Listed, "enabled", l.Enabled)
	}
}

// logSkippedLocked logs a skipped project when it is first skipped (or
// skipped for a new reason), not on every listing.
func (s *Set) logSkippedLocked(e *entry) {
	skipped := e.own.listing.Skipped
	now := make(map[string]string, len(skipped))
	for _, sk := range skipped {
		now[sk.ProjectID] = sk.Reason
		if e.skipLogged[sk.ProjectID] != sk.Reason {
			_ = level.Warn(s.logger).Log("msg", "Discovered project skipped", "source", e.label(),
				"project", sk.ProjectName, "project_id", sk.ProjectID, "reason", sk.Reason)
		}
	}
	e.skipLogged = now
}
