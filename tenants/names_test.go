package tenants

import (
	"strings"
	"testing"
)

// TestEntryNames: an entry's name is its source label in the metrics, the
// status and the logs; one without a name is labelled by its index in the
// current file. Reordering named entries renames no series and carries no
// error counter over to another entry, and a label's counter only grows
// for the life of the process, even across an entry's removal.
func TestEntryNames(t *testing.T) {
	f := newFixture(t)
	good := f.entry("main", "name: good, ")
	bad := f.entry("wrong", "name: bad, name_prefix: b-, ")
	unnamed := f.entry("temp", "name_prefix: t-, ")
	path := f.write(t, "", good, bad, unnamed)
	withWrong := func() {
		writeFile(t, path, strings.Replace(mustRead(t, path), "credentials:\n",
			"credentials:\n  wrong: {access_key: "+akMain+", secret_key: wrong-SECRET-sk}\n", 1))
	}
	withWrong()
	s := f.set(t, Options{})
	listAll(s) // bad fails again
	wantMetrics(t, s,
		sourceMetrics{source: "good", lastSuccess: "1.7643168e+09", tenantsServed: 3},
		sourceMetrics{source: "bad", errors: 2, lastSuccess: "0"},
		sourceMetrics{source: "2", lastSuccess: "1.7643168e+09", tenantsServed: 2})
	var labels []string
	for _, st := range s.Entries() {
		labels = append(labels, st.Label)
	}
	if strings.Join(labels, " ") != "good bad 2" {
		t.Fatalf("status labels %q", labels)
	}
	logs := f.logs.String()
	for _, want := range []string{
		`level=info msg="Listed projects" source=good credentials=main listed=8 enabled=7 matched=3 served=3`,
		`level=warn msg="Listing projects failed; retrying, and keeping the last list meanwhile" source=bad credentials=wrong reason=auth status=401`,
		`level=info msg="Listed projects" source=2 credentials=temp listed=2 enabled=2 matched=2 served=2`,
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lacks %s:\n%s", want, logs)
		}
	}

	// Reordered: the named entries keep their series; the unnamed one is
	// labelled by its new index, whose counter is its own.
	f.write(t, "", bad, unnamed, good)
	withWrong()
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, s,
		sourceMetrics{source: "bad", errors: 2, lastSuccess: "0"},
		sourceMetrics{source: "1", lastSuccess: "1.7643168e+09", tenantsServed: 2},
		sourceMetrics{source: "good", lastSuccess: "1.7643168e+09", tenantsServed: 3})
	listAll(s)
	wantMetrics(t, s,
		sourceMetrics{source: "bad", errors: 3, lastSuccess: "0"},
		sourceMetrics{source: "1", lastSuccess: "1.7643168e+09", tenantsServed: 2},
		sourceMetrics{source: "good", lastSuccess: "1.7643168e+09", tenantsServed: 3})
	if tn, _ := s.Snapshot().Tenant("t-cn-north-4_temp"); tn.Source.Label() != "1" {
		t.Fatalf("t-cn-north-4_temp is labelled %s", tn.Source.Label())
	}

	// Removed and back: its counter goes on from where it stood.
	f.write(t, "", good)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, s, sourceMetrics{source: "good", lastSuccess: "1.7643168e+09", tenantsServed: 3})
	f.write(t, "", good, bad)
	withWrong()
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	waitListings(t, s, 1)
	wantMetrics(t, s,
		sourceMetrics{source: "good", lastSuccess: "1.7643168e+09", tenantsServed: 3},
		sourceMetrics{source: "bad", errors: 4, lastSuccess: "0"})
}
