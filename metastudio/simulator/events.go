package simulator

// MetaStudio's side of live events: it POSTs them to a tenant's
// live_event_type_callback_url, signed with the tenant's key. The signing
// here is written from the published formula and shares no code with the
// exporter's receiver, so that a verifier bug cannot be mirrored by the
// sender and pass unnoticed.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Live event types, as MetaStudio names them in event_type and in
// callback_event_type.
const (
	EventShootScriptSwitch     = "SHOOT_SCRIPT_SWITCH"
	EventRTMPStreamStateChange = "RTMP_STREAM_STATE_CHANGE"
	EventReplyCommandFinish    = "REPLY_COMMAND_FINISH"
)

// RTMP stream states of RTMP_STREAM_STATE_CHANGE.
const (
	StreamConnecting   = "CONNECTING"
	StreamConnected    = "CONNECTED"
	StreamDisconnected = "DISCONNECTED"
	StreamReconnecting = "RECONNECTING"
	StreamEnd          = "END"
)

// Callback auth types.
const (
	AuthNone     = "NONE"
	AuthMSSA     = "MSS_A"
	AuthMSSAHead = "MSS_A_HEAD"
)

// Names of the signature parameters: query parameters for MSS_A, headers
// for MSS_A_HEAD.
const (
	ParamSecret  = "hwSecret"
	ParamTime    = "hwTime"
	HeaderSecret = "x-hw-mss-secret"
	HeaderTime   = "x-hw-mss-time"
)

// LiveEvent is the message of one live event.
type LiveEvent interface {
	EventType() string
}

// ShootScriptSwitch reports that a live job moved to another script
// paragraph.
type ShootScriptSwitch struct {
	RoomID                string `json:"room_id"`
	JobID                 string `json:"job_id"`
	SceneScriptName       string `json:"scene_script_name"`
	ShootScriptSequenceNo int    `json:"shoot_script_sequence_no"`
	ShootScriptTitle      string `json:"shoot_script_title"`
}

// RTMPStreamStateChange reports a state change of a live job's RTMP push.
type RTMPStreamStateChange struct {
	RoomID    string `json:"room_id"`
	JobID     string `json:"job_id"`
	OutputURL string `json:"output_url"`
	StreamKey string `json:"stream_key"`
	State     string `json:"state"`
}

// ReplyCommandFinish reports that an interactive reply finished playing.
type ReplyCommandFinish struct {
	RoomID  string `json:"room_id"`
	JobID   string `json:"job_id"`
	ReplyID string `json:"reply_id"`
}

// RawEvent sends Message as the message string unchanged, for event types
// MetaStudio may add later and for messages a receiver must refuse.
type RawEvent struct {
	Type    string
	Message string
}

func (ShootScriptSwitch) EventType() string     { return EventShootScriptSwitch }
func (RTMPStreamStateChange) EventType() string { return EventRTMPStreamStateChange }
func (ReplyCommandFinish) EventType() string    { return EventReplyCommandFinish }
func (e RawEvent) EventType() string            { return e.Type }

// EventBody is the request body of ev:
// {"event_type": "...", "message": "<the message object, JSON-encoded, as a string>"}.
func EventBody(ev LiveEvent) ([]byte, error) {
	msg, err := messageOf(ev)
	if err != nil {
		return nil, err
	}
	return encodeJSON(struct {
		EventType string `json:"event_type"`
		Message   string `json:"message"`
	}{ev.EventType(), msg})
}

func messageOf(ev LiveEvent) (string, error) {
	if raw, ok := ev.(RawEvent); ok {
		return raw.Message, nil
	}
	b, err := encodeJSON(ev)
	if err != nil {
		return "", fmt.Errorf("simulator: encoding the %s message: %w", ev.EventType(), err)
	}
	return string(b), nil
}

// encodeJSON marshals without HTML escaping: output URLs keep their "&" as
// MetaStudio sends them.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Callback is where and how a tenant's live events are sent: its
// live_event_callback_config.
type Callback struct {
	URL        string   // live_event_type_callback_url, exactly as configured
	AuthType   string   // "" = NONE
	Key        string   // signing key for MSS_A and MSS_A_HEAD
	EventTypes []string // callback_event_type
}

// Subscribes reports whether the tenant asked for events of this type.
func (c Callback) Subscribes(eventType string) bool {
	return slices.Contains(c.EventTypes, eventType)
}

// Callback returns the live_event_callback_config the project stores, so
// that events can be sent as MetaStudio would send them for it.
func (s *Server) Callback(projectID string) (Callback, error) {
	t := s.tenant(projectID)
	if t == nil {
		return Callback{}, fmt.Errorf("simulator: unknown project %q", projectID)
	}
	cb, err := decodeCallback(*t.config.Load())
	if errors.Is(err, errNoCallbackURL) {
		return Callback{}, fmt.Errorf("simulator: project %q %w", projectID, err)
	}
	if err != nil {
		return Callback{}, fmt.Errorf("simulator: project %q: %w", projectID, err)
	}
	return cb, nil
}

