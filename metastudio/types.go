package metastudio

import "github.com/metastudio-exporter/metastudio_exporter/secret"

// Known enum values of the user-config API. Values outside these sets are
// tolerated everywhere: the cloud adds enum values without notice.
const (
	AutoStopForceExit  = "FORCE_EXIT"
	AutoStopSegmentEnd = "SEGMENT_END"
	AutoStopSceneEnd   = "SCENE_END"
	AutoStopScriptEnd  = "SCRIPT_END"

	AuthNone           = "NONE"
	AuthMSSA           = "MSS_A"
	AuthMSSAHead       = "MSS_A_HEAD"
	AuthMeituanDefault = "MEITUAN_DEFAULT"

	EventShootScriptSwitch     = "SHOOT_SCRIPT_SWITCH"
	EventRTMPStreamStateChange = "RTMP_STREAM_STATE_CHANGE"
	EventReplyCommandFinish    = "REPLY_COMMAND_FINISH"

	NotifyAutoExit = "AUTO_EXIT"
)

// KnownCallbackEvents lists the callback event types that always get a series.
var KnownCallbackEvents = []string{EventShootScriptSwitch, EventRTMPStreamStateChange, EventReplyCommandFinish}

// KnownNotifyEvents lists the notify events that always get a series.
var KnownNotifyEvents = []string{NotifyAutoExit}

// API defaults for absent fields, as documented for ShowSmartLiveUserConfig.
const (
	DefaultAutoStopMode               = AutoStopForceExit
	DefaultAuthType                   = AuthNone
	DefaultMaxExceptionWaitingMinutes = 3
)

// UserConfig is the 200 body of GET /v1/{project_id}/smart-live-configs/user-config.
// Every object and field may be absent; pointers tell absent from zero.
type UserConfig struct {
	LiveExitConfig          *LiveExitConfig          `json:"live_exit_config"`
	LiveEventCallbackConfig *LiveEventCallbackConfig `json:"live_event_callback_config"`
	LiveNotifyConfig        *LiveNotifyConfig        `json:"live_notify_config"`
}

// LiveExitConfig says when a livestream stops on its own.
type LiveExitConfig struct {
	MaxLiveDuration             *int    `json:"max_live_duration"`              // hours, 0 = no limit
	AutoStopMode                *string `json:"auto_stop_mode"`                 // absent = FORCE_EXIT
	MaxExceptionWaitingDuration *int    `json:"max_exception_waiting_duration"` // minutes, 0 = no limit, absent = 3
}

// LiveEventCallbackConfig is where and how MetaStudio posts live events.
// The URL may carry credentials in its query and the key signs callbacks:
// both are secret.Strings so that neither can be printed by accident.
type LiveEventCallbackConfig struct {
	LiveEventTypeCallbackURL secret.String `json:"live_event_type_callback_url"`
	AuthType                 *string       `json:"auth_type"`
	Key                      secret.String `json:"key"`
	CallbackEventType        []string      `json:"callback_event_type"`
}

// LiveNotifyConfig lists the events MetaStudio notifies the tenant of.
type LiveNotifyConfig struct {
	NotifyEvents []string `json:"notify_events"`
}
