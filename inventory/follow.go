package inventory

import "github.com/metastudio-exporter/metastudio_exporter/tenants"

// FollowTenants keeps inv in step with the tenant set: a tenant that leaves
// it, or whose settings change, stops being watched at once, its series
// with it.
func FollowTenants(set *tenants.Set, inv *Inventory) {
	set.Subscribe(func(_, new *tenants.Snapshot) { inv.Retain(new.Tenants()) })
}
