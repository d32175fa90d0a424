package discovery

import "time"

// SourceStatus is what the status page shows of one discovery source.
type SourceStatus struct {
	Index       int
	LastSuccess time.Time // zero until a list succeeds
	Listed      int       // projects the last successful list held
	Matched     int       // of those, enabled and passing the filters
	Served      int       // of those, served (no static tenant or earlier source has the name)
	Errors      int       // failed refreshes so far
	// LastError is the last refresh's error while the source fails ("" once
	// a refresh succeeds); the client's errors hold no secret.
	LastError string
}

// Status returns every source's status in index order; a nil Discoverer
// (discovery not configured) has none.
func (d *Discoverer) Status() []SourceStatus {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]SourceStatus, len(d.sources))
	for i, st := range d.sources {
		out[i] = SourceStatus{
			Index:       st.src.Index,
			LastSuccess: st.lastSuccess,
			Listed:      st.listed,
			Matched:     len(st.projects),
			Served:      st.served,
			Errors:      st.errors,
		}
		if st.lastErr != nil {
			out[i].LastError = st.lastErr.Error()
		}
	}
	return out
}
