package main

import (
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// followConnections keeps the client's transports of the http_client
// blocks the tenant set uses, its tenants' and its discovery entries', and
// closes the others' idle connections whenever the set changes: a reload
// that keeps a block keeps its pool, one that drops a block leaves nothing
// of it open.
func followConnections(set *tenants.Set, client *metastudio.Client) {
	set.Subscribe(func(_, snap *tenants.Snapshot) {
		client.RetainConnections(connectionDigests(snap)...)
	})
}

// connectionDigests are the digests of the blocks snap uses, each once.
func connectionDigests(snap *tenants.Snapshot) []string {
	seen := map[string]bool{}
	var out []string
	add := func(c metastudio.Connection) {
		if c.Config != nil && !seen[c.Digest] {
			seen[c.Digest] = true
			out = append(out, c.Digest)
		}
	}
	for _, t := range snap.Tenants() {
		add(t.Connection)
	}
	if file := snap.File(); file != nil {
		for i := range file.Discovery() {
			add(file.Discovery()[i].Settings.HTTPClient.Connection())
		}
	}
	return out
}
