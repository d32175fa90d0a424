package metastudio

import (
	"encoding/json"
	"testing"
)

func TestCallbackAuth(t *testing.T) {
	for _, tc := range []struct {
		body string
		want CallbackAuth
	}{
		{`{}`, CallbackAuth{AuthType: "NONE"}},
		{`{"live_event_callback_config":{"auth_type":""}}`, CallbackAuth{AuthType: "NONE"}},
		{`{"live_event_callback_config":{"live_event_type_callback_url":"https://h/cb?t=1","auth_type":"MSS_A","key":"k1"}}`,
			CallbackAuth{AuthType: "MSS_A", Key: "k1", URL: "https://h/cb?t=1"}},
		{`{"live_event_callback_config":{"auth_type":"FUTURE"}}`, CallbackAuth{AuthType: "FUTURE"}},
	} {
		var uc UserConfig
		if err := json.Unmarshal([]byte(tc.body), &uc); err != nil {
			t.Fatal(err)
		}
		if got := uc.CallbackAuth(); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

func TestCallbackRoute(t *testing.T) {
	for raw, want := range map[string]string{
		"https://mon.example.com:10037/callback/shop-a?token=s3cr3t": "https://mon.example.com:10037/callback/shop-a",
		"HTTPS://user:pw@MON.example.com/callback/shop-a#frag":       "https://mon.example.com/callback/shop-a",
		" https://mon.example.com/callback/Shop-A ":                  "https://mon.example.com/callback/Shop-A",
		"https://mon.example.com/callback/a%2Fb":                     "https://mon.example.com/callback/a%2Fb",
		"":                                                           "",
		"not a url":                                                  "",
		"://bad":                                                     "",
	} {
		if got := CallbackRoute(raw); got != want {
			t.Errorf("CallbackRoute(%q) = %q, want %q", raw, got, want)
		}
	}
}
