// Package fixedlabels puts a tenant's fixed labels (its labels: in the
// config) on the series of the families that describe the tenant. Within
// one family every series has the same label names, or Prometheus' tooling
// complains: a family served for a set of tenants carries the union of their
// label names after its own labels, with "" (which Prometheus reads as no
// label) where a tenant lacks one. The union is resolved once per tenant set
// and handed in; this package merges a tenant's values into it without
// sorting or allocating, and keeps the Descs of each set of names.
package fixedlabels

import (
	"fmt"
	"slices"
)

// Lookup is the fixed labels of a set of tenants. Names is the union of
// their label names, sorted; Of returns one tenant's names, sorted, and its
// values in their order, and nothing for a tenant not in the set.
type Lookup struct {
	Names []string
	Of    func(tenant string) (names, values []string)
}

// Append appends to dst, for each of names, the tenant's value of that label,
// or "" if it has none. names and tenantNames are sorted, tenantValues in
// tenantNames' order, as the config resolves them. It returns dst unchanged
// and false if the tenant has a label names lacks: served without it, the
// tenant's series would lose a label its owner routes by.
func Append(dst, names, tenantNames, tenantValues []string) ([]string, bool) {
	// The usual case: every tenant served has the same names.
	if len(tenantNames) == len(names) && slices.Equal(tenantNames, names) {
		return append(dst, tenantValues...), true
	}
	n, j := len(dst), 0
	for _, name := range names {
		v := ""
		if j < len(tenantNames) && tenantNames[j] == name {
			v = tenantValues[j]
			j++
		}
		dst = append(dst, v)
	}
	if j < len(tenantNames) {
		return dst[:n], false
	}
	return dst, true
}

// NotServed is the error of a tenant whose label names are not all among
// those served: Append refused it.
func NotServed(tenant string, tenantNames, served []string) error {
	return fmt.Errorf("tenant %q: its labels %q are not all among the label names served, %q", tenant, tenantNames, served)
}

// Union returns the sorted union of the sorted names a and b. It returns a
// (or b) itself when the other adds nothing, so that the union of tenants
// with the same names is one of their slices. The result may share memory
// with a or b: read it, never change it.
func Union(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	i := 0
	for _, name := range b {
		for i < len(a) && a[i] < name {
			i++
		}
		if i == len(a) || a[i] != name {
			return merge(a, b)
		}
	}
	return a
}

func merge(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}
