package inventory

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestJobCallback: the callback a job runs with, key included, comes from
// the jobs as last listed, with no call; a refresh lists them once, into
// a listing of its own for a tenant no watch lists the jobs of, else into
// the watch's view, which a scrape then serves. A tenant that leaves the
// set takes its listing with it, and nothing is called after Close.
func TestJobCallback(t *testing.T) {
	const tenantURL, roomURL = "https://mon.example.com/callback/shop", "https://mon.example.com/callback/shop?room=own"
	u := startSim(t, []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"`+tenantURL+`","auth_type":"MSS_A","key":"tenant-SECRET-key"}}`), "shop")
	sim, t0 := u.sim.Server, u.t0
	u.must(t, sim.AddRoom("p-shop", simulator.Room{ID: "r-own",
		Callback: &simulator.Callback{URL: roomURL, AuthType: simulator.AuthMSSAHead, Key: "room-SECRET-key"}}))
	u.must(t, sim.AddRoom("p-shop", simulator.Room{ID: "r-plain"}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-own", RoomID: "r-own", StartTime: t0.Add(-time.Hour)}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-plain", RoomID: "r-plain", StartTime: t0.Add(-time.Hour)}))
	roomAuth := metastudio.CallbackAuth{AuthType: metastudio.AuthMSSAHead, Key: "room-SECRET-key", URL: roomURL}
	tenantAuth := metastudio.CallbackAuth{AuthType: metastudio.AuthMSSA, Key: "tenant-SECRET-key", URL: tenantURL}

	inv, _ := newSimInventory(t, u)
	// Jobs listed every hour: only the refreshes asked for list them
	// again within the test.
	shop := u.tenant("shop", jobsEvery(time.Hour, time.Hour), roomsEvery(time.Hour, 10))
	listings := func() int64 { return u.calls("shop", simulator.RouteLiveJobs) }
	lookup := func(job string, refresh bool, want *metastudio.CallbackAuth, wantCalls int64) {
		t.Helper()
		got, err := inv.JobCallback(t.Context(), shop, job, refresh)
		switch {
		case want == nil && !errors.Is(err, ErrJobNotListed):
			t.Errorf("%s (refresh %v): %+v, %v; want ErrJobNotListed", job, refresh, got, err)
		case want != nil && (err != nil || got == nil || *got != *want):
			t.Errorf("%s (refresh %v): %+v, %v; want %+v", job, refresh, got, err, *want)
		}
		if n := listings(); n != wantCalls {
			t.Errorf("after %s (refresh %v): %d listings, want %d", job, refresh, n, wantCalls)
		}
	}

	// Not watched: nothing is known until a refresh lists the jobs.
	lookup("j-own", false, nil, 0)
	lookup("j-own", true, &roomAuth, 1)
	lookup("j-plain", false, &tenantAuth, 1)
	lookup("j-nobody", false, nil, 1)
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-new", RoomID: "r-own", StartTime: t0}))
	lookup("j-new", false, nil, 1)
	lookup("j-new", true, &roomAuth, 2)
	if inv.watching() != 0 {
		t.Fatal("a lookup started a watch")
	}

	// Watched: a refresh updates what the scrapes serve.
	awaitServed(t, inv, []*config.Tenant{shop}, `metastudio_live_jobs_up{tenant="shop"} 1`)
	before := listings() // the watch's first refresh: two listings
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-later", RoomID: "r-own", StartTime: t0}))
	lookup("j-later", false, nil, before)
	lookup("j-later", true, &roomAuth, before+1)
	served := serve(t, inv, Kinds{Jobs: true}, shop)
	if !strings.Contains(served, `metastudio_live_job_info{job_id="j-later",room_id="r-own",state="PROCESSING",tenant="shop",used_resource_type=""} 1`) ||
		!strings.Contains(served, `metastudio_live_jobs{state="PROCESSING",tenant="shop"} 4`) {
		t.Errorf("the scrape after the refresh does not serve the job it found:\n%s", served)
	}
	if strings.Contains(served, "SECRET") {
		t.Errorf("the exposition holds a callback key:\n%s", served)
	}

	// A tenant that leaves the set takes what was listed for it along.
	inv.Retain([]*config.Tenant{})
	lookup("j-own", false, nil, before+1)
	inv.Retain([]*config.Tenant{shop})
	lookup("j-own", true, &roomAuth, before+2)
	inv.Close()
	if _, err := inv.JobCallback(t.Context(), shop, "j-own", true); err == nil || listings() != before+2 {
		t.Errorf("a refresh after Close: %v, %d listings, want an error and none", err, listings()-before-2)
	}
}
