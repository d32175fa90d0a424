package tenants

import (
	"time"
)

// EntryStatus is what the status page shows of one discovery entry. It
// holds no secret: the credentials by name, the error as the client words
// it (which never quotes a secret).
type EntryStatus struct {
	Index       int    // in the current file; the source label
	Credentials string // the name of the credentials entry it lists with
	LastSuccess time.Time
	// Of the last successful listing: projects IAM listed, those enabled,
	// those the filters matched, and of those the ones served (a file
	// tenant or an earlier entry may hold a name).
	Listed, Enabled, Matched, Served int
	Errors                           int       // failed listings so far
	LastError                        string    // of the last listing; "" if it succeeded
	NextRetry                        time.Time // while failing, when it is tried again
}

// Entries returns the status of every discovery entry of the current file,
// in file order.
func (s *Set) Entries() []EntryStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EntryStatus, len(s.entries))
	for i, e := range s.entries {
		out[i] = EntryStatus{
			Index:       e.src.Index,
			Credentials: e.src.CredentialsName,
			LastSuccess: e.lastSuccess,
			Listed:      e.listing.Listed,
			Enabled:     e.listing.Enabled,
			Matched:     e.listing.Matched,
			Served:      e.served,
			Errors:      int(s.errors[e.src.Index]),
			LastError:   e.lastErr,
			NextRetry:   e.nextRetry,
		}
	}
	return out
}

// LastReloadFailure returns when the last reload failed and its error,
// while the set serves an older file because of it; a nil error once a
// reload succeeds. The error names files, lines and keys, never a secret's
// value.
func (s *Set) LastReloadFailure() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadFailed, s.reloadErr
}
