package tenants

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// wantOwnCredentials fails if a discovered tenant is served with anything
// but its own entry's credentials and endpoint: the entry it points at
// must be the one whose account sees the project, and the current file's
// entry of its label, or while that entry has not listed, the previous
// version whose list it serves.
func wantOwnCredentials(t *testing.T, s *Set, accountOf map[string]string) {
	t.Helper()
	snap := s.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tn := range snap.discovered {
		src := tn.Source
		e := s.entries[src.Index]
		switch l := e.serving(); {
		case e.label() != src.Label():
			t.Errorf("%s points at entry %s, which stands at %s's place", tn.Name, src.Label(), e.label())
		case l == e.own && src != &snap.File().Discovery()[src.Index]:
			t.Errorf("%s points at an entry that is not the current file's", tn.Name)
		case l == e.previous && src != l.src:
			t.Errorf("%s points at neither the current entry nor the previous version it serves", tn.Name)
		}
		if got, want := tn.Credentials.AccessKey+tn.Credentials.SecurityToken.Reveal(), accountOf[tn.ProjectID]; got != want {
			t.Errorf("%s (%s) served with AK %q, its account is %q", tn.Name, tn.ProjectID, got, want)
		}
		if tn.Endpoint != discovery.EndpointFor(src, tn.Region) {
			t.Errorf("%s served at %s, its entry says %s", tn.Name, tn.Endpoint, discovery.EndpointFor(src, tn.Region))
		}
	}
}

// TestReloadKeepsEntriesByWhatTheySay: across a reload an unchanged entry
// keeps its list and its schedule (no listing), wherever it moved to; a
// changed one lists again and serves its previous version's list
// meanwhile; a removed one's projects go at once; no project is ever
// served with another entry's credentials.
func TestReloadKeepsEntriesByWhatTheySay(t *testing.T) {
	f := newFixture(t)
	accountOf := map[string]string{
		idDefault: akMain, idShop1: akMain, idShop2: akMain,
		"00000000000000000000000000000d01": akTemp + stTemp, "00000000000000000000000000000d02": akTemp + stTemp,
		"00000000000000000000000000000c01": "",
	}
	path := f.write(t, "", f.entry("main", ""), f.entry("temp", "name_prefix: t-, "))
	s := f.set(t, Options{})
	tempTenants := []string{"t-cn-north-4_shop1=00000000000000000000000000000d01@cn-north-4", "t-cn-north-4_temp=00000000000000000000000000000d02@cn-north-4"}
	wantDiscovered(t, s, north4, shop1, shop2, tempTenants[0], tempTenants[1])
	wantOwnCredentials(t, s, accountOf)
	calls := f.sim.ProjectListCalls()

	// The same file: nothing lists, nothing changes.
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantDiscovered(t, s, north4, shop1, shop2, tempTenants[0], tempTenants[1])

	// Reordered: the lists move with their entries, and so do the labels.
	f.write(t, "", f.entry("temp", "name_prefix: t-, "), f.entry("main", ""))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantDiscovered(t, s, north4, shop1, shop2, tempTenants[0], tempTenants[1])
	wantOwnCredentials(t, s, accountOf)
	if !s.Snapshot().Ready() {
		t.Fatal("a reload that changed no entry made the set unready")
	}
	wantMetrics(t, s,
		sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 2},
		sourceMetrics{source: "1", lastSuccess: "1.7643168e+09", tenantsServed: 3})
	if n := f.sim.ProjectListCalls(); n != calls {
		t.Fatalf("%d listings after reloads that changed no entry", n-calls)
	}

	// Changed (no prefix now, so its shop1 clashes with main's): it lists
	// again, and until it has, it serves its previous version's list with
	// that version's credentials; the set stays ready, and authoritative
	// for them.
	f.sim.SetProjectsFault(simulator.Fault{Status: 500})
	f.write(t, "", f.entry("temp", ""), f.entry("main", ""))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	waitListings(t, s, 1)
	wantDiscovered(t, s, north4, shop1, shop2, tempTenants[0], tempTenants[1])
	wantOwnCredentials(t, s, accountOf)
	if names, ok := s.Snapshot().Authoritative(); !ok || len(names) != 5 || !s.Snapshot().Ready() {
		t.Fatalf("while the changed entry serves its previous list: Authoritative() = %q, %v; ready %v", names, ok, s.Snapshot().Ready())
	}
	if st := s.Entries()[0]; !st.Previous || st.LastError == "" || !st.LastSuccess.Equal(t0) || st.Served != 2 {
		t.Fatalf("status of the changed entry = %+v", st)
	}
	f.sim.SetProjectsFault(simulator.Fault{})
	listAll(s)
	if n := f.sim.ProjectListCalls() - calls; n != 3 { // the failed one, then one each in listAll
		t.Fatalf("%d listings, want 3", n)
	}
	wantDiscovered(t, s, north4, "cn-north-4_shop1=00000000000000000000000000000d01@cn-north-4", shop2,
		"cn-north-4_temp=00000000000000000000000000000d02@cn-north-4")
	wantOwnCredentials(t, s, accountOf)
	if names, ok := s.Snapshot().Authoritative(); !ok || len(names) != 4 {
		t.Fatalf("Authoritative() = %q, %v", names, ok)
	}

	// Removed: its projects go in the same step as the file changes.
	writeFile(t, path, f.credentialsYAML()+"discovery:\n"+f.entry("main", ""))
	old := s.entries[0]
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantDiscovered(t, s, north4, shop1, shop2)
	wantOwnCredentials(t, s, accountOf)
	// A listing of the removed entry that was in flight lands nothing.
	before := s.Snapshot()
	listing, err := listOnce(s, old)
	s.record(old, listing, err)
	if s.Snapshot() != before {
		t.Fatal("a removed entry's listing changed the set")
	}
	// The counter of label 0 keeps the failure of the entry that stood there.
	wantMetrics(t, s, sourceMetrics{source: "0", errors: 1, lastSuccess: "1.7643168e+09", tenantsServed: 3})
}

