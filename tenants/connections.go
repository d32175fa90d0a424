package tenants

import "github.com/metastudio-exporter/metastudio_exporter/metastudio"

// ConnectionDigests are the digests of the http_client blocks the snapshot
// uses, its tenants' and its discovery entries', each once: the client's
// connection pools to keep when the set changes, so that a reload that
// keeps a block keeps its pool and one that drops a block leaves nothing of
// it open.
func (s *Snapshot) ConnectionDigests() []string {
	seen := map[string]bool{}
	var out []string
	add := func(c metastudio.Connection) {
		if c.Config != nil && !seen[c.Digest] {
			seen[c.Digest] = true
			out = append(out, c.Digest)
		}
	}
	for _, t := range s.Tenants() {
		add(t.Connection)
	}
	if file := s.File(); file != nil {
		for i := range file.Discovery() {
			add(file.Discovery()[i].Settings.HTTPClient.Connection())
		}
	}
	return out
}
