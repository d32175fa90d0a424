package receiver

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// maxReplayEntries bounds the replay memory (about 150 bytes an entry).
// Only verified signed requests are remembered, so only a sender holding a
// tenant's key can fill it, and then only that tenant's share: past the
// bound the oldest entry of the tenant holding the most goes first.
const maxReplayEntries = 1 << 16

// replayKey is a digest of (tenant, hwTime, body). Distinct events sent in
// the same second share hwSecret and hwTime, so the body must be part of
// the key.
type replayKey [sha256.Size]byte

func newReplayKey(tenant string, hwTime int64, body []byte) replayKey {
	h := sha256.New()
	h.Write([]byte(tenant))
	var b [9]byte // a 0 byte ends the tenant name, which cannot hold one
	binary.BigEndian.PutUint64(b[1:], uint64(hwTime))
	h.Write(b[:])
	h.Write(body)
	var k replayKey
	h.Sum(k[:0])
	return k
}

// replayEntry is one remembered request.
type replayEntry struct {
	key       replayKey
	expiresMs int64
	relayed   bool // forwarded to forward_url successfully
	// relaying is set while a relay of the event is in flight and closed
	// when it ends; relayOK is that relay's outcome.
	relaying chan struct{}
	relayOK  bool
	waiters  int // copies that waited for a relay of this entry
}

// tenantReplay is one tenant's entries in arrival order, so that expired
// ones leave from its head: expiry follows arrival closely, as hwTime is
// within the skew of now.
type tenantReplay struct {
	queue []*replayEntry
	head  int
}

func (q *tenantReplay) len() int { return len(q.queue) - q.head }

// replayCache remembers verified signed requests until they expire.
type replayCache struct {
	mu      sync.Mutex
	index   map[replayKey]*replayEntry
	tenants map[string]*tenantReplay
	queued  int // entries in all queues, including those a later claim replaced
}

// claimKind is what a request should do with its event.
type claimKind int

const (
	claimNew        claimKind = iota // the first copy: record it, and relay it if the tenant forwards
	claimDuplicate                   // a replay: nothing to do
	claimRelayAgain                  // a replay whose earlier relay failed: relay it again
	claimWait                        // a replay whose first copy's relay is in flight: wait for it
)

// claim remembers k for tenant until expiresMs, unless a live entry holds
// it already. With forwarding, a new entry (or one to relay again) is
// marked as relaying: the caller must call finish with the outcome. For
// claimWait, the channel returned closes when the relay in flight ends.
func (c *replayCache) claim(tenant string, k replayKey, nowMs, expiresMs int64, forwarding bool) (claimKind, *replayEntry, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[k]; ok && e.expiresMs > nowMs {
		switch {
		case e.relaying != nil:
			e.waiters++
			return claimWait, e, e.relaying
		case forwarding && !e.relayed:
			e.relaying = make(chan struct{})
			return claimRelayAgain, e, nil
		}
		return claimDuplicate, e, nil
	}
	if c.index == nil {
		c.index = map[replayKey]*replayEntry{}
		c.tenants = map[string]*tenantReplay{}
	}
	q := c.tenants[tenant]
	if q == nil {
		q = &tenantReplay{}
		c.tenants[tenant] = q
	}
	for q.len() > 0 && q.queue[q.head].expiresMs <= nowMs {
		c.pop(tenant, q)
	}
	for c.queued >= maxReplayEntries {
		t, largest := c.largest()
		c.pop(t, largest)
	}
	if c.tenants[tenant] == nil { // emptied by the loops above
		c.tenants[tenant] = q
	}
	e := &replayEntry{key: k, expiresMs: expiresMs}
	if forwarding {
		e.relaying = make(chan struct{})
	}
	c.index[k] = e
	if q.head > 0 && q.head >= len(q.queue)/2 {
		n := copy(q.queue, q.queue[q.head:])
		clear(q.queue[n:])
		q.queue, q.head = q.queue[:n], 0
	}
	q.queue = append(q.queue, e)
	c.queued++
	return claimNew, e, nil
}

// largest is the tenant holding the most entries.
func (c *replayCache) largest() (string, *tenantReplay) {
	var name string
	var most *tenantReplay
	for t, q := range c.tenants {
		if most == nil || q.len() > most.len() {
			name, most = t, q
		}
	}
	return name, most
}

// pop drops tenant's oldest queued entry, and forgets its key unless a
// later claim replaced the entry.
func (c *replayCache) pop(tenant string, q *tenantReplay) {
	e := q.queue[q.head]
	q.queue[q.head] = nil
	q.head++
	c.queued--
	if c.index[e.key] == e {
		delete(c.index, e.key)
	}
	if q.len() == 0 {
		delete(c.tenants, tenant)
	}
}

// finish ends the relay e was marked for: ok tells whether the app took it.
func (c *replayCache) finish(e *replayEntry, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.relayed = e.relayed || ok
	e.relayOK = ok
	close(e.relaying)
	e.relaying = nil
}

// relayOutcome is the outcome of the last relay of e that ended.
func (c *replayCache) relayOutcome(e *replayEntry) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.relayOK
}

// forget drops e, whose event was not recorded after all: a resend must
// be taken as new.
func (c *replayCache) forget(e *replayEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.index[e.key] == e {
		delete(c.index, e.key)
	}
	if e.relaying != nil {
		close(e.relaying)
		e.relaying = nil
	}
}

// retain forgets the entries of tenants not in keep.
func (c *replayCache) retain(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, q := range c.tenants {
		if keep[t] {
			continue
		}
		for q.len() > 0 {
			c.pop(t, q)
		}
	}
}

// len is the number of remembered requests.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}
