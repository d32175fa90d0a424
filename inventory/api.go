package inventory

import (
	"context"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// API is what the inventory asks MetaStudio: the smart-live-jobs and
// smart-live-rooms listings, paged by the client up to the maximum asked
// for, and one room's detail. Each listing also returns the answer's count,
// the total upstream. Errors are *metastudio.Error, as GetUserConfig's.
type API interface {
	ListLiveJobs(ctx context.Context, t metastudio.Target, q metastudio.JobQuery) ([]metastudio.LiveJob, int, error)
	ListRooms(ctx context.Context, t metastudio.Target, max int) ([]metastudio.Room, int, error)
	GetRoom(ctx context.Context, t metastudio.Target, roomID string) (*metastudio.RoomDetail, error)
}

// The two listings a jobs refresh makes.
var (
	activeStates = []string{metastudio.JobWaiting, metastudio.JobProcessing}
	failedStates = []string{metastudio.JobFailed, metastudio.JobBlocked}
)

// Listing bounds. A tenant runs a handful of jobs at once; these only keep
// a broken or hostile upstream from growing a tenant's series without end.
const (
	// maxActiveJobs is the most WAITING and PROCESSING jobs listed.
	maxActiveJobs = 1000
	// maxFailedListed is the most FAILED and BLOCKED jobs listed in the
	// failed window, of which the newest maxFailedJobs are served.
	maxFailedListed = 500
	maxFailedJobs   = 20
)
