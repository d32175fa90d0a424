package metastudio

import (
	"cmp"
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// OpListLiveJobs is the Op of every error from ListLiveJobs.
const OpListLiveJobs = "list live jobs"

// DefaultMaxJobs is how many live jobs ListLiveJobs keeps when the query
// leaves Max 0.
const DefaultMaxJobs = 1000

const liveJobsPath = "/smart-live-jobs"

// JobQuery selects live jobs.
type JobQuery struct {
	States      []string  // sent as state=A,B; none = every state
	CreateSince time.Time // zero: not sent; else create_since in RFC 3339 UTC
	Max         int       // keep at most this many jobs (0 = DefaultMaxJobs); more are counted only
}

// wireErrorInfo is an ErrorResponse inside a job or room.
type wireErrorInfo struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// wireCallback is a LiveEventCallBackConfig (a job's) or a
// LiveRoomEventCallBackConfig (a room's), reduced to CallbackAuth.
type wireCallback struct {
	URL      secret.String `json:"live_event_type_callback_url"`
	AuthType string        `json:"auth_type"`
	Key      secret.String `json:"key"`
}

func (w *wireCallback) auth() *CallbackAuth {
	if w == nil {
		return nil
	}
	return &CallbackAuth{AuthType: cmp.Or(w.AuthType, DefaultAuthType), Key: w.Key, URL: w.URL}
}

// wireJob is a SmartLiveJob with only the fields LiveJob keeps.
type wireJob struct {
	JobID            string         `json:"job_id"`
	RoomID           string         `json:"room_id"`
	RoomName         string         `json:"room_name"`
	State            string         `json:"state"`
	Duration         float64        `json:"duration"`
	StreamDuration   float64        `json:"stream_duration"`
	StartTime        string         `json:"start_time"`
	EndTime          string         `json:"end_time"`
	CreateTime       string         `json:"create_time"`
	LastupdateTime   string         `json:"lastupdate_time"`
	ErrorInfo        *wireErrorInfo `json:"error_info"`
	BlockReason      string         `json:"block_reason"`
	UsedResourceType string         `json:"used_resource_type"`
	Callback         *wireCallback  `json:"live_event_callback_config"`
}

// ListLiveJobs calls ListSmartLiveJobs for t, page by page: the jobs that
// match q (at most q.Max, each once) and how many the answer counts.
func (c *Client) ListLiveJobs(ctx context.Context, t Target, q JobQuery) ([]LiveJob, int, error) {
	query := url.Values{}
	if len(q.States) > 0 {
		query.Set("state", strings.Join(q.States, ","))
	}
	if !q.CreateSince.IsZero() {
		query.Set("create_since", q.CreateSince.UTC().Format(time.RFC3339))
	}
	spec := listSpec{op: OpListLiveJobs, suffix: liveJobsPath, listKey: "smart_live_jobs", query: query}
	return listAll(ctx, c, t, spec, cmp.Or(max(q.Max, 0), DefaultMaxJobs), func(w *wireJob) (string, LiveJob, bool) {
		return w.JobID, w.job(), w.JobID != ""
	})
}

func (w *wireJob) job() LiveJob {
	j := LiveJob{
		JobID: w.JobID, RoomID: w.RoomID, RoomName: w.RoomName, State: w.State,
		Duration: w.Duration, StreamDuration: w.StreamDuration,
		StartTime: parseTime(w.StartTime), EndTime: parseTime(w.EndTime),
		CreateTime: parseTime(w.CreateTime), LastUpdateTime: parseTime(w.LastupdateTime),
		BlockReason:      truncate(w.BlockReason, maxErrorMsgBytes),
		UsedResourceType: w.UsedResourceType,
		Callback:         w.Callback.auth(),
	}
	j.ErrorCode, j.ErrorMsg = w.ErrorInfo.fields()
	return j
}

func (e *wireErrorInfo) fields() (code, msg string) {
	if e == nil {
		return "", ""
	}
	return truncate(e.ErrorCode, 64), truncate(e.ErrorMsg, maxErrorMsgBytes)
}

// parseTime reads the API's RFC 3339 times; absent or unreadable is zero.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
