package simulator

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The wire forms below follow the SDK's models (SmartLiveJob,
// SmartLiveRoomBaseInfo, ShowSmartLiveRoomResponse, PlayPolicy,
// LiveExitConfig, LiveEventCallBackConfig, ErrorResponse) field for field,
// for the fields the simulator fills.

const (
	defaultPageLimit = 10
	maxPageLimit     = 100
	msgRoomNotFound  = "The room does not exist"
)

type wireErrorInfo struct {
	ErrorCode string `json:"error_code,omitempty"`
	ErrorMsg  string `json:"error_msg,omitempty"`
}

type wireJob struct {
	JobID                   string                   `json:"job_id"`
	RoomID                  string                   `json:"room_id"`
	RoomName                string                   `json:"room_name,omitempty"`
	State                   string                   `json:"state"`
	Duration                float64                  `json:"duration"`
	StartTime               string                   `json:"start_time,omitempty"`
	EndTime                 string                   `json:"end_time,omitempty"`
	ErrorInfo               *wireErrorInfo           `json:"error_info,omitempty"`
	CreateTime              string                   `json:"create_time,omitempty"`
	LastupdateTime          string                   `json:"lastupdate_time,omitempty"`
	LiveEventCallbackConfig *liveEventCallbackConfig `json:"live_event_callback_config,omitempty"`
	StreamDuration          float64                  `json:"stream_duration"`
	BlockReason             string                   `json:"block_reason,omitempty"`
	UsedResourceType        string                   `json:"used_resource_type,omitempty"`
}

type wireRoom struct {
	RoomID           string         `json:"room_id"`
	ProjectID        string         `json:"project_id"`
	RoomName         string         `json:"room_name"`
	RoomType         string         `json:"room_type"`
	RoomState        string         `json:"room_state"`
	ErrorInfo        *wireErrorInfo `json:"error_info,omitempty"`
	CreateTime       string         `json:"create_time,omitempty"`
	UpdateTime       string         `json:"update_time,omitempty"`
	LastJobStartTime string         `json:"last_job_start_time,omitempty"`
	LastJobEndTime   string         `json:"last_job_end_time,omitempty"`
	LastJobStatus    string         `json:"last_job_status,omitempty"`
}

type wirePlayPolicy struct {
	RepeatCount    *int            `json:"repeat_count,omitempty"`
	LiveExitConfig *liveExitConfig `json:"live_exit_config,omitempty"`
}

type wireRoomDetail struct {
	RoomName                string                   `json:"room_name"`
	RoomType                string                   `json:"room_type"`
	PlayPolicy              *wirePlayPolicy          `json:"play_policy,omitempty"`
	OutputURLs              []string                 `json:"output_urls,omitempty"`
	StreamKeys              []string                 `json:"stream_keys,omitempty"`
	LiveEventCallbackConfig *liveEventCallbackConfig `json:"live_event_callback_config,omitempty"`
	RoomID                  string                   `json:"room_id"`
	CreateTime              string                   `json:"create_time,omitempty"`
	UpdateTime              string                   `json:"update_time,omitempty"`
	RoomState               string                   `json:"room_state"`
	ErrorInfo               *wireErrorInfo           `json:"error_info,omitempty"`
}

