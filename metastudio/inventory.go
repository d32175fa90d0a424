package metastudio

import "time"

// What runs in a tenant: its rooms (smart-live-rooms) and live jobs
// (smart-live-jobs). These are the client's answers, reduced to what
// monitoring needs; the wire forms follow the SDK's models (SmartLiveJob,
// SmartLiveRoomBaseInfo, ShowSmartLiveRoomResponse, PlayPolicy,
// LiveExitConfig, LiveEventCallBackConfig). Stream keys and the paths and
// queries of output URLs are never decoded into them.

// Live job states. Values outside these are tolerated and kept as sent.
const (
	JobWaiting    = "WAITING"
	JobProcessing = "PROCESSING"
	JobSucceed    = "SUCCEED"
	JobFailed     = "FAILED"
	JobBlocked    = "BLOCKED"
)

// Room types and states; likewise open sets.
const (
	RoomNormal   = "NORMAL"
	RoomTemp     = "TEMP"
	RoomTemplate = "TEMPLATE"

	RoomEnable  = "ENABLE"
	RoomDisable = "DISABLE"
	RoomBlocked = "BLOCKED"
)

// RepeatUntilStopped is play_policy.repeat_count for a room that plays its
// script until someone stops it.
const RepeatUntilStopped = -1

// LiveJob is one entry of the live jobs list.
type LiveJob struct {
	JobID    string
	RoomID   string
	RoomName string
	State    string
	// Duration is how long the job has been live, StreamDuration how long
	// its RTMP push has been up, both in seconds as reported.
	Duration       float64
	StreamDuration float64
	// Times as reported (RFC 3339); zero when absent or unreadable.
	StartTime      time.Time
	EndTime        time.Time
	CreateTime     time.Time
	LastUpdateTime time.Time
	// ErrorCode and ErrorMsg are error_info's, for a failed job.
	ErrorCode        string
	ErrorMsg         string
	BlockReason      string
	UsedResourceType string
	// Callback is the job's own live_event_callback_config, the one in
	// force for its events; nil when the job reports none.
	Callback *CallbackAuth
}

// Room is one entry of the rooms list.
type Room struct {
	RoomID    string
	RoomName  string
	RoomType  string
	RoomState string
}

// RoomDetail is one room as ShowSmartLiveRoom answers it. A nil pointer is
// a setting the room leaves out: it inherits, and produces no series.
type RoomDetail struct {
	Room
	// RepeatCount is play_policy.repeat_count (RepeatUntilStopped = loop
	// until stopped).
	RepeatCount *int
	// Exit is play_policy.live_exit_config.
	Exit *LiveExit
	// Callback is the room's own live_event_callback_config.
	Callback *CallbackAuth
	// ErrorCode and ErrorMsg are error_info's.
	ErrorCode string
	ErrorMsg  string
}

// LiveExit is a live_exit_config as set, field by field: nil = not set.
type LiveExit struct {
	MaxLiveDurationHours       *int
	AutoStopMode               *string
	MaxExceptionWaitingMinutes *int
}
