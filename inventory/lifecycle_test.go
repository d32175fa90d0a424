package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// TestScrapeNeverWaitsForARefresh: with every call of the tenant hanging,
// scrapes are answered from memory at once (in a bubble, a scrape that
// waited would deadlock the test).
func TestScrapeNeverWaitsForARefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").hold = make(chan struct{})
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop")
		for range 3 {
			if got := serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop); got != "" {
				t.Fatalf("series before any refresh ended:\n%s", got)
			}
			synctest.Wait()
		}
		if n := len(api.callsOf("")); n != 2 {
			t.Errorf("%d calls in flight, want the rooms and the jobs listing", n)
		}
	})
}

// TestBackgroundBudget: ten tenants' refreshes never have more than the
// background limit of calls in flight, though the pool has slots to spare.
func TestBackgroundBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		var served []*config.Tenant
		hold := make(chan struct{})
		for i := range 10 {
			ten := testTenant(string(rune('a' + i)))
			p := api.project(ten.ProjectID)
			p.rooms, p.hold = rooms("r1"), hold
			p.details["r1"] = &metastudio.RoomDetail{Room: p.rooms[0]}
			served = append(served, ten)
		}
		inv := New(api, Options{Slots: callslots.New(32, 3)})
		defer inv.Close()
		serve(t, inv, Kinds{Rooms: true, Jobs: true}, served...)
		for done := 0; done < 40; done++ { // 10 × (rooms, r1, two jobs listings)
			synctest.Wait()
			api.mu.Lock()
			inFlight := api.inFlight
			api.mu.Unlock()
			if inFlight != 3 && done <= 40-3 {
				t.Fatalf("after %d calls: %d in flight, want the background limit, 3", done, inFlight)
			}
			hold <- struct{}{}
		}
		synctest.Wait()
		api.mu.Lock()
		peak := api.peak
		api.mu.Unlock()
		if peak != 3 {
			t.Errorf("at most %d calls in flight, want 3", peak)
		}
		if all, background := inv.slots.InUse(); all != 0 || background != 0 {
			t.Errorf("%d slots (%d background) still taken with every call done", all, background)
		}
	})
}

// TestRemovedTenantStopsAtOnce: a tenant that leaves the tenant set stops
// being watched and loses its series at once; a scrape that began before
// the change starts nothing for it.
func TestRemovedTenantStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").active = []metastudio.LiveJob{processing("r1", "j1")}
		api.project("p-other")
		inv, _ := newTestInventory(t, api)
		shop, other := testTenant("shop", jobsOnly), testTenant("other", jobsOnly)
		inv.Retain([]*config.Tenant{shop, other})
		serve(t, inv, Kinds{Jobs: true}, shop, other)
		synctest.Wait()
		calls := len(api.callsOf(""))

		inv.Retain([]*config.Tenant{other})
		if n := inv.watching(); n != 1 {
			t.Fatalf("%d tenants watched, want 1", n)
		}
		if got := serve(t, inv, Kinds{Jobs: true}, shop); got != "" {
			t.Errorf("a removed tenant is still served:\n%s", got)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		for _, c := range api.callsOf("")[calls:] {
			t.Errorf("%s for %s after its tenant left", c.op, c.project)
		}
		if n := inv.watching(); n != 1 {
			t.Errorf("%d tenants watched after a scrape of the removed one, want 1", n)
		}
	})
}

// TestChangedTenantStartsAfresh: a tenant whose name now stands for
// another project (its Key changed) is watched anew; the old project's
// results are never served for it.
func TestChangedTenantStartsAfresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").active = []metastudio.LiveJob{processing("r1", "old-job")}
		moved := api.project("p-shop-moved")
		moved.hold = make(chan struct{})
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop", jobsOnly)
		inv.Retain([]*config.Tenant{shop})
		serve(t, inv, Kinds{Jobs: true}, shop)
		synctest.Wait()

		target := shop.Target
		target.ProjectID = "p-shop-moved"
		shopMoved := config.NewTenant(config.Tenant{Target: target, Settings: shop.Settings})
		inv.Retain([]*config.Tenant{shopMoved})
		if got := serve(t, inv, Kinds{Jobs: true}, shopMoved); strings.Contains(got, "old-job") || got != "" {
			t.Errorf("the tenant with another project serves the old one's jobs:\n%s", got)
		}
		synctest.Wait()
		calls := api.callsOf(opListLiveJobs)
		if last := calls[len(calls)-1]; last.project != "p-shop-moved" {
			t.Errorf("the last listing is for %s, want p-shop-moved", last.project)
		}
		close(moved.hold)
	})
}

