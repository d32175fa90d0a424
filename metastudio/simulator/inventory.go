package simulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Room types, room states, live job states and resource types, as
// MetaStudio spells them.
const (
	RoomNormal   = "NORMAL"
	RoomTemp     = "TEMP"
	RoomTemplate = "TEMPLATE"

	RoomEnable  = "ENABLE"
	RoomDisable = "DISABLE"
	RoomBlocked = "BLOCKED"

	JobWaiting    = "WAITING"
	JobProcessing = "PROCESSING"
	JobSucceed    = "SUCCEED"
	JobFailed     = "FAILED"
	JobBlocked    = "BLOCKED"

	ResourcePeriod   = "PERIOD"
	ResourceOnDemand = "ONDEMAND"
	ResourceOneTime  = "ONE_TIME"
	ResourceUnknown  = "UNKNOW" // sic: the API's spelling
)

// RepeatUntilStopped is a room's play_policy.repeat_count when its script
// repeats until someone stops the job.
const RepeatUntilStopped = -1

// LiveExit is a live_exit_config; a nil field is left out of answers.
type LiveExit struct {
	MaxLiveDuration             *int // hours, 0 = no limit
	AutoStopMode                *string
	MaxExceptionWaitingDuration *int // minutes, 0 = no limit
}

// Room is a smart live room of a project, as ShowSmartLiveRoom answers it.
// Pointer and slice fields that are nil are left out of answers, as a room
// that does not set them.
type Room struct {
	ID    string
	Name  string
	Type  string // "" = NORMAL
	State string // "" = ENABLE
	// RepeatCount and Exit are the room's play_policy; with both nil the
	// answer has no play_policy.
	RepeatCount *int
	Exit        *LiveExit
	// Callback is the room's own live_event_callback_config.
	Callback *Callback
	// OutputURLs and StreamKeys are where the room pushes its RTMP stream;
	// the keys are secrets, served because the cloud serves them.
	OutputURLs []string
	StreamKeys []string
	// ErrorCode and ErrorMsg fill error_info, for a DISABLE or BLOCKED room.
	ErrorCode, ErrorMsg string
	CreateTime          time.Time // zero = the simulator's clock when added
}

// LiveJob is a live job of a project. Its duration and stream_duration are
// not stored: they grow with the simulator's clock (Options.Now) while it
// runs, the stream only while its push is up (SetJobStreaming).
type LiveJob struct {
	ID     string
	RoomID string // must be a room of the project
	State  string // "" = PROCESSING
	// StartTime is when it went live (zero for a WAITING job); EndTime
	// when a SUCCEED, FAILED or BLOCKED job ended. CreateTime zero means
	// StartTime, or the clock when added.
	StartTime, EndTime, CreateTime time.Time
	ErrorCode, ErrorMsg            string // error_info, for a failed job
	BlockReason                    string
	UsedResourceType               string // "" = left out
	// Callback is the live_event_callback_config the job runs with. Nil
	// means what it would start with: its room's own if the room has one,
	// else the project's user config's, else none.
	Callback *Callback
}

// inventory holds a project's rooms and jobs. Rooms answer in the order
// added, jobs by create time (the API's default order), then as added.
type inventory struct {
	mu       sync.Mutex
	rooms    []*storedRoom
	roomByID map[string]*storedRoom
	jobs     []*storedJob
	jobByID  map[string]*storedJob
}

type storedRoom struct {
	Room
	lastJob *storedJob // the newest job of the room, for last_job_*
}

type storedJob struct {
	LiveJob
	room       *storedRoom
	lastUpdate time.Time
	// streamed is the push's up time before streamSince; streamSince is
	// zero while the push is down or the job is not running.
	streamed    time.Duration
	streamSince time.Time
}