// TestFirstListingFails: static tenants are served meanwhile, the set is
// neither ready nor authoritative, the failure is retried with backoff and
// says why; once it lists, the set is whole.
func TestFirstListingFails(t *testing.T) {
	f := newFixture(t)
	f.sim.SetProjectsFault(simulator.Fault{Status: 403})
	f.write(t, "  - {name: static, project_id: p1, credentials: main}\n", f.entry("main", ""))
	s := f.set(t, Options{RetryBase: 50 * time.Millisecond})
	snap := s.Snapshot()
	if snap.Ready() || len(snap.Tenants()) != 1 || snap.Tenants()[0].Name != "static" {
		t.Fatalf("after a failed first listing: ready %v, tenants %v", snap.Ready(), snap.Tenants())
	}
	if _, ok := snap.Authoritative(); ok {
		t.Fatal("authoritative before the entry listed")
	}
	if st := s.Entries()[0]; !strings.Contains(st.LastError, "HTTP 403") || st.NextRetry.IsZero() {
		t.Fatalf("status = %+v", st)
	}
	waitListings(t, s, 2) // retried
	f.sim.SetProjectsFault(simulator.Fault{})
	deadline := time.Now().Add(30 * time.Second)
	for !s.Snapshot().Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready 30s after IAM came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantDiscovered(t, s, north4, shop1, shop2)
	if names, ok := s.Snapshot().Authoritative(); !ok || len(names) != 4 {
		t.Fatalf("Authoritative() = %q, %v", names, ok)
	}
	if lines := f.logs.String(); !strings.Contains(lines, `level=warn msg="Listing projects failed; retrying, and keeping the last list meanwhile" source=0 credentials=main reason=forbidden status=403`) ||
		!strings.Contains(lines, "retry_in=50ms") || !strings.Contains(lines, "retry_in=100ms") || !strings.Contains(lines, listedMain) {
		t.Fatalf("logs:\n%s", lines)
	}
}

// TestNothingStartsAfterClose: a reload that races the stop does nothing,
// and Close stops a listing in flight.
func TestNothingStartsAfterClose(t *testing.T) {
	f := newFixture(t)
	f.sim.SetProjectsFault(simulator.Fault{Hang: true})
	f.write(t, "", f.entry("main", ""))
	s := New(f.dir+"/metastudio.yml", Options{Lister: f.client})
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not stop a hanging listing within 20s")
	}
	entries := slices.Clone(s.entries)
	f.write(t, "", f.entry("main", "name_prefix: x-, "), f.entry("temp", ""))
	if err := s.Reload(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close = %v", err)
	}
	if s.Snapshot().File().Discovery()[0].NamePrefix != "" {
		t.Fatal("a reload after Close installed its file")
	}
	// A listing runs only for an entry a reload installs: the entries are
	// the ones Close stopped. (Goroutines are not counted: the listing
	// Close cut short and its connections wind down on their own time.)
	if !slices.Equal(s.entries, entries) {
		t.Fatal("a reload after Close installed entries, and started their listings")
	}
}

