package simulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventBody(t *testing.T) {
	for _, tc := range []struct {
		ev   LiveEvent
		want string
	}{
		{
			ShootScriptSwitch{RoomID: "r1", JobID: "j1", SceneScriptName: "opening", ShootScriptSequenceNo: 3, ShootScriptTitle: "Price & offer"},
			`{"event_type":"SHOOT_SCRIPT_SWITCH","message":"{\"room_id\":\"r1\",\"job_id\":\"j1\",\"scene_script_name\":\"opening\",\"shoot_script_sequence_no\":3,\"shoot_script_title\":\"Price & offer\"}"}`,
		},
		{
			RTMPStreamStateChange{RoomID: "r1", JobID: "j1", OutputURL: "rtmp://push.example.com/live/x?auth=1&t=2", StreamKey: "sk", State: StreamReconnecting},
			`{"event_type":"RTMP_STREAM_STATE_CHANGE","message":"{\"room_id\":\"r1\",\"job_id\":\"j1\",\"output_url\":\"rtmp://push.example.com/live/x?auth=1&t=2\",\"stream_key\":\"sk\",\"state\":\"RECONNECTING\"}"}`,
		},
		{
			ReplyCommandFinish{RoomID: "r1", JobID: "j1", ReplyID: "rep-9"},
			`{"event_type":"REPLY_COMMAND_FINISH","message":"{\"room_id\":\"r1\",\"job_id\":\"j1\",\"reply_id\":\"rep-9\"}"}`,
		},
		{RawEvent{Type: "NEW_EVENT", Message: "not json"}, `{"event_type":"NEW_EVENT","message":"not json"}`},
	} {
		got, err := EventBody(tc.ev)
		if err != nil || string(got) != tc.want {
			t.Errorf("EventBody(%T) =\n %s, %v\nwant\n %s", tc.ev, got, err, tc.want)
		}
	}
}

// hmacHex is the formula written out once more, independently of HWSecret.
func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHWSecretKnownAnswer(t *testing.T) {
	// 2026-11-28T08:00:00Z is Unix 1795852800 = 0x6b0a8a00.
	if got := HWTime(t0); got != "6b0a8a00" {
		t.Fatalf("HWTime = %q, want 6b0a8a00", got)
	}
	const u = "https://mon.example.com:10037/callback/shop-a"
	// printf %s 'https://mon.example.com:10037/callback/shop-a6b0a8a00' |
	//   openssl dgst -sha256 -hmac demo-callback-key
	const want = "3e53971004686385f6cef72fe989af53070e4bf6762afc946cd7ecf0de88abe7"
	if got := HWSecret("demo-callback-key", u, "6b0a8a00"); got != hmacHex("demo-callback-key", u+"6b0a8a00") || got != want {
		t.Fatalf("HWSecret = %s, want %s", got, want)
	}
}

// capture is a receiver that records the requests it gets.
type capture struct {
	mu   sync.Mutex
	reqs []captured
}

type captured struct {
	uri    string
	host   string
	header http.Header
	body   string
}