// AddRoom adds a room to a project.
func (s *Server) AddRoom(projectID string, r Room) error {
	t := s.tenant(projectID)
	if t == nil {
		return fmt.Errorf("simulator: unknown project %q", projectID)
	}
	if err := checkID("room", r.ID); err != nil {
		return err
	}
	if len(r.StreamKeys) > len(r.OutputURLs) {
		return fmt.Errorf("simulator: room %q: %d stream keys for %d output URLs", r.ID, len(r.StreamKeys), len(r.OutputURLs))
	}
	sr := &storedRoom{Room: r.clone()}
	sr.Type = cmp.Or(sr.Type, RoomNormal)
	sr.State = cmp.Or(sr.State, RoomEnable)
	if sr.CreateTime.IsZero() {
		sr.CreateTime = s.now()
	}
	inv := &t.inventory
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if _, dup := inv.roomByID[r.ID]; dup {
		return fmt.Errorf("simulator: project %q already has room %q", projectID, r.ID)
	}
	if inv.roomByID == nil {
		inv.roomByID = make(map[string]*storedRoom)
	}
	inv.roomByID[r.ID] = sr
	inv.rooms = append(inv.rooms, sr)
	return nil
}

// AddLiveJob adds a live job to a project, in one of its rooms.
func (s *Server) AddLiveJob(projectID string, j LiveJob) error {
	t := s.tenant(projectID)
	if t == nil {
		return fmt.Errorf("simulator: unknown project %q", projectID)
	}
	if err := checkID("live job", j.ID); err != nil {
		return err
	}
	sj := &storedJob{LiveJob: j}
	sj.Callback = j.Callback.clone()
	sj.State = cmp.Or(sj.State, JobProcessing)
	switch {
	case sj.State == JobWaiting && !sj.StartTime.IsZero():
		return fmt.Errorf("simulator: live job %q: a WAITING job has no start time", j.ID)
	case sj.State == JobProcessing && sj.StartTime.IsZero():
		return fmt.Errorf("simulator: live job %q: a PROCESSING job needs its start time", j.ID)
	case ended(sj.State) && sj.EndTime.IsZero():
		return fmt.Errorf("simulator: live job %q: a %s job needs its end time", j.ID, sj.State)
	}
	if sj.CreateTime.IsZero() {
		sj.CreateTime = cmp.Or(sj.StartTime, s.now())
	}
	sj.lastUpdate = latest(sj.CreateTime, sj.StartTime, sj.EndTime)
	switch {
	case sj.State == JobProcessing:
		sj.streamSince = sj.StartTime
	case ended(sj.State) && !sj.StartTime.IsZero():
		sj.streamed = max(0, sj.EndTime.Sub(sj.StartTime))
	}
	var tenantCallback *Callback
	if sj.Callback == nil {
		tenantCallback = callbackOf(*t.config.Load())
	}

	inv := &t.inventory
	inv.mu.Lock()
	defer inv.mu.Unlock()
	room := inv.roomByID[j.RoomID]
	if room == nil {
		return fmt.Errorf("simulator: live job %q: project %q has no room %q", j.ID, projectID, j.RoomID)
	}
	if _, dup := inv.jobByID[j.ID]; dup {
		return fmt.Errorf("simulator: project %q already has live job %q", projectID, j.ID)
	}
	if sj.Callback == nil {
		sj.Callback = cmp.Or(room.Callback, tenantCallback)
	}
	sj.room = room
	if room.lastJob == nil || !sj.CreateTime.Before(room.lastJob.CreateTime) {
		room.lastJob = sj
	}
	if inv.jobByID == nil {
		inv.jobByID = make(map[string]*storedJob)
	}
	inv.jobByID[j.ID] = sj
	at, _ := slices.BinarySearchFunc(inv.jobs, sj, func(a, b *storedJob) int {
		// Equal create times go after the ones already there.
		return cmp.Or(a.CreateTime.Compare(b.CreateTime), -1)
	})
	inv.jobs = slices.Insert(inv.jobs, at, sj)
	return nil
}

// clone copies what r points to, so that the caller's values can change
// without a lock while the room is served.
func (r Room) clone() Room {
	r.RepeatCount = clonePtr(r.RepeatCount)
	if r.Exit != nil {
		e := LiveExit{MaxLiveDuration: clonePtr(r.Exit.MaxLiveDuration), AutoStopMode: clonePtr(r.Exit.AutoStopMode),
			MaxExceptionWaitingDuration: clonePtr(r.Exit.MaxExceptionWaitingDuration)}
		r.Exit = &e
	}
	r.Callback = r.Callback.clone()
	r.OutputURLs, r.StreamKeys = slices.Clone(r.OutputURLs), slices.Clone(r.StreamKeys)
	return r
}

