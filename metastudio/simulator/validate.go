package simulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The simulator keeps its own copy of the user-config shape rather than the
// client's types: it is the cloud's view, and a mistake in the client's
// types must not be mirrored here.

type userConfig struct {
	LiveExitConfig          *liveExitConfig          `json:"live_exit_config,omitempty"`
	LiveEventCallbackConfig *liveEventCallbackConfig `json:"live_event_callback_config,omitempty"`
	LiveNotifyConfig        *liveNotifyConfig        `json:"live_notify_config,omitempty"`
}

type liveExitConfig struct {
	MaxLiveDuration             *int    `json:"max_live_duration,omitempty"`
	AutoStopMode                *string `json:"auto_stop_mode,omitempty"`
	MaxExceptionWaitingDuration *int    `json:"max_exception_waiting_duration,omitempty"`
}

type liveEventCallbackConfig struct {
	LiveEventTypeCallbackURL *string  `json:"live_event_type_callback_url,omitempty"`
	AuthType                 *string  `json:"auth_type,omitempty"`
	Key                      *string  `json:"key,omitempty"`
	CallbackEventType        []string `json:"callback_event_type,omitempty"`
}

type liveNotifyConfig struct {
	NotifyEvents []string `json:"notify_events,omitempty"`
}

var (
	autoStopModes  = []string{"FORCE_EXIT", "SEGMENT_END", "SCENE_END", "SCRIPT_END"}
	authTypes      = []string{"NONE", "MSS_A", "MSS_A_HEAD", "MEITUAN_DEFAULT"}
	callbackEvents = []string{"SHOOT_SCRIPT_SWITCH", "RTMP_STREAM_STATE_CHANGE", "REPLY_COMMAND_FINISH"}
	notifyEvents   = []string{"AUTO_EXIT"}
)

const (
	maxLiveHours       = 168
	maxWaitingMinutes  = 60
	maxCallbackURLLen  = 2048
	maxCallbackKeyLen  = 32
	fieldExit          = "live_exit_config."
	fieldCallback      = "live_event_callback_config."
	fieldNotify        = "live_notify_config."
	msgNotOneOf        = " is not one of "
	msgMustBeBetween   = " must be between "
	msgMustBeAtMost    = " must be at most "
	msgCharactersLimit = " characters"
)

// validateUserConfig checks a PUT body like the cloud and returns what it
// stores: the known fields only, re-encoded. Messages name the field and
// never echo a value, since the URL and key are secrets.
func validateUserConfig(body []byte) ([]byte, *apiError) {
	var c userConfig
	if err := json.Unmarshal(body, &c); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return nil, badParameter(te.Field + " has the wrong type")
		}
		return nil, badParameter("request body is not a valid JSON object")
	}
	if e := c.LiveExitConfig; e != nil {
		if err := checkRange(fieldExit+"max_live_duration", e.MaxLiveDuration, maxLiveHours); err != nil {
			return nil, err
		}
		if e.AutoStopMode != nil && !slices.Contains(autoStopModes, *e.AutoStopMode) {
			return nil, badParameter(fieldExit + "auto_stop_mode" + msgNotOneOf + joinEnum(autoStopModes))
		}
		if err := checkRange(fieldExit+"max_exception_waiting_duration", e.MaxExceptionWaitingDuration, maxWaitingMinutes); err != nil {
			return nil, err
		}
	}
	if cb := c.LiveEventCallbackConfig; cb != nil {
		if cb.LiveEventTypeCallbackURL != nil && len(*cb.LiveEventTypeCallbackURL) > maxCallbackURLLen {
			return nil, badParameter(fieldCallback + "live_event_type_callback_url" + msgMustBeAtMost + strconv.Itoa(maxCallbackURLLen) + msgCharactersLimit)
		}
		if cb.AuthType != nil && !slices.Contains(authTypes, *cb.AuthType) {
			return nil, badParameter(fieldCallback + "auth_type" + msgNotOneOf + joinEnum(authTypes))
		}
		if cb.Key != nil && len(*cb.Key) > maxCallbackKeyLen {
			return nil, badParameter(fieldCallback + "key" + msgMustBeAtMost + strconv.Itoa(maxCallbackKeyLen) + msgCharactersLimit)
		}
		for _, ev := range cb.CallbackEventType {
			if !slices.Contains(callbackEvents, ev) {
				return nil, badParameter(fieldCallback + "callback_event_type" + msgNotOneOf + joinEnum(callbackEvents))
			}
		}
	}
	if n := c.LiveNotifyConfig; n != nil {
		for _, ev := range n.NotifyEvents {
			if !slices.Contains(notifyEvents, ev) {
				return nil, badParameter(fieldNotify + "notify_events" + msgNotOneOf + joinEnum(notifyEvents))
			}
		}
	}
	stored, err := json.Marshal(c)
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: "Internal error"}
	}
	return stored, nil
}

func checkRange(field string, v *int, maxValue int) *apiError {
	if v != nil && (*v < 0 || *v > maxValue) {
		return badParameter(field + msgMustBeBetween + "0 and " + strconv.Itoa(maxValue))
	}
	return nil
}

func joinEnum(vals []string) string { return strings.Join(vals, "|") }
