package discovery_test

import (
	"reflect"
	"regexp"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

func enabled(id, name string) metastudio.Project {
	return metastudio.Project{ID: id, Name: name, Enabled: true}
}

func TestSelect(t *testing.T) {
	listed := []metastudio.Project{
		enabled("id01", "cn-north-4"),
		enabled("id02", "cn-north-4_shop1"),
		enabled("id03", "cn-north-4_shop2"),
		{ID: "id04", Name: "cn-north-4_off", Enabled: false},
		enabled("id05", "cn-east-3_shop3"),
		enabled("id06", "ap-southeast-1_shop4"),
		enabled("id07", "cn-north-4x_shop"), // not a subproject of cn-north-4
		enabled("id08", "cn-north-4_"),      // empty suffix
		enabled("id09", "MOS"),
		enabled("id10", "cn-north-4_a+b"), // not a valid tenant name
		enabled("bad/id", "cn-north-4_c"), // not a valid project id
	}
	for _, tc := range []struct {
		name    string
		src     config.DiscoverySource
		want    []string // tenant/project id/region/endpoint
		skipped []discovery.Skipped
	}{
		{
			name: "one region",
			src:  config.DiscoverySource{Index: 2, Regions: []string{"cn-north-4"}},
			want: []string{
				"cn-north-4/id01/cn-north-4/https://metastudio.cn-north-4.myhuaweicloud.com",
				"cn-north-4_shop1/id02/cn-north-4/https://metastudio.cn-north-4.myhuaweicloud.com",
				"cn-north-4_shop2/id03/cn-north-4/https://metastudio.cn-north-4.myhuaweicloud.com",
			},
			skipped: []discovery.Skipped{
				{ProjectID: "id10", ProjectName: "cn-north-4_a+b", Reason: `tenant name "cn-north-4_a+b" does not match ^[a-zA-Z0-9_.-]+$`},
				{ProjectID: "bad/id", ProjectName: "cn-north-4_c", Reason: `project ID "bad/id" does not match ^[a-zA-Z0-9_-]{1,64}$`},
			},
		},
		{
			name: "two regions, anchored regex, prefix, endpoint template",
			src: config.DiscoverySource{Regions: []string{"cn-east-3", "cn-north-4"}, NameRegex: regexpFor("shop[0-9]+|.*_shop3"),
				NamePrefix: "acme.", Endpoint: "http://127.0.0.1:1/{region}/{region}"},
			// "shop[0-9]+" alone matches no project name: the regex is
			// anchored, so only the alternative written to match whole
			// names keeps cn-east-3_shop3.
			want: []string{"acme.cn-east-3_shop3/id05/cn-east-3/http://127.0.0.1:1/cn-east-3/cn-east-3"},
		},
		{
			name: "regex over the whole name",
			src:  config.DiscoverySource{Regions: []string{"cn-north-4"}, NameRegex: regexpFor(".*shop.*")},
			want: []string{
				"cn-north-4_shop1/id02/cn-north-4/https://metastudio.cn-north-4.myhuaweicloud.com",
				"cn-north-4_shop2/id03/cn-north-4/https://metastudio.cn-north-4.myhuaweicloud.com",
			},
		},
		{
			// A region a file could not list (the loader checks regions):
			// the longer one wins the project, which then has no region a
			// tenant could have.
			name: "a longer listed region wins",
			src:  config.DiscoverySource{Regions: []string{"cn-north-4", "cn-north-4_shop1"}, NameRegex: regexpFor("cn-north-4_shop1")},
			skipped: []discovery.Skipped{
				{ProjectID: "id02", ProjectName: "cn-north-4_shop1", Reason: `region "cn-north-4_shop1" does not match ^[a-z0-9-]+$`},
			},
		},
		{
			name: "no region matches",
			src:  config.DiscoverySource{Regions: []string{"la-south-2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := discovery.Select(&tc.src, listed)
			got, skipped := l.Projects, l.Skipped
			if l.Listed != len(listed) || l.Enabled != len(listed)-1 || l.Matched != len(got)+len(skipped) {
				t.Errorf("listed %d, enabled %d, matched %d", l.Listed, l.Enabled, l.Matched)
			}
			var flat []string
			for _, p := range got {
				flat = append(flat, p.TenantName+"/"+p.ProjectID+"/"+p.Region+"/"+discovery.EndpointFor(&tc.src, p.Region))
			}
			if !reflect.DeepEqual(flat, tc.want) {
				t.Errorf("kept = %q\nwant %q", flat, tc.want)
			}
			if !reflect.DeepEqual(skipped, tc.skipped) {
				t.Errorf("skipped = %+v\nwant %+v", skipped, tc.skipped)
			}
		})
	}
}

// regexpFor compiles as CompileNameRegex does, for table entries.
func regexpFor(expr string) *regexp.Regexp {
	re, err := config.CompileNameRegex(expr)
	if err != nil {
		panic(err)
	}
	return re
}

func TestSelectDuplicateNames(t *testing.T) {
	l := discovery.Select(&config.DiscoverySource{Regions: []string{"cn-north-4"}},
		[]metastudio.Project{enabled("b2", "cn-north-4_x"), enabled("a1", "cn-north-4_x")})
	got, skipped := l.Projects, l.Skipped
	if len(got) != 1 || got[0].ProjectID != "a1" {
		t.Fatalf("kept = %+v", got)
	}
	want := []discovery.Skipped{{ProjectID: "b2", ProjectName: "cn-north-4_x", Reason: "another project of this source has the same name"}}
	if !reflect.DeepEqual(skipped, want) {
		t.Fatalf("skipped = %+v", skipped)
	}
}
