package metastudio

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func effective(t *testing.T, body string) Settings {
	t.Helper()
	var uc UserConfig
	if err := json.Unmarshal([]byte(body), &uc); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return uc.Effective()
}

func TestEffectiveDefaults(t *testing.T) {
	defaults := Settings{AutoStopMode: "FORCE_EXIT", MaxExceptionWaitingMinutes: 3, CallbackAuthType: "NONE"}
	cases := []struct {
		name, body string
		want       Settings
	}{
		{"absent objects", `{}`, defaults},
		{"null objects", `{"live_exit_config":null,"live_event_callback_config":null,"live_notify_config":null}`, defaults},
		{"empty objects", `{"live_exit_config":{},"live_event_callback_config":{},"live_notify_config":{}}`, defaults},
		{"explicit zeros mean unlimited", `{"live_exit_config":{"max_live_duration":0,"max_exception_waiting_duration":0}}`,
			Settings{AutoStopMode: "FORCE_EXIT", CallbackAuthType: "NONE"}},
		{"empty enums fall back", `{"live_exit_config":{"auto_stop_mode":""},"live_event_callback_config":{"auth_type":""}}`, defaults},
		{"unknown enums kept", `{"live_exit_config":{"auto_stop_mode":"LATER_END"},"live_event_callback_config":{"auth_type":"OAUTH9"}}`,
			Settings{AutoStopMode: "LATER_END", MaxExceptionWaitingMinutes: 3, CallbackAuthType: "OAUTH9"}},
		{"events sorted and deduplicated",
			`{"live_event_callback_config":{"callback_event_type":["SHOOT_SCRIPT_SWITCH","NEW_ONE","SHOOT_SCRIPT_SWITCH","REPLY_COMMAND_FINISH"]},` +
				`"live_notify_config":{"notify_events":["ZZZ","AUTO_EXIT","AUTO_EXIT"]}}`,
			Settings{AutoStopMode: "FORCE_EXIT", MaxExceptionWaitingMinutes: 3, CallbackAuthType: "NONE",
				CallbackEvents: []string{"NEW_ONE", "REPLY_COMMAND_FINISH", "SHOOT_SCRIPT_SWITCH"},
				NotifyEvents:   []string{"AUTO_EXIT", "ZZZ"}}},
		{"empty event lists are nil", `{"live_event_callback_config":{"callback_event_type":[]},"live_notify_config":{"notify_events":[]}}`, defaults},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := effective(t, tc.body)
			got.Hash = 0
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEffectiveCallbackURL(t *testing.T) {
	for url, want := range map[string][2]bool{ // configured, https
		"":                           {false, false},
		"https://hooks.example.com/": {true, true},
		"HTTPS://hooks.example.com":  {true, true},
		" https://hooks.example.com": {true, true},
		"http://hooks.example.com/":  {true, false},
		"https://":                   {true, false},
		"hooks.example.com/path":     {true, false},
		"https://[::1":               {true, false},
	} {
		s := effective(t, fmt.Sprintf(`{"live_event_callback_config":{"live_event_type_callback_url":%q,"key":"k"}}`, url))
		if s.CallbackConfigured != want[0] || s.CallbackHTTPS != want[1] || !s.CallbackKeyConfigured {
			t.Errorf("%q: configured %v https %v key %v; want %v %v true", url, s.CallbackConfigured, s.CallbackHTTPS, s.CallbackKeyConfigured, want[0], want[1])
		}
	}
}

const hashBase = `{"live_exit_config":{"max_live_duration":24,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":10},` +
	`"live_event_callback_config":{"live_event_type_callback_url":"https://h.example.com/cb?token=a","auth_type":"MSS_A","key":"k1",` +
	`"callback_event_type":["SHOOT_SCRIPT_SWITCH","RTMP_STREAM_STATE_CHANGE"]},"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`

// goldenHash is hashBase's hash as first released; it pins the algorithm.
const goldenHash = 0xf6420c0360e91

func TestHashStable(t *testing.T) {
	a := effective(t, hashBase)
	reordered := `{"live_notify_config":{"notify_events":["AUTO_EXIT","AUTO_EXIT"]},` +
		`"live_event_callback_config":{"callback_event_type":["RTMP_STREAM_STATE_CHANGE","SHOOT_SCRIPT_SWITCH"],"key":"k1","auth_type":"MSS_A",` +
		`"live_event_type_callback_url":"https://h.example.com/cb?token=a","extra":1},` +
		`"live_exit_config":{"max_exception_waiting_duration":10,"auto_stop_mode":"SEGMENT_END","max_live_duration":24}}`
	if b := effective(t, reordered); a.Hash != b.Hash {
		t.Errorf("same settings, different hashes: %d, %d", a.Hash, b.Hash)
	}
	// Golden values: a change here changes every tenant's hash series on
	// upgrade, which dashboards would show as a config change.
	if a.Hash != goldenHash {
		t.Errorf("hash = %#x, want %#x", a.Hash, goldenHash)
	}
	if got := effective(t, `{}`).Hash; got != effective(t, `{"live_exit_config":{"max_exception_waiting_duration":3}}`).Hash {
		t.Error("absent and default-valued fields hash differently")
	}
}

func TestHashSensitivity(t *testing.T) {
	base := effective(t, hashBase)
	replace := func(old, new string) string {
		if !strings.Contains(hashBase, old) {
			t.Fatalf("%q not in base", old)
		}
		return strings.Replace(hashBase, old, new, 1)
	}
	seen := map[uint64]string{base.Hash: "base"}
	for name, body := range map[string]string{
		"max_live_duration":   replace(`"max_live_duration":24`, `"max_live_duration":25`),
		"auto_stop_mode":      replace(`"SEGMENT_END"`, `"SCENE_END"`),
		"exception waiting":   replace(`"max_exception_waiting_duration":10`, `"max_exception_waiting_duration":11`),
		"callback url query":  replace(`token=a`, `token=b`),
		"callback url scheme": replace(`https://h.`, `http://h.`),
		"auth_type":           replace(`"MSS_A"`, `"MSS_A_HEAD"`),
		"key presence":        replace(`"key":"k1",`, ``),
		"callback event":      replace(`"SHOOT_SCRIPT_SWITCH",`, ``),
		"notify event":        replace(`["AUTO_EXIT"]`, `[]`),
		"event moved":         replace(`"live_notify_config":{"notify_events":["AUTO_EXIT"]}`, `"live_notify_config":{"notify_events":["RTMP_STREAM_STATE_CHANGE"]}`),
	} {
		h := effective(t, body).Hash
		if prev, dup := seen[h]; dup {
			t.Errorf("%s: hash %d equals that of %s", name, h, prev)
		}
		seen[h] = name
		if h >= 1<<53 {
			t.Errorf("%s: hash %d not below 2^53", name, h)
		}
	}
	if h := effective(t, replace(`"key":"k1"`, `"key":"another-key"`)).Hash; h != base.Hash {
		t.Error("the key's value changed the hash; only its presence may")
	}
}

func TestHashBelow2To53(t *testing.T) {
	for i := range 2000 {
		s := effective(t, fmt.Sprintf(`{"live_exit_config":{"max_live_duration":%d}}`, i))
		if s.Hash >= 1<<53 {
			t.Fatalf("max_live_duration %d: hash %d", i, s.Hash)
		}
		if uint64(float64(s.Hash)) != s.Hash {
			t.Fatalf("hash %d does not survive a float64", s.Hash)
		}
	}
}