// HWTime is hwTime: the Unix time in seconds, lower-case hex.
func HWTime(t time.Time) string { return strconv.FormatInt(t.Unix(), 16) }

// HWSecret is hwSecret: hex(HMAC-SHA256(key, u + hwTime)), where u is the
// callback URL exactly as configured, without the appended signature
// parameters.
func HWSecret(key, u, hwTime string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(u))
	m.Write([]byte(hwTime))
	return hex.EncodeToString(m.Sum(nil))
}

// Sender plays MetaStudio: it signs live events and POSTs them to callback
// URLs. The zero value sends with http.DefaultClient at the current time.
type Sender struct {
	Client *http.Client      // nil = http.DefaultClient
	Now    func() time.Time  // nil = time.Now; hwTime is taken from it
	Header map[string]string // extra request headers, e.g. a User-Agent

	// Origin, if set ("http://127.0.0.1:10037"), is where every request
	// goes instead of the scheme and host of the callback URL, keeping its
	// path and query: it stands for the TLS-terminating proxy or DNS name
	// that routes the public callback URL to a receiver. The signature
	// still covers the URL as configured.
	Origin string
}

// Delivery is the receiver's answer to one event.
type Delivery struct {
	Status int
	Body   string // up to 64 KiB
}

// maxAnswer bounds how much of a receiver's answer is read.
const maxAnswer = 64 << 10

// Send signs ev for cb and POSTs it. Only transport failures and events
// that cannot be signed are errors; any HTTP status is a Delivery.
func (s *Sender) Send(ctx context.Context, cb Callback, ev LiveEvent) (Delivery, error) {
	body, err := EventBody(ev)
	if err != nil {
		return Delivery{}, err
	}
	return s.SendBody(ctx, cb, body)
}

// SendBody signs and POSTs a body as it is, for bodies a receiver must
// refuse (not JSON, too large) and for replays of a captured body.
func (s *Sender) SendBody(ctx context.Context, cb Callback, body []byte) (Delivery, error) {
	req, err := s.NewRequest(ctx, cb, body)
	if err != nil {
		return Delivery{}, err
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Delivery{}, fmt.Errorf("simulator: sending a live event: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Delivery{}, fmt.Errorf("simulator: reading the receiver's answer: %w", err)
	}
	return Delivery{Status: resp.StatusCode, Body: string(answer)}, nil
}

// NewRequest builds the signed POST of body for cb without sending it.
func (s *Sender) NewRequest(ctx context.Context, cb Callback, body []byte) (*http.Request, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	target, header, err := signCallback(cb, now())
	if err != nil {
		return nil, err
	}
	if s.Origin != "" {
		if target, err = reroute(target, s.Origin); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		// The URL may carry credentials: say what is wrong, not what it is.
		return nil, errors.New("simulator: the callback URL is not a valid absolute URL")
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range s.Header {
		req.Header.Set(k, v)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return req, nil
}

// signCallback returns the URL to POST to and the signature headers.
func signCallback(cb Callback, now time.Time) (string, http.Header, error) {
	hwTime := HWTime(now)
	switch cb.AuthType {
	case "", AuthNone:
		return cb.URL, nil, nil
	case AuthMSSA:
		if cb.Key == "" {
			return "", nil, errors.New("simulator: auth type MSS_A needs a key")
		}
		base, fragment, _ := strings.Cut(cb.URL, "#")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		target := base + sep + ParamSecret + "=" + HWSecret(cb.Key, cb.URL, hwTime) + "&" + ParamTime + "=" + hwTime
		if fragment != "" {
			target += "#" + fragment
		}
		return target, nil, nil
	case AuthMSSAHead:
		if cb.Key == "" {
			return "", nil, errors.New("simulator: auth type MSS_A_HEAD needs a key")
		}
		h := http.Header{}
		h.Set(HeaderSecret, HWSecret(cb.Key, cb.URL, hwTime))
		h.Set(HeaderTime, hwTime)
		return cb.URL, h, nil
	default:
		return "", nil, fmt.Errorf("simulator: cannot sign for auth type %q", cb.AuthType)
	}
}

// reroute replaces target's scheme and host with origin's.
func reroute(target, origin string) (string, error) {
	o, err := url.Parse(origin)
	if err != nil || o.Scheme == "" || o.Host == "" {
		return "", fmt.Errorf("simulator: origin %q is not scheme://host[:port]", origin)
	}
	t, err := url.Parse(target)
	if err != nil || t.Host == "" {
		return "", errors.New("simulator: the callback URL is not a valid absolute URL")
	}
	t.Scheme, t.Host, t.User = o.Scheme, o.Host, nil
	return t.String(), nil
}

// redactURLError drops the URL from a transport error: MSS_A puts the
// signature in it and NONE puts the tenant's credentials there.
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