// serveInventory answers an authenticated GET of a rooms or jobs route.
func (s *Server) serveInventory(w http.ResponseWriter, r *http.Request, t *tenant, route Route, roomID string) {
	f := t.faults[route].Load()
	var answer []byte
	var err *apiError
	switch route {
	case RouteLiveJobs:
		answer, err = s.listJobs(t, r.URL.Query(), f)
	case RouteRooms:
		answer, err = s.listRooms(t, r.URL.Query(), f)
	default:
		answer, err = s.showRoom(t, roomID)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if f != nil {
		serveFault(w, r, f, answer)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// page is one page of a list: offset and limit as asked, bent by a Fault.
type page struct{ offset, limit int }

func parsePage(q url.Values, f *Fault) (page, *apiError) {
	p := page{limit: defaultPageLimit}
	if v, ok := q["offset"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return p, badParameter("offset must be a non-negative integer")
		}
		p.offset = n
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxPageLimit {
			return p, badParameter("limit must be between 1 and " + strconv.Itoa(maxPageLimit))
		}
		p.limit = n
	}
	if f != nil && f.RepeatFirstPage {
		p.offset = 0
	}
	if f != nil && f.IgnoreLimit {
		p.limit = math.MaxInt
	}
	return p, nil
}

// window is the part of n entries the page shows.
func (p page) window(n int) (from, to int) {
	from = min(p.offset, n)
	return from, from + min(p.limit, n-from)
}

func countOf(n int, f *Fault) int64 {
	if f != nil && f.Count != 0 {
		return f.Count
	}
	return int64(n)
}

// listJobs is ListSmartLiveJobs: state=A,B and create_since filter, the
// jobs come by create time, count is what matched.
func (s *Server) listJobs(t *tenant, q url.Values, f *Fault) ([]byte, *apiError) {
	p, err := parsePage(q, f)
	if err != nil {
		return nil, err
	}
	var states []string
	if v := q.Get("state"); v != "" {
		states = strings.Split(v, ",")
	}
	var since time.Time
	if v := q.Get("create_since"); v != "" {
		var perr error
		if since, perr = time.Parse(time.RFC3339, v); perr != nil {
			return nil, badParameter("create_since must be an RFC 3339 time")
		}
	}
	now := s.now()
	limit := tenantLimit(*t.config.Load())

	inv := &t.inventory
	inv.mu.Lock()
	matched := make([]*storedJob, 0, len(inv.jobs))
	for _, j := range inv.jobs {
		j.settle(now, limit)
		if (states == nil || slices.Contains(states, j.State)) && !j.CreateTime.Before(since) {
			matched = append(matched, j)
		}
	}
	from, to := p.window(len(matched))
	out := struct {
		Count int64     `json:"count"`
		Jobs  []wireJob `json:"smart_live_jobs"`
	}{Count: countOf(len(matched), f), Jobs: make([]wireJob, 0, to-from)}
	for _, j := range matched[from:to] {
		out.Jobs = append(out.Jobs, j.wire(now))
	}
	inv.mu.Unlock()
	return marshalAnswer(out)
}

func (j *storedJob) wire(now time.Time) wireJob {
	live, stream := j.durations(now)
	return wireJob{
		JobID: j.ID, RoomID: j.RoomID, RoomName: j.room.Name, State: j.State,
		Duration: seconds(live), StreamDuration: seconds(stream),
		StartTime: rfc3339(j.StartTime), EndTime: rfc3339(j.EndTime),
		CreateTime: rfc3339(j.CreateTime), LastupdateTime: rfc3339(j.lastUpdate),
		ErrorInfo:               errorInfo(j.ErrorCode, j.ErrorMsg),
		LiveEventCallbackConfig: wireCallback(j.Callback),
		BlockReason:             j.BlockReason, UsedResourceType: j.UsedResourceType,
	}
}

// listRooms is ListSmartLiveRooms, in the order the rooms were added.
func (s *Server) listRooms(t *tenant, q url.Values, f *Fault) ([]byte, *apiError) {
	p, err := parsePage(q, f)
	if err != nil {
		return nil, err
	}
	inv := &t.inventory
	inv.mu.Lock()
	from, to := p.window(len(inv.rooms))
	out := struct {
		Count int64      `json:"count"`
		Rooms []wireRoom `json:"smart_live_rooms"`
	}{Count: countOf(len(inv.rooms), f), Rooms: make([]wireRoom, 0, to-from)}
	for _, r := range inv.rooms[from:to] {
		wr := wireRoom{
			RoomID: r.ID, ProjectID: t.projectID, RoomName: r.Name, RoomType: r.Type, RoomState: r.State,
			ErrorInfo: errorInfo(r.ErrorCode, r.ErrorMsg), CreateTime: rfc3339(r.CreateTime), UpdateTime: rfc3339(r.CreateTime),
		}
		if j := r.lastJob; j != nil {
			wr.LastJobStartTime, wr.LastJobEndTime, wr.LastJobStatus = rfc3339(j.StartTime), rfc3339(j.EndTime), j.State
		}
		out.Rooms = append(out.Rooms, wr)
	}
	inv.mu.Unlock()
	return marshalAnswer(out)
}

// showRoom is ShowSmartLiveRoom.
func (s *Server) showRoom(t *tenant, roomID string) ([]byte, *apiError) {
	inv := &t.inventory
	inv.mu.Lock()
	r := inv.roomByID[roomID]
	var out wireRoomDetail
	if r != nil {
		out = wireRoomDetail{
			RoomName: r.Name, RoomType: r.Type, RoomID: r.ID, RoomState: r.State,
			OutputURLs: r.OutputURLs, StreamKeys: r.StreamKeys,
			LiveEventCallbackConfig: wireCallback(r.Callback),
			CreateTime:              rfc3339(r.CreateTime), UpdateTime: rfc3339(r.CreateTime),
			ErrorInfo: errorInfo(r.ErrorCode, r.ErrorMsg),
		}
		if r.RepeatCount != nil || r.Exit != nil {
			out.PlayPolicy = &wirePlayPolicy{RepeatCount: r.RepeatCount, LiveExitConfig: wireExit(r.Exit)}
		}
	}
	inv.mu.Unlock()
	if r == nil {
		return nil, &apiError{status: http.StatusNotFound, code: CodeRoomNotFound, msg: msgRoomNotFound}
	}
	return marshalAnswer(out)
}

func marshalAnswer(v any) ([]byte, *apiError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: "Internal error"}
	}
	return b, nil
}

func wireExit(e *LiveExit) *liveExitConfig {
	if e == nil {
		return nil
	}
	return &liveExitConfig{MaxLiveDuration: e.MaxLiveDuration, AutoStopMode: e.AutoStopMode, MaxExceptionWaitingDuration: e.MaxExceptionWaitingDuration}
}

func wireCallback(c *Callback) *liveEventCallbackConfig {
	if c == nil {
		return nil
	}
	nonEmpty := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &liveEventCallbackConfig{
		LiveEventTypeCallbackURL: nonEmpty(c.URL), AuthType: nonEmpty(c.AuthType), Key: nonEmpty(c.Key),
		CallbackEventType: c.EventTypes,
	}
}

func errorInfo(code, msg string) *wireErrorInfo {
	if code == "" && msg == "" {
		return nil
	}
	return &wireErrorInfo{ErrorCode: code, ErrorMsg: msg}
}

// rfc3339 is how the API writes times: UTC, whole seconds; "" for none.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// seconds is a duration as the API reports it: seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}
