package receiver

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// maxBodyBytes is the largest request body accepted.
const maxBodyBytes = 64 << 10

// maxLabelValueLen bounds every label value taken from an event, as the
// collector bounds values taken from the API.
const maxLabelValueLen = 128

// eventTypeOther is the event_type label of every type this exporter does not
// know, so that a sender cannot mint label values.
const eventTypeOther = "other"

// event is what the receiver keeps of one request body. stream_key and the
// output URL's credentials, path and query are never copied out of the body.
type event struct {
	typeLabel  string // event_type, or eventTypeOther
	roomID     string // bounded label value; "" when absent
	jobID      string
	outputHost string
	state      int // a state index; only for RTMP_STREAM_STATE_CHANGE
	seqNo      float64
	hasSeqNo   bool
}

// envelope is the request body: message is a JSON object encoded as a
// string, as MetaStudio sends it; a bare object is taken as well.
type envelope struct {
	EventType json.RawMessage `json:"event_type"`
	Message   json.RawMessage `json:"message"`
}

// message holds the fields any known event may carry. Raw values, because a
// number where a string is expected must not fail the whole event.
type message struct {
	RoomID    json.RawMessage `json:"room_id"`
	JobID     json.RawMessage `json:"job_id"`
	OutputURL json.RawMessage `json:"output_url"`
	State     json.RawMessage `json:"state"`
	SeqNo     json.RawMessage `json:"shoot_script_sequence_no"`
}

// Problems with a body, answered with bad_request. They never quote the body.
const (
	problemNotJSON      = "the body is not a JSON object"
	problemNoEventType  = "event_type is missing or not a non-empty string"
	problemMessage      = "message is missing or not a JSON object (encoded as a string)"
	problemRoomOrJobIDs = "message.room_id or message.job_id is missing"
)

// parseEvent decodes a request body; problem is "" when it is usable.
// Unknown event types and states are accepted: only the known types need
// room_id and job_id.
func parseEvent(body []byte) (ev event, problem string) {
	var env envelope
	if !isObject(body) || json.Unmarshal(body, &env) != nil {
		return ev, problemNotJSON
	}
	eventType, ok := jsonString(env.EventType)
	if !ok || eventType == "" {
		return ev, problemNoEventType
	}
	raw := []byte(env.Message)
	if s, ok := jsonString(env.Message); ok {
		raw = []byte(s)
	}
	var msg message
	if !isObject(raw) || json.Unmarshal(raw, &msg) != nil {
		return ev, problemMessage
	}
	ev.roomID = idValue(msg.RoomID)
	ev.jobID = idValue(msg.JobID)
	known := true
	switch eventType {
	case metastudio.EventRTMPStreamStateChange:
		state, _ := jsonString(msg.State)
		ev.state = stateIndex(state)
		if u, ok := jsonString(msg.OutputURL); ok {
			ev.outputHost = hostOf(u)
		}
	case metastudio.EventShootScriptSwitch:
		ev.seqNo, ev.hasSeqNo = number(msg.SeqNo)
	case metastudio.EventReplyCommandFinish:
	default:
		known = false
	}
	if known {
		ev.typeLabel = eventType
		if ev.roomID == "" || ev.jobID == "" {
			return ev, problemRoomOrJobIDs
		}
	} else {
		ev.typeLabel = eventTypeOther
	}
	return ev, ""
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// jsonString decodes raw if it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	// raw is valid JSON, checked with the whole body: without an escape it
	// is the string itself.
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// idValue takes an ID that is a string or a number (its literal) as a
// bounded label value.
func idValue(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return labelValue(s)
	}
	if _, ok := number(raw); ok {
		return labelValue(string(raw))
	}
	return ""
}

// number decodes a finite JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	s := string(raw)
	if q, ok := jsonString(raw); ok {
		s = q
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// hostOf is the host (and port) of an output URL, lower-cased. Its user
// info, path (which holds the app and often the stream key) and query are
// dropped here, before anything else sees them.
func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return labelValue(strings.ToLower(u.Host))
}

// labelValue makes a string from an event a valid, bounded label value.
func labelValue(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if len(v) <= maxLabelValueLen {
		return v
	}
	v = v[:maxLabelValueLen]
	for !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}
