package tenants

import (
	"strings"
	"testing"
)

// TestFileTenantsProjectNotServedTwice: a discovered project that a file
// tenant serves already (the same project ID at the same endpoint, under
// any name) is not served a second time and not counted; it is logged once
// at info, not on every listing or reload. The same project at another
// endpoint is another tenant.
func TestFileTenantsProjectNotServedTwice(t *testing.T) {
	f := newFixture(t)
	static := "  - {name: shop-one, project_id: " + idShop1 + ", region: cn-north-4, credentials: main}\n" +
		"  - {name: cn-north-4, project_id: " + idDefault + ", region: cn-north-4, credentials: main}\n" +
		"  - {name: shop-two-proxied, project_id: " + idShop2 + ", endpoint: \"https://metastudio.proxy.example.test\", credentials: main}\n"
	path := f.write(t, static, f.entry("main", ""))
	s := f.set(t, Options{})
	wantDiscovered(t, s, shop2)
	if tn, _ := s.Snapshot().Tenant("cn-north-4"); tn.Source != nil {
		t.Fatal("the file's tenant lost its name to the same project, discovered")
	}
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 1})
	if st := s.Entries()[0]; st.Matched != 3 || st.Served != 1 {
		t.Fatalf("status = %+v", st)
	}
	wantLines(t, f.logs,
		`level=info msg="Loaded config file" file=`+path+` summary="`+path+`: 3 tenants (shop-one, cn-north-4, shop-two-proxied), 3 credentials (2 AK/SK, 1 IAM password), 1 discovery source"`,
		`level=info msg="Discovered project not served: a configured tenant serves it" source=0 tenant=cn-north-4 project_id=`+idDefault+` configured_tenant=cn-north-4`,
		`level=info msg="Discovered project not served: a configured tenant serves it" source=0 tenant=cn-north-4_shop1 project_id=`+idShop1+` configured_tenant=shop-one`,
		`level=info msg="Listed projects" source=0 credentials=main listed=8 enabled=7 matched=3 served=1`)

	// Logged once: neither listings nor a reload repeat it.
	listAll(s)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if lines := logLines(f.logs); len(lines) != 1 || !strings.Contains(lines[0], "Loaded config file") {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}

	// The file's tenant goes: the discovered project is served, from the
	// list the entry kept across the reload.
	writeFile(t, path, strings.Replace(mustRead(t, path), "  - {name: shop-one, project_id: "+idShop1+", region: cn-north-4, credentials: main}\n", "", 1))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantDiscovered(t, s, shop1, shop2)
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 2})
}
