package metastudio

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Op of the errors from ListRooms and GetRoom.
const (
	OpListRooms = "list rooms"
	OpShowRoom  = "show room"
)

// DefaultMaxRooms is how many rooms ListRooms keeps when maxRooms is 0.
const DefaultMaxRooms = 500

const (
	roomsPath = "/smart-live-rooms"
	// maxRoomIDBytes bounds a room id put in a path; the API's are 32 hex.
	maxRoomIDBytes = 128
)

// wireRoom is a SmartLiveRoomBaseInfo with only the fields Room keeps.
type wireRoom struct {
	RoomID    string `json:"room_id"`
	RoomName  string `json:"room_name"`
	RoomType  string `json:"room_type"`
	RoomState string `json:"room_state"`
}

// wireExit is a LiveExitConfig; it converts to LiveExit as it is.
type wireExit struct {
	MaxLiveDurationHours       *int    `json:"max_live_duration"`
	AutoStopMode               *string `json:"auto_stop_mode"`
	MaxExceptionWaitingMinutes *int    `json:"max_exception_waiting_duration"`
}

// wireRoomDetail is a ShowSmartLiveRoomResponse with only the fields
// RoomDetail keeps: output_urls and stream_keys are not among them, so
// they are never decoded.
type wireRoomDetail struct {
	wireRoom
	PlayPolicy *struct {
		RepeatCount    *int      `json:"repeat_count"`
		LiveExitConfig *wireExit `json:"live_exit_config"`
	} `json:"play_policy"`
	Callback  *wireCallback  `json:"live_event_callback_config"`
	ErrorInfo *wireErrorInfo `json:"error_info"`
}

// ListRooms calls ListSmartLiveRooms for t, page by page: at most maxRooms
// rooms (0 = DefaultMaxRooms), each once, and how many the answer counts.
func (c *Client) ListRooms(ctx context.Context, t Target, maxRooms int) ([]Room, int, error) {
	spec := listSpec{op: OpListRooms, suffix: roomsPath, listKey: "smart_live_rooms"}
	return listAll(ctx, c, t, spec, cmp.Or(max(maxRooms, 0), DefaultMaxRooms), func(w *wireRoom) (string, Room, bool) {
		return w.RoomID, w.room(), w.RoomID != ""
	})
}

func (w *wireRoom) room() Room {
	return Room{RoomID: w.RoomID, RoomName: w.RoomName, RoomType: w.RoomType, RoomState: w.RoomState}
}

// GetRoom calls ShowSmartLiveRoom for one room of t. An answer without
// room_id is taken as the room asked for.
func (c *Client) GetRoom(ctx context.Context, t Target, roomID string) (*RoomDetail, error) {
	if err := checkRoomID(roomID); err != nil {
		return nil, &Error{Reason: ReasonClientError, Op: OpShowRoom, Err: err}
	}
	buf, requestID, err := c.callProject(ctx, t, http.MethodGet, roomsPath+"/"+url.PathEscape(roomID), "", nil, OpShowRoom)
	if err != nil {
		return nil, err
	}
	defer putBuffer(buf)
	d, err := decodeRoomDetail(buf.Bytes())
	if err != nil {
		return nil, &Error{Reason: ReasonDecode, Op: OpShowRoom, RequestID: requestID, Err: err}
	}
	d.RoomID = cmp.Or(d.RoomID, roomID)
	return d, nil
}

func decodeRoomDetail(body []byte) (*RoomDetail, error) {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] != '{' {
		return nil, errNotObject
	}
	var w wireRoomDetail
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, describeDecodeError("", err)
	}
	d := &RoomDetail{Room: w.room(), Callback: w.Callback.auth()}
	if p := w.PlayPolicy; p != nil {
		d.RepeatCount = p.RepeatCount
		if p.LiveExitConfig != nil {
			exit := LiveExit(*p.LiveExitConfig)
			d.Exit = &exit
		}
	}
	d.ErrorCode, d.ErrorMsg = w.ErrorInfo.fields()
	return d, nil
}

var errRoomIDPath = errors.New("would change the request path")

// checkRoomID refuses an id that is no single path segment: empty, a dot
// segment, a slash (escaped or not, some gateways decode %2F) or a control
// character. What remains is escaped into the path.
func checkRoomID(id string) error {
	bad := id == "" || id == "." || id == ".." || len(id) > maxRoomIDBytes || strings.ContainsAny(id, `/\`) ||
		strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
	if bad {
		return fmt.Errorf("room id %q %w", truncate(id, 64), errRoomIDPath)
	}
	return nil
}
