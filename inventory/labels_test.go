package inventory

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// labelledTenants are shop, with team and env, and studio, with team alone,
// as the config resolves them.
func labelledTenants(t *testing.T) (shop, studio *config.Tenant) {
	t.Helper()
	cfg, err := config.Parse([]byte(`credentials:
  main: {access_key: AK, secret_key: SK-not-shown}
tenants:
  - {name: shop, project_id: p-shop, credentials: main, labels: {team: shop, env: prod}}
  - {name: studio, project_id: p-studio, credentials: main, labels: {team: studio}}
`), "labels.yml", t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	shop, _ = cfg.Tenant("shop")
	studio, _ = cfg.Tenant("studio")
	return shop, studio
}

// TestSeriesCarryTenantLabels: every room and job series carries its
// tenant's fixed labels after its own, under the names served: the union
// of a tenant set's, "" where a tenant lacks one, or a probed tenant's own.
// The Descs a collector describes are those its series use.
func TestSeriesCarryTenantLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		for _, id := range []string{"p-shop", "p-studio"} {
			p := api.project(id)
			p.rooms = rooms("r-1")
			p.details["r-1"] = &metastudio.RoomDetail{RepeatCount: intp(metastudio.RepeatUntilStopped)}
			p.active = []metastudio.LiveJob{processing("r-1", "j-1")}
		}
		inv, _ := newTestInventory(t, api)
		shop, studio := labelledTenants(t)
		promtext.Gather(t, inv.Collector(Kinds{Rooms: true, Jobs: true}, []string{"env", "team"}, shop, studio)) // starts their watches
		synctest.Wait()

		names := []string{"metastudio_room_info", "metastudio_room_play_repeats", "metastudio_live_jobs_up", "metastudio_live_job_info"}
		if err := testutil.CollectAndCompare(inv.Collector(Kinds{Rooms: true, Jobs: true}, []string{"env", "team"}, shop, studio), strings.NewReader(`# HELP metastudio_live_job_info One series per WAITING or PROCESSING live job; always 1.
# TYPE metastudio_live_job_info gauge
metastudio_live_job_info{env="",job_id="j-1",room_id="r-1",state="PROCESSING",team="studio",tenant="studio",used_resource_type="PERIOD"} 1
metastudio_live_job_info{env="prod",job_id="j-1",room_id="r-1",state="PROCESSING",team="shop",tenant="shop",used_resource_type="PERIOD"} 1
# HELP metastudio_live_jobs_up 1 if the last live jobs refresh of this tenant (both listings) succeeded.
# TYPE metastudio_live_jobs_up gauge
metastudio_live_jobs_up{env="",team="studio",tenant="studio"} 1
metastudio_live_jobs_up{env="prod",team="shop",tenant="shop"} 1
# HELP metastudio_room_info One series per room; always 1.
# TYPE metastudio_room_info gauge
metastudio_room_info{env="",room_id="r-1",room_name="room r-1",room_state="ENABLE",room_type="NORMAL",team="studio",tenant="studio"} 1
metastudio_room_info{env="prod",room_id="r-1",room_name="room r-1",room_state="ENABLE",room_type="NORMAL",team="shop",tenant="shop"} 1
# HELP metastudio_room_play_repeats The room's play_policy.repeat_count; -1 means it repeats until stopped. Absent when the room sets none.
# TYPE metastudio_room_play_repeats gauge
metastudio_room_play_repeats{env="",room_id="r-1",team="studio",tenant="studio"} -1
metastudio_room_play_repeats{env="prod",room_id="r-1",team="shop",tenant="shop"} -1
`), names...); err != nil {
			t.Error(err)
		}
		if err := testutil.CollectAndCompare(inv.Collector(Kinds{Jobs: true}, studio.Labels.Names(), studio), strings.NewReader(`# HELP metastudio_live_jobs_up 1 if the last live jobs refresh of this tenant (both listings) succeeded.
# TYPE metastudio_live_jobs_up gauge
metastudio_live_jobs_up{team="studio",tenant="studio"} 1
`), "metastudio_live_jobs_up"); err != nil {
			t.Error(err)
		}
		// A union that leaves out one of a tenant's labels fails the
		// gathering, naming the tenant, rather than serving its series
		// without the label.
		err := testutil.CollectAndCompare(inv.Collector(Kinds{Jobs: true}, []string{"team"}, shop), strings.NewReader(""), "metastudio_live_jobs_up")
		if want := `tenant "shop": its labels ["env" "team"] are not all among the label names served, ["team"]`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a union without env: %v, want an error with %s", err, want)
		}
		exposition, err := testutil.CollectAndFormat(inv.Collector(Kinds{Rooms: true, Jobs: true}, []string{"env", "team"}, shop, studio), expfmt.TypeTextPlain)
		if err != nil {
			t.Fatal(err)
		}
		checkMetrics(t, string(exposition))

		// Gatherer, which /metrics and /probe serve them through, serves
		// what a registry of Collector serves, and refuses the same series.
		for _, names := range [][]string{{"env", "team"}, {"team"}} {
			reg := prometheus.NewRegistry()
			reg.MustRegister(inv.Collector(Kinds{Rooms: true, Jobs: true}, names, shop, studio))
			want, wantErr := reg.Gather()
			got, gotErr := inv.Gatherer(Kinds{Rooms: true, Jobs: true}, names, shop, studio).Gather()
			if text(t, got) != text(t, want) {
				t.Errorf("labels %q: Gatherer served\n%s\na registry\n%s", names, text(t, got), text(t, want))
			}
			if errs := multi(gotErr); len(errs) != len(multi(wantErr)) {
				t.Errorf("labels %q: %d errors, a registry %d:\n%v\n%v", names, len(errs), len(multi(wantErr)), gotErr, wantErr)
			}
		}
		_, err = inv.Gatherer(Kinds{Jobs: true}, []string{"team"}, shop).Gather()
		if want := `tenant "shop": its labels ["env" "team"] are not all among the label names served, ["team"]`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Gatherer, a union without env: %v, want an error with %s", err, want)
		}
	})
}
