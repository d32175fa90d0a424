package receiver

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestRecent keeps the last 100 callbacks newest first, with their time,
// tenant, event type and result, and never an unknown tenant's name.
func TestRecent(t *testing.T) {
	h := newHarness(t, Options{})
	if got := h.rc.Recent(); len(got) != 0 {
		t.Fatalf("recent before any callback: %+v", got)
	}
	for i := range 120 {
		h.clock.Advance(time.Second)
		h.postNone(switchBody("r", "j", i))
	}
	h.clock.Advance(time.Second)
	h.do(request{path: "/callback/secret-probe-name", body: "{}"})
	h.clock.Advance(time.Second)
	h.do(request{path: "/callback/mss", query: signedQuery("forged", mssURL, h.clock.Now()), body: rtmpBody("r", "j", "h", "END")})
	got := h.rc.Recent()
	if len(got) != 100 {
		t.Fatalf("%d records, want 100", len(got))
	}
	want := []CallbackRecord{
		{Time: t0.Add(122 * time.Second), Tenant: "mss", EventType: "", Result: "bad_signature"},
		{Time: t0.Add(121 * time.Second), Tenant: "", EventType: "", Result: "unknown_tenant"},
		{Time: t0.Add(120 * time.Second), Tenant: "none", EventType: "SHOOT_SCRIPT_SWITCH", Result: "accepted"},
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("record %d: %+v, want %+v", i, got[i], w)
		}
	}
	if last := got[99]; last.Time != t0.Add(23*time.Second) {
		t.Errorf("oldest kept record at %s, want the 23rd event's", last.Time)
	}
	assertNoSecret(t, "recent", fmt.Sprintf("%+v", got))
	for _, r := range got {
		if r.Tenant == "secret-probe-name" {
			t.Error("an unknown tenant's name was kept")
		}
	}

	if at := h.rc.LastEvent("none"); at != t0.Add(120*time.Second) {
		t.Errorf("LastEvent(none) = %s", at)
	}
	if at := h.rc.LastEvent("mss"); !at.IsZero() {
		t.Errorf("LastEvent(mss) = %s, want zero: nothing was accepted", at)
	}
	h.rc.Retain([]string{"mss"})
	// Requests of no tenant stay; the removed tenant's go.
	if rec := h.rc.Recent(); len(rec) != 2 || rec[0].Tenant != "mss" || rec[1].Tenant != "" || !h.rc.LastEvent("none").IsZero() {
		t.Errorf("after Retain: %d records (%+v), LastEvent(none) %s", len(rec), rec, h.rc.LastEvent("none"))
	}
}

// TestRecentRing checks the ring's wrap-around on its own.
func TestRecentRing(t *testing.T) {
	var r recentRing
	for i := range 250 {
		r.add(CallbackRecord{Tenant: strconv.Itoa(i)})
	}
	got := r.newestFirst()
	if len(got) != 100 || got[0].Tenant != "249" || got[99].Tenant != "150" {
		t.Errorf("%d records, %s..%s; want 100, 249..150", len(got), got[0].Tenant, got[99].Tenant)
	}
}

// TestCallbackRecordAccepted: the status page marks as taken exactly the
// results answered 200.
func TestCallbackRecordAccepted(t *testing.T) {
	for res, want := range map[result]bool{
		resultAccepted: true, resultDuplicate: true,
		resultBadSignature: false, resultUnknownTenant: false, resultForwardFailed: false, "no_such_result": false,
	} {
		if got := (CallbackRecord{Result: string(res)}).Accepted(); got != want {
			t.Errorf("CallbackRecord{Result: %q}.Accepted() = %v, want %v", res, got, want)
		}
	}
}