// TestEntryKey: an entry is known by its settings and its credentials'
// values, not by its place or its credentials' name.
func TestEntryKey(t *testing.T) {
	parse := func(creds, entries string) []config.DiscoverySource {
		t.Helper()
		cfg, err := config.Parse([]byte(creds+"discovery:\n"+entries), "m.yml", ".", nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Discovery()
	}
	const a = "credentials:\n  a: {access_key: AK1, secret_key: SK1}\n  b: {access_key: AK1, secret_key: SK1}\n  c: {access_key: AK1, secret_key: SK2}\n"
	got := parse(a, "  - {credentials: a, regions: [x]}\n  - {credentials: b, regions: [x]}\n  - {credentials: c, regions: [x]}\n  - {credentials: a, regions: [x], name_prefix: p}\n  - {credentials: a, regions: [x], refresh_interval: 1h}\n")
	if got[0].Key() != got[1].Key() {
		t.Error("the same values under another name make another entry")
	}
	for i := 2; i < len(got); i++ {
		if got[i].Key() == got[0].Key() {
			t.Errorf("entry %d has entry 0's key", i)
		}
		if strings.Contains(got[i].Key(), "SK") {
			t.Errorf("key %q holds a secret", got[i].Key())
		}
	}
}

// TestSecretsNeverSurface drives listings with secrets in play, failures
// included, and looks for them in logs, metrics, the status and the key.
func TestSecretsNeverSurface(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", f.entry("main", ""), f.entry("temp", ""), f.entry("iam", ""),
		strings.Replace(f.entry("main", ""), "credentials: main", "credentials: wrong", 1))
	path := f.dir + "/metastudio.yml"
	writeFile(t, path, strings.Replace(mustRead(t, path), "credentials:\n", "credentials:\n  wrong: {access_key: "+akMain+", secret_key: wrong-SECRET-sk}\n", 1))
	s := f.set(t, Options{})
	f.sim.RevokeTokens() // the next list gets a 401 and a new token
	listAll(s)
	f.sim.SetProjectsFault(simulator.Fault{Status: 401})
	listAll(s)
	f.sim.SetProjectsFault(simulator.Fault{})

	var keys []string
	for _, e := range s.entries {
		keys = append(keys, e.key)
	}
	surfaces := map[string]string{
		"logs":    f.logs.String(),
		"metrics": promtext.Gather(t, s),
		"status":  fmt.Sprintf("%+v", s.Entries()),
		"keys":    strings.Join(keys, " "),
	}
	tokens := f.tokens.Tokens()
	if len(tokens) < 2 || !strings.Contains(surfaces["status"], "HTTP 401") {
		t.Fatalf("the test did not exercise what it checks: %d tokens, status %s", len(tokens), surfaces["status"])
	}
	for where, text := range surfaces {
		if strings.Contains(text, "SECRET") {
			t.Errorf("a secret in %s:\n%s", where, text)
		}
		for _, tok := range tokens {
			if strings.Contains(text, tok) {
				t.Errorf("an IAM token in %s", where)
			}
		}
	}
}

// TestSubscribersFollowTheSet: a subscriber is handed the set it starts
// from at once, then every change, old and new, in order: a reload and a
// listing that found other projects; a listing that found the same ones
// changes nothing.
func TestSubscribersFollowTheSet(t *testing.T) {
	f := newFixture(t)
	f.write(t, "  - {name: static, project_id: p1, credentials: main}\n", f.entry("main", ""))
	s := f.set(t, Options{})
	var seen []string
	var last *Snapshot
	s.Subscribe(func(old, new *Snapshot) {
		if old != last {
			t.Errorf("handed old snapshot %p, the last one was %p", old, last)
		}
		last = new
		seen = append(seen, fmt.Sprintf("%d tenants", len(new.Tenants())))
	})
	listAll(s) // the same list
	if err := f.sim.RemoveProject(idShop2); err != nil {
		t.Fatal(err)
	}
	listAll(s)
	f.write(t, "", f.entry("main", ""))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"4 tenants", "3 tenants", "2 tenants"}; strings.Join(seen, ", ") != strings.Join(want, ", ") {
		t.Fatalf("the subscriber saw %q, want %q", seen, want)
	}
	if last != s.Snapshot() {
		t.Fatal("the last snapshot handed is not the one served")
	}
}
