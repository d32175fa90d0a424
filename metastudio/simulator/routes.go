package simulator

import (
	"net/http"
	"net/url"
	"strings"
)

// Route is one of the MetaStudio routes the simulator serves. Faults and
// call counters are kept per project and per route.
type Route int

const (
	RouteUserConfig Route = iota // GET, PUT /v1/{project_id}/smart-live-configs/user-config
	RouteLiveJobs                // GET /v1/{project_id}/smart-live-jobs
	RouteRooms                   // GET /v1/{project_id}/smart-live-rooms
	RouteRoom                    // GET /v1/{project_id}/smart-live-rooms/{room_id}
	numRoutes
)

var routeNames = [numRoutes]string{"user config", "live jobs", "rooms", "room"}

func (r Route) String() string {
	if !r.valid() {
		return "unknown route"
	}
	return routeNames[r]
}

func (r Route) valid() bool { return r >= 0 && r < numRoutes }

// allows reports whether method is served on the route: only the user
// config can be written.
func (r Route) allows(method string) bool {
	return method == http.MethodGet || method == http.MethodPut && r == RouteUserConfig
}

// parseRoute maps an escaped request path to its route, project and room
// id. Segments are unescaped one by one, so that a room id holding an
// escaped "/" stays one segment, as the gateway routes it.
func parseRoute(escapedPath string) (route Route, project, roomID string, ok bool) {
	rest, ok := strings.CutPrefix(escapedPath, "/v1/")
	if !ok {
		return 0, "", "", false
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 2 {
		return 0, "", "", false
	}
	if project, ok = unescapeSegment(segs[0]); !ok {
		return 0, "", "", false
	}
	switch tail := segs[1:]; {
	case len(tail) == 2 && tail[0] == "smart-live-configs" && tail[1] == "user-config":
		return RouteUserConfig, project, "", true
	case len(tail) == 1 && tail[0] == "smart-live-jobs":
		return RouteLiveJobs, project, "", true
	case len(tail) == 1 && tail[0] == "smart-live-rooms":
		return RouteRooms, project, "", true
	case len(tail) == 2 && tail[0] == "smart-live-rooms":
		if roomID, ok = unescapeSegment(tail[1]); ok {
			return RouteRoom, project, roomID, true
		}
	}
	return 0, "", "", false
}

func unescapeSegment(seg string) (string, bool) {
	v, err := url.PathUnescape(seg)
	return v, err == nil && v != ""
}
