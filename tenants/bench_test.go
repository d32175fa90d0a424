package tenants

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// blockedLister never answers: the entry's own run lands nothing while the
// benchmark feeds it listings.
type blockedLister struct{}

func (blockedLister) ListProjects(ctx context.Context, _ string, _ metastudio.Credentials, _ metastudio.Connection) ([]metastudio.Project, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// benchSet is a set whose one entry serves n projects, listed without
// IAM: what a reload or a listing costs is the set's own work.
func benchSet(b *testing.B, n int) (*Set, discovery.Listing) {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "metastudio.yml")
	err := os.WriteFile(path, []byte("credentials:\n  main: {access_key: AK, secret_key: SK}\n"+
		"tenants:\n  - {name: static, project_id: p1, credentials: main}\n"+
		"discovery:\n  - {credentials: main, iam_endpoint: \"http://127.0.0.1:1\", regions: [cn-north-4], refresh_interval: 1h}\n"), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	s := New(path, Options{Lister: blockedLister{}})
	b.Cleanup(s.Close)
	if err := s.Reload(); err != nil {
		b.Fatal(err)
	}
	listing := discovery.Listing{Listed: n, Enabled: n, Matched: n}
	for i := range n {
		name := fmt.Sprintf("cn-north-4_shop%06d", i)
		listing.Projects = append(listing.Projects, discovery.Project{TenantName: name, ProjectID: fmt.Sprintf("p%06d", i), ProjectName: name, Region: "cn-north-4"})
	}
	s.record(s.entries[0], listing, nil)
	return s, listing
}

// BenchmarkReloadKeepsList: a reload that keeps an entry rebuilds its
// tenants against the new file's entry.
func BenchmarkReloadKeepsList(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, _ := benchSet(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Reload(); err != nil {
					b.Fatal(err)
				}
			}
			if got := len(s.Snapshot().Tenants()); got != n+1 {
				b.Fatalf("%d tenants", got)
			}
		})
	}
}

// BenchmarkListingChanges: a listing that finds one project more makes
// the entry's tenants and publishes the set.
func BenchmarkListingChanges(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, listing := benchSet(b, n)
			more := listing
			more.Projects = append(listing.Projects[:n:n], discovery.Project{TenantName: "cn-north-4_zz", ProjectID: "pzz", ProjectName: "cn-north-4_zz", Region: "cn-north-4"})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l := listing
				if i%2 == 0 {
					l = more
				}
				i++
				s.record(s.entries[0], l, nil)
			}
		})
	}
}
