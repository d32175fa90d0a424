package tenants

import (
	"time"
)

// EntryStatus is what the status page shows of one discovery entry. It
// holds no secret: the credentials by name, the error as the client words
// it (which never quotes a secret).
type EntryStatus struct {
	Index       int    // in the current file
	Name        string // "" when the entry has none
	Label       string // the source label: Name, else Index
	Credentials string // the name of the credentials entry it lists with
	// Previous says the entry changed at a reload and serves its previous
	// version's list until it lists itself; LastSuccess and the counts are
	// that list's.
	Previous    bool
	LastSuccess time.Time
	// Of the list served: projects IAM listed, those enabled, those the
	// filters matched, and of those the ones served (a file tenant or an
	// earlier entry may hold a name, or a file tenant the project).
	Listed, Enabled, Matched, Served int
	Errors                           int       // failed listings under this label so far
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
			Name:        e.src.Name,
			Label:       e.label(),
			Credentials: e.src.CredentialsName,
			Served:      e.served,
			Errors:      int(s.errors[e.label()]),
			LastError:   e.lastErr,
			NextRetry:   e.nextRetry,
		}
		if l := e.serving(); l != nil {
			out[i].Previous = e.own == nil
			out[i].LastSuccess = l.at
			out[i].Listed, out[i].Enabled, out[i].Matched = l.listing.Listed, l.listing.Enabled, l.listing.Matched
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
