package receiver

import (
	"cmp"
	"container/list"
	"slices"
)

// fairLRU orders a table's entries by last update within each tenant. When
// the table is full the entry to evict is the least recently updated one of
// the tenant that holds the most, so that one tenant's flood only ever
// pushes out its own entries.
type fairLRU struct {
	tenants map[string]*list.List // front = least recently updated
	seq     uint64                // counts updates, to order entries across tenants
}

// lruLink is what an entry of a fairLRU carries.
type lruLink struct {
	elem   *list.Element
	tenant string
	seq    uint64 // the update that last touched the entry
}

// lruEntry is an entry of a fairLRU: a stream or a job.
type lruEntry interface{ link() *lruLink }

// add puts v, which is not in f, as tenant's most recently updated entry.
func (f *fairLRU) add(tenant string, v lruEntry) {
	if f.tenants == nil {
		f.tenants = map[string]*list.List{}
	}
	l := f.tenants[tenant]
	if l == nil {
		l = list.New()
		f.tenants[tenant] = l
	}
	f.seq++
	*v.link() = lruLink{elem: l.PushBack(v), tenant: tenant, seq: f.seq}
}

// touch marks v as its tenant's most recently updated entry.
func (f *fairLRU) touch(v lruEntry) {
	ln := v.link()
	f.tenants[ln.tenant].MoveToBack(ln.elem)
	f.seq++
	ln.seq = f.seq
}

// remove takes v out of f.
func (f *fairLRU) remove(v lruEntry) {
	ln := v.link()
	l := f.tenants[ln.tenant]
	l.Remove(ln.elem)
	if l.Len() == 0 {
		delete(f.tenants, ln.tenant)
	}
	ln.elem = nil
}

// victim is the entry to evict: the least recently updated one of the
// tenant holding the most entries; between tenants holding as many, the
// one updated longest ago. nil when f is empty.
func (f *fairLRU) victim() lruEntry {
	var best *list.List
	for _, l := range f.tenants {
		if best == nil || l.Len() > best.Len() ||
			l.Len() == best.Len() && front(l).link().seq < front(best).link().seq {
			best = l
		}
	}
	if best == nil {
		return nil
	}
	return front(best)
}

func front(l *list.List) lruEntry { return l.Front().Value.(lruEntry) }

// ordered lists every entry, least recently updated first across tenants.
func (f *fairLRU) ordered() []lruEntry {
	var all []lruEntry
	for _, l := range f.tenants {
		for e := l.Front(); e != nil; e = e.Next() {
			all = append(all, e.Value.(lruEntry))
		}
	}
	slices.SortFunc(all, func(a, b lruEntry) int { return cmp.Compare(a.link().seq, b.link().seq) })
	return all
}
