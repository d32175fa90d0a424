package tenants

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// servedView is what a snapshot serves of discovered tenants, with whose
// secret and which version of their entry: one line per tenant.
func servedView(snap *Snapshot) string {
	var lines []string
	for _, tn := range snap.discovered {
		lines = append(lines, fmt.Sprintf("%s=%s@%s %s refresh=%s", tn.Name, tn.ProjectID, tn.Endpoint,
			tn.Credentials.SecretKey.Reveal(), tn.Source.RefreshInterval))
	}
	return strings.Join(lines, "\n")
}

// waitFor waits until ok, which a listing landing makes true.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestChangedEntryServesItsPreviousList: a reload that changes an entry
// while its new version cannot list (IAM down, or a secret that IAM
// refuses) serves the projects of its previous version, with the settings
// and credentials they were listed with, and stays ready and
// authoritative for them; once the new version lists, its list replaces
// the old in one step. No subscriber (the receiver's Retain) is ever handed
// a set without them, or a set that mixes the two lists.
func TestChangedEntryServesItsPreviousList(t *testing.T) {
	const rotated = "disc-SECRET-rotated-sk"
	for _, tc := range []struct {
		name          string
		before, after string // the entry's own keys
		secret        string // main's secret key in the changed file; "" = unchanged
		want          []string
	}{
		{name: "refresh interval during an IAM outage", before: "refresh_interval: 30s, ", after: "refresh_interval: 31s, ",
			want: []string{north4, shop1, shop2}},
		{name: "filters during an IAM outage", after: "name_prefix: n-, ",
			want: []string{"n-" + north4, "n-" + shop1, "n-" + shop2}},
		{name: "a rotated secret that IAM refuses", secret: rotated, want: []string{north4, shop1, shop2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			static := "  - {name: static, project_id: p1, credentials: main}\n"
			path := f.write(t, static, f.entry("main", tc.before))
			original := mustRead(t, path)
			s := f.set(t, Options{})
			wantDiscovered(t, s, north4, shop1, shop2)
			old := servedView(s.Snapshot())
			if !strings.Contains(old, " "+skMain+" ") {
				t.Fatalf("served before the reload:\n%s", old)
			}

			// Every set handed to a subscriber from here on serves the old
			// list or the new one, whole, and says it is authoritative.
			var mu sync.Mutex
			var views []string
			s.Subscribe(func(_, snap *Snapshot) {
				names, ok := snap.Authoritative()
				view := servedView(snap)
				mu.Lock()
				defer mu.Unlock()
				if !ok || !snap.Ready() {
					t.Errorf("a set that is not ready or not authoritative was handed on:\n%s", view)
				}
				for _, tn := range snap.discovered {
					if !slices.Contains(names, tn.Name) {
						t.Errorf("Authoritative() lacks served tenant %s: %q", tn.Name, names)
					}
				}
				if len(views) == 0 || views[len(views)-1] != view {
					views = append(views, view)
				}
			})

			if tc.secret == "" {
				f.sim.SetProjectsFault(simulator.Fault{Status: 503})
			}
			changed := strings.Replace(original, f.entry("main", tc.before), f.entry("main", tc.after), 1)
			if tc.secret != "" {
				changed = strings.Replace(changed, "secret_key: "+skMain, "secret_key: "+tc.secret, 1)
			}
			writeFile(t, path, changed)
			f.clock.Set(t0.Add(time.Hour))
			if err := s.Reload(); err != nil {
				t.Fatal(err)
			}
			waitListings(t, s, 1) // the new version's listing failed
			if st := s.Entries()[0]; st.LastError == "" {
				t.Fatalf("the new version's listing did not fail: %+v", st)
			}
			snap := s.Snapshot()
			if got := servedView(snap); got != old {
				t.Fatalf("served while the changed entry cannot list:\n%s\nwant what it served before:\n%s", got, old)
			}
			if !snap.Ready() {
				t.Fatal("not ready while the changed entry serves its previous list")
			}
			if names, ok := snap.Authoritative(); !ok || !slices.Equal(names, []string{"static", "cn-north-4", "cn-north-4_shop1", "cn-north-4_shop2"}) {
				t.Fatalf("Authoritative() = %q, %v", names, ok)
			}
			if st, _ := snap.Tenant("static"); st.Credentials.SecretKey.Reveal() != cmp.Or(tc.secret, skMain) {
				t.Fatal("the file's own tenant does not follow the file")
			}
			// The previous list's age and size, and the failure.
			wantMetrics(t, s, sourceMetrics{source: "0", errors: 1, lastSuccess: "1.7643168e+09", tenantsServed: 3})
			if st := s.Entries()[0]; !st.Previous || !st.LastSuccess.Equal(t0) || st.Listed != 8 || st.Served != 3 {
				t.Fatalf("status = %+v", st)
			}
			logs := f.logs.String()
			for _, want := range []string{
				`level=info msg="Discovery entry changed: serving the projects its previous version listed until it lists" source=0 credentials=main kept_tenants=3`,
				`level=warn msg="Listing projects failed; retrying, and keeping the last list meanwhile" source=0 credentials=main`,
			} {
				if !strings.Contains(logs, want) {
					t.Fatalf("the log lacks %s:\n%s", want, logs)
				}
			}

			// Back: the outage ends, or the secret is fixed.
			if tc.secret == "" {
				f.sim.SetProjectsFault(simulator.Fault{})
				listAll(s)
			} else {
				writeFile(t, path, original)
				if err := s.Reload(); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the fixed entry's listing", func() bool { return !s.Entries()[0].Previous })
			}
			wantDiscovered(t, s, tc.want...)
			wantOwnCredentials(t, s, map[string]string{idDefault: akMain, idShop1: akMain, idShop2: akMain})
			if got := servedView(s.Snapshot()); !strings.Contains(got, " "+skMain+" ") || strings.Contains(got, rotated) {
				t.Fatalf("served once the entry listed:\n%s", got)
			}
			if strings.Contains(f.logs.String(), "SECRET") {
				t.Fatalf("a secret in the log:\n%s", f.logs)
			}
			// One step from the old list to the new: no set in between.
			want := []string{old}
			if now := servedView(s.Snapshot()); now != old {
				want = append(want, now)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(views, want) {
				t.Fatalf("the subscriber saw:\n%s\nwant:\n%s", strings.Join(views, "\n--\n"), strings.Join(want, "\n--\n"))
			}
		})
	}
}