func (c *Callback) clone() *Callback {
	if c == nil {
		return nil
	}
	cp := *c
	cp.EventTypes = slices.Clone(c.EventTypes)
	return &cp
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// SetJobStreaming says whether a running job's RTMP push is up: while it
// is down the job's stream_duration stops growing, as for a dropped push. A
// job that is not PROCESSING (or has just reached its duration limit) is
// left as it is.
func (s *Server) SetJobStreaming(projectID, jobID string, up bool) error {
	t := s.tenant(projectID)
	if t == nil {
		return fmt.Errorf("simulator: unknown project %q", projectID)
	}
	now := s.now()
	limit := tenantLimit(*t.config.Load())
	inv := &t.inventory
	inv.mu.Lock()
	defer inv.mu.Unlock()
	j := inv.jobByID[jobID]
	if j == nil {
		return fmt.Errorf("simulator: project %q has no live job %q", projectID, jobID)
	}
	j.settle(now, limit)
	if j.State != JobProcessing || up == !j.streamSince.IsZero() {
		return nil
	}
	if up {
		j.streamSince = now
	} else {
		j.streamed += max(0, now.Sub(j.streamSince))
		j.streamSince = time.Time{}
	}
	j.lastUpdate = now
	return nil
}

// settle ends a PROCESSING job whose duration limit has passed, as
// MetaStudio's auto exit does: SUCCEED, ended at start + limit, its stream
// stopped then. The room's own max_live_duration wins over the project's;
// 0 or none is no limit.
func (j *storedJob) settle(now time.Time, tenantLimitHours int) {
	if j.State != JobProcessing {
		return
	}
	hours := tenantLimitHours
	if e := j.room.Exit; e != nil && e.MaxLiveDuration != nil {
		hours = *e.MaxLiveDuration
	}
	if hours <= 0 {
		return
	}
	end := j.StartTime.Add(time.Duration(hours) * time.Hour)
	if now.Before(end) {
		return
	}
	if !j.streamSince.IsZero() {
		j.streamed += max(0, end.Sub(j.streamSince))
		j.streamSince = time.Time{}
	}
	j.State, j.EndTime, j.lastUpdate = JobSucceed, end, end
}

// durations are the job's duration and stream_duration at now.
func (j *storedJob) durations(now time.Time) (live, stream time.Duration) {
	switch {
	case j.State == JobProcessing:
		live = now.Sub(j.StartTime)
	case ended(j.State) && !j.StartTime.IsZero():
		live = j.EndTime.Sub(j.StartTime)
	}
	stream = j.streamed
	if !j.streamSince.IsZero() {
		stream += now.Sub(j.streamSince)
	}
	return max(0, live), max(0, stream)
}

func ended(state string) bool {
	return state == JobSucceed || state == JobFailed || state == JobBlocked
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func checkID(what, id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("simulator: a %s id must have 1 to 64 characters, not %d", what, len(id))
	}
	return nil
}

// tenantLimit is the project's user-config max_live_duration in hours, 0
// when it sets none (absent means no limit).
func tenantLimit(config []byte) int {
	var c userConfig
	if json.Unmarshal(config, &c) != nil || c.LiveExitConfig == nil || c.LiveExitConfig.MaxLiveDuration == nil {
		return 0
	}
	return *c.LiveExitConfig.MaxLiveDuration
}

// callbackOf is the live_event_callback_config of a stored user config, nil
// when it has no callback URL.
func callbackOf(config []byte) *Callback {
	cb, err := decodeCallback(config)
	if err != nil {
		return nil
	}
	return &cb
}

var errNoCallbackURL = errors.New("has no live event callback URL")

// decodeCallback reads the live_event_callback_config of a stored user
// config.
func decodeCallback(config []byte) (Callback, error) {
	var c userConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return Callback{}, fmt.Errorf("stored config does not decode: %w", err)
	}
	cb := c.LiveEventCallbackConfig
	if cb == nil || cb.LiveEventTypeCallbackURL == nil || *cb.LiveEventTypeCallbackURL == "" {
		return Callback{}, errNoCallbackURL
	}
	out := Callback{URL: *cb.LiveEventTypeCallbackURL, AuthType: AuthNone, EventTypes: cb.CallbackEventType}
	if cb.AuthType != nil {
		out.AuthType = *cb.AuthType
	}
	if cb.Key != nil {
		out.Key = *cb.Key
	}
	return out, nil
}