func newCapture(t *testing.T) (*capture, *httptest.Server) {
	c := &capture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: string(b)})
		c.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"result":"accepted"}`)
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *capture) last(t *testing.T) captured {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		t.Fatal("the receiver got no request")
	}
	return c.reqs[len(c.reqs)-1]
}

func TestSendSigns(t *testing.T) {
	c, srv := newCapture(t)
	ev := ReplyCommandFinish{RoomID: "r1", JobID: "j1", ReplyID: "rep-1"}
	wantBody, _ := EventBody(ev)
	s := &Sender{Client: srv.Client(), Now: func() time.Time { return t0 }}
	const key = "demo-callback-key"

	for _, tc := range []struct {
		name, auth, url string
		wantURI         string
		wantHeaders     map[string]string
	}{
		{
			name: "MSS_A", auth: AuthMSSA, url: srv.URL + "/callback/shop-a",
			wantURI: "/callback/shop-a?hwSecret=" + hmacHex(key, srv.URL+"/callback/shop-a6b0a8a00") + "&hwTime=6b0a8a00",
		},
		{
			// U keeps its own query, and the signature covers it.
			name: "MSS_A with a query", auth: AuthMSSA, url: srv.URL + "/callback/shop-a?source=ms&x=1",
			wantURI: "/callback/shop-a?source=ms&x=1&hwSecret=" + hmacHex(key, srv.URL+"/callback/shop-a?source=ms&x=16b0a8a00") + "&hwTime=6b0a8a00",
		},
		{
			name: "MSS_A_HEAD", auth: AuthMSSAHead, url: srv.URL + "/callback/shop-a?source=ms",
			wantURI:     "/callback/shop-a?source=ms",
			wantHeaders: map[string]string{"X-Hw-Mss-Secret": hmacHex(key, srv.URL+"/callback/shop-a?source=ms6b0a8a00"), "X-Hw-Mss-Time": "6b0a8a00"},
		},
		{name: "NONE", auth: AuthNone, url: srv.URL + "/callback/shop-a?access_token=t0k", wantURI: "/callback/shop-a?access_token=t0k"},
		{name: "no auth type", auth: "", url: srv.URL + "/cb", wantURI: "/cb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.Send(context.Background(), Callback{URL: tc.url, AuthType: tc.auth, Key: key}, ev)
			if err != nil || d.Status != http.StatusAccepted || d.Body != `{"result":"accepted"}` {
				t.Fatalf("Send = %+v, %v", d, err)
			}
			got := c.last(t)
			if got.uri != tc.wantURI {
				t.Errorf("request URI\n got %s\nwant %s", got.uri, tc.wantURI)
			}
			if got.body != string(wantBody) || got.header.Get("Content-Type") != "application/json" {
				t.Errorf("body %s, content type %q", got.body, got.header.Get("Content-Type"))
			}
			for _, h := range []string{"X-Hw-Mss-Secret", "X-Hw-Mss-Time"} {
				if got.header.Get(h) != tc.wantHeaders[h] {
					t.Errorf("header %s = %q, want %q", h, got.header.Get(h), tc.wantHeaders[h])
				}
			}
		})
	}
}

func TestSendOrigin(t *testing.T) {
	// The configured URL is public and https; the request reaches the
	// receiver behind it, and the signature covers the public URL.
	c, srv := newCapture(t)
	s := &Sender{Client: srv.Client(), Now: func() time.Time { return t0 }, Origin: srv.URL}
	const public = "https://mon.example.com:10037/callback/shop-a?src=ms"
	_, err := s.Send(context.Background(), Callback{URL: public, AuthType: AuthMSSA, Key: "k"}, ReplyCommandFinish{RoomID: "r", JobID: "j", ReplyID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.last(t)
	want := "/callback/shop-a?src=ms&hwSecret=" + hmacHex("k", public+"6b0a8a00") + "&hwTime=6b0a8a00"
	if got.uri != want || got.host != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("got %s on %s, want %s on the receiver", got.uri, got.host, want)
	}
}

func TestSendErrors(t *testing.T) {
	s := &Sender{}
	ev := ReplyCommandFinish{RoomID: "r", JobID: "j", ReplyID: "x"}
	for _, tc := range []struct {
		cb   Callback
		want string
	}{
		{Callback{URL: "https://h/cb", AuthType: AuthMSSA}, "simulator: auth type MSS_A needs a key"},
		{Callback{URL: "https://h/cb", AuthType: AuthMSSAHead}, "simulator: auth type MSS_A_HEAD needs a key"},
		{Callback{URL: "https://h/cb", AuthType: "MEITUAN_DEFAULT", Key: "k"}, `simulator: cannot sign for auth type "MEITUAN_DEFAULT"`},
		{Callback{URL: "::not a url?token=s3cret", AuthType: AuthNone}, "simulator: the callback URL is not a valid absolute URL"},
	} {
		if _, err := s.Send(context.Background(), tc.cb, ev); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %q", tc.cb, err, tc.want)
		}
	}
	if _, err := (&Sender{Origin: "127.0.0.1:1"}).Send(context.Background(), Callback{URL: "https://h/cb"}, ev); err == nil ||
		err.Error() != `simulator: origin "127.0.0.1:1" is not scheme://host[:port]` {
		t.Errorf("bad origin: %v", err)
	}

	// A transport error names neither the URL's credentials nor the
	// signature.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = s.Send(context.Background(), Callback{URL: "http://" + addr + "/cb?token=s3cret-token", AuthType: AuthMSSA, Key: "k"}, ev)
	if err == nil || strings.Contains(err.Error(), "s3cret-token") || strings.Contains(err.Error(), "hwSecret") ||
		!strings.HasPrefix(err.Error(), "simulator: sending a live event: Post: ") {
		t.Errorf("transport error %v: want one without the URL", err)
	}
}

func TestServerCallback(t *testing.T) {
	s := New(Options{})
	cfg := `{"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/a","auth_type":"MSS_A_HEAD","key":"k1",` +
		`"callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`
	for _, tn := range []Tenant{
		{ProjectID: "p-signed", Config: []byte(cfg)},
		{ProjectID: "p-default-auth", Config: []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"http://h/cb?t=1"}}`)},
		{ProjectID: "p-none"},
	} {
		if err := s.AddTenant(tn); err != nil {
			t.Fatal(err)
		}
	}
	cb, err := s.Callback("p-signed")
	if err != nil || cb.URL != "https://mon.example.com/callback/a" || cb.AuthType != AuthMSSAHead || cb.Key != "k1" ||
		!cb.Subscribes(EventRTMPStreamStateChange) || cb.Subscribes(EventShootScriptSwitch) {
		t.Errorf("Callback(p-signed) = %+v, %v", cb, err)
	}
	if cb, err := s.Callback("p-default-auth"); err != nil || cb.AuthType != AuthNone || cb.Key != "" || cb.URL != "http://h/cb?t=1" {
		t.Errorf("Callback(p-default-auth) = %+v, %v; absent auth_type is NONE", cb, err)
	}
	if _, err := s.Callback("p-none"); err == nil || err.Error() != `simulator: project "p-none" has no live event callback URL` {
		t.Errorf("Callback(p-none): %v", err)
	}
	if _, err := s.Callback("p-unknown"); err == nil || err.Error() != `simulator: unknown project "p-unknown"` {
		t.Errorf("Callback(p-unknown): %v", err)
	}
}
