package config

import (
	"testing"
	"time"
)

const mainCreds = "credentials:\n  main: {access_key: AK, secret_key: SK}\n"

// TestDotNames: "." and ".." would be rewritten as URL path segments
// (/callback/{tenant}), so they are no tenant names, written or
// discovered, and no prefix may stand for one.
func TestDotNames(t *testing.T) {
	data := mainCreds + "tenants:\n  - {name: ., project_id: p1}\n  - {name: .., project_id: p2}\n  - {name: ..., project_id: p3}\n" +
		"discovery:\n  - {credentials: main, regions: [cn-north-4], name_prefix: .}\n"
	want := "m.yml:4: tenants[0].name: must not be . or .., which a URL path would rewrite\n" +
		"m.yml:5: tenants[1].name: must not be . or .., which a URL path would rewrite\n" +
		"m.yml:8: discovery[0].name_prefix: must not be . or .., which a URL path would rewrite"
	if got := parseErr(t, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := CheckTenantName(".."); err == nil || err.Error() != `tenant name ".." must not be . or .., which a URL path would rewrite` {
		t.Errorf("CheckTenantName(..) = %v", err)
	}
	if err := CheckTenantName("..."); err != nil {
		t.Errorf("CheckTenantName(...) = %v", err)
	}
}

// TestSameProjectTwice: one project at one endpoint under two names would
// be scraped twice and have its callbacks go to either; at another
// endpoint (another region) it is another project.
func TestSameProjectTwice(t *testing.T) {
	data := mainCreds + "defaults: {credentials: main}\ntenants:\n" +
		"  - {name: shop-a, project_id: p1}\n" +
		"  - {name: shop-a-eu, project_id: p1, region: eu-west-101}\n" +
		"  - {name: shop-b, project_id: p2}\n" +
		"  - {name: shop-a-again, project_id: p1, endpoint: 'https://metastudio.cn-north-4.myhuaweicloud.com/'}\n"
	want := "m.yml:8: tenants[3].project_id: project p1 is also served by tenants[0] (shop-a) at the same endpoint"
	if got := parseErr(t, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDiscoveryNames: an entry's name is its source label; names are
// checked and unique, and an entry without one is labelled by its index.
func TestDiscoveryNames(t *testing.T) {
	data := mainCreds + "discovery:\n" +
		"  - {name: shops, credentials: main, regions: [cn-north-4]}\n" +
		"  - {credentials: main, regions: [cn-east-3]}\n"
	cfg, err := Parse([]byte(data), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"shops", "1"} {
		if got := cfg.Discovery()[i].Label(); got != want {
			t.Errorf("discovery[%d].Label() = %q, want %q", i, got, want)
		}
	}
	bad := mainCreds + "discovery:\n" +
		"  - {name: shops, credentials: main, regions: [cn-north-4]}\n" +
		"  - {name: shops, credentials: main, regions: [cn-east-3]}\n" +
		"  - {name: 'east shops', credentials: main, regions: [cn-east-3]}\n"
	want := "m.yml:5: discovery[1].name: duplicate name, also used by discovery[0]\n" +
		"m.yml:6: discovery[2].name: must match ^[a-zA-Z0-9_.-]+$"
	if got := parseErr(t, bad); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRoomsAndJobsBounds: 0 turns watching off; a positive interval below
// the minimum, or a window out of range, is an error naming the bound.
func TestRoomsAndJobsBounds(t *testing.T) {
	data := "tenants:\n" +
		"  - name: a\n    project_id: p1\n    rooms: {refresh_interval: 30s, max_rooms: 0}\n    live_jobs: {refresh_interval: 10s}\n" +
		"  - name: b\n    project_id: p2\n    rooms: {refresh_interval: 0s, max_rooms: many}\n    live_jobs: {refresh_interval: 0, failed_window: 8d}\n" +
		"defaults:\n  live_jobs: {failed_window: 0s}\n"
	want := "m.yml:4: tenants[0].rooms.refresh_interval: must be 0 (off) or at least 1m\n" +
		"m.yml:4: tenants[0].rooms.max_rooms: must be at least 1\n" +
		"m.yml:5: tenants[0].live_jobs.refresh_interval: must be 0 (off) or at least 15s\n" +
		"m.yml:8: tenants[1].rooms.max_rooms: must be a whole number\n" +
		"m.yml:9: tenants[1].live_jobs.failed_window: must be at most 7d\n" +
		"m.yml:11: defaults.live_jobs.failed_window: must be greater than 0"
	if got := parseErr(t, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	cfg, err := Parse([]byte("tenants:\n  - {name: b, project_id: p2, rooms: {refresh_interval: 0s}, live_jobs: {refresh_interval: 0}}\n"), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Tenants()[0]; b.Rooms.RefreshInterval != 0 || b.Rooms.MaxRooms != 500 || b.LiveJobs.RefreshInterval != 0 || b.LiveJobs.FailedWindow != 24*time.Hour {
		t.Errorf("rooms %+v, live jobs %+v", b.Rooms, b.LiveJobs)
	}
}