// TestChangedSettingsRestart: a reload that changes a tenant's settings
// restarts its watch with them.
func TestChangedSettingsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop")
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop", jobsOnly)
		inv.Retain([]*config.Tenant{shop})
		start := time.Now()
		serve(t, inv, Kinds{Jobs: true}, shop)
		time.Sleep(90 * time.Second)
		// The same tenant (the same Key) with another live_jobs: key.
		reloaded := testTenant("shop", jobsOnly, jobsEvery(5*time.Minute, 24*time.Hour))
		inv.Retain([]*config.Tenant{reloaded})
		serveEvery(t, inv, 5*time.Minute, 11*time.Minute, reloaded)
		got := offsets(api.callsOf(opListLiveJobs), start)
		want := []time.Duration{0, 0, time.Minute, time.Minute, 90 * time.Second, 90 * time.Second,
			6*time.Minute + 30*time.Second, 6*time.Minute + 30*time.Second, 11*time.Minute + 30*time.Second, 11*time.Minute + 30*time.Second}
		if !slices.Equal(got, want) {
			t.Errorf("listings at %v, want %v", got, want)
		}
	})
}

// TestCloseWaitsAndStartsNothing: Close ends the calls in flight and waits
// for every refresh; scrapes after it start nothing.
func TestCloseWaitsAndStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").hold = make(chan struct{})
		inv := New(api, Options{})
		shop := testTenant("shop")
		serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop)
		synctest.Wait()
		inv.Close() // returns only once the held calls saw their context end
		calls := len(api.callsOf(""))
		if got := serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop); got != "" || inv.watching() != 0 {
			t.Errorf("a scrape after Close served or started a watch:\n%s", got)
		}
		time.Sleep(time.Hour)
		if n := len(api.callsOf("")); n != calls {
			t.Errorf("%d calls after Close", n-calls)
		}
		inv.Close() // twice is fine
	})
}

// TestEachCallBoundedByTenantTimeout: a background call that hangs ends at
// the tenant's timeout, as a timeout failure.
func TestEachCallBoundedByTenantTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").hold = make(chan struct{})
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop", jobsOnly, func(s *config.Settings) { s.Timeout = 3 * time.Second })
		serve(t, inv, Kinds{Jobs: true}, shop)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		want := `# HELP metastudio_live_jobs_up 1 if the last live jobs refresh of this tenant (both listings) succeeded.
# TYPE metastudio_live_jobs_up gauge
metastudio_live_jobs_up{tenant="shop"} 0
`
		if err := testutil.CollectAndCompare(inv.Collector(Kinds{Jobs: true}, nil, shop), strings.NewReader(want), "metastudio_live_jobs_up"); err != nil {
			t.Error(err)
		}
	})
}

// A fake whose hold ends with the context must report a timeout the way
// the client does; this guards the fake itself.
func TestFakeHoldEndsWithContext(t *testing.T) {
	api := newFakeAPI()
	api.project("p-x").hold = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := api.ListRooms(ctx, testTenant("x").Target, 1)
	if metastudio.ReasonOf(err) != metastudio.ReasonTimeout {
		t.Errorf("held call with an ended context: %v", err)
	}
}

// TestFollowTenants: a reload that drops a tenant from the file stops its
// watch through the tenant set's subscription; the other keeps running.
func TestFollowTenants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "metastudio.yml")
		write := func(names ...string) {
			t.Helper()
			yml := "credentials:\n  main: {access_key: AK, secret_key: SK}\ndefaults: {credentials: main, rooms: {refresh_interval: 0s}}\ntenants:\n"
			for _, n := range names {
				yml += fmt.Sprintf("  - {name: %s, project_id: p-%s}\n", n, n)
			}
			if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("shop", "other")
		set := tenants.New(path, tenants.Options{})
		defer set.Close()
		if err := set.Reload(); err != nil {
			t.Fatal(err)
		}
		api := newFakeAPI()
		api.project("p-shop")
		api.project("p-other")
		inv, _ := newTestInventory(t, api)
		FollowTenants(set, inv)
		serve(t, inv, Kinds{Jobs: true}, set.Snapshot().Tenants()...)
		synctest.Wait()
		if n := inv.watching(); n != 2 {
			t.Fatalf("%d tenants watched, want 2", n)
		}

		write("other")
		if err := set.Reload(); err != nil {
			t.Fatal(err)
		}
		if n := inv.watching(); n != 1 {
			t.Fatalf("%d tenants watched after the reload, want 1", n)
		}
		calls := len(api.callsOf(""))
		serveEvery(t, inv, time.Minute, 5*time.Minute, set.Snapshot().Tenants()...)
		for _, c := range api.callsOf("")[calls:] {
			if c.project != "p-other" {
				t.Errorf("%s for %s after the reload dropped it", c.op, c.project)
			}
		}
	})
}
