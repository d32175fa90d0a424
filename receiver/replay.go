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

// replayState is what is remembered of one request. It holds no pointer,
// nor does the queue, so that the garbage collector need not scan the
// replay memory's 65,536 entries.
type replayState struct {
	expiresMs int64
	relayed   bool // forwarded to forward_url successfully
}

// queuedKey is a remembered request in its tenant's queue.
type queuedKey struct {
	key       replayKey
	expiresMs int64
}

// relayWait is a relay in flight: copies of its request wait for done, and
// then read ok.
type relayWait struct {
	done    chan struct{}
	ok      bool
	waiters int // copies that waited for it
}

// tenantReplay is one tenant's entries in arrival order, so that expired
// ones leave from its head: expiry follows arrival closely, as hwTime is
// within the skew of now.
type tenantReplay struct {
	queue []queuedKey
	head  int
}

func (q *tenantReplay) len() int { return len(q.queue) - q.head }

// replayCache remembers verified signed requests until they expire.
type replayCache struct {
	mu      sync.Mutex
	index   map[replayKey]replayState
	tenants map[string]*tenantReplay
	queued  int                      // entries in all queues, including those a later claim renewed
	relays  map[replayKey]*relayWait // relays in flight
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
// it already. With forwarding, claimNew and claimRelayAgain start a relay:
// the caller must end it with finish (or forget). claimWait returns the
// relay in flight to wait for.
func (c *replayCache) claim(tenant string, k replayKey, nowMs, expiresMs int64, forwarding bool) (claimKind, *relayWait) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.relays[k]; ok {
		w.waiters++
		return claimWait, w
	}
	if st, ok := c.index[k]; ok && st.expiresMs > nowMs {
		if forwarding && !st.relayed {
			return claimRelayAgain, c.startRelay(k)
		}
		return claimDuplicate, nil
	}
	if c.index == nil {
		c.index = map[replayKey]replayState{}
		c.tenants = map[string]*tenantReplay{}
		c.relays = map[replayKey]*relayWait{}
	}
	q := c.tenants[tenant]
	if q == nil {
		q = &tenantReplay{}
	}
	for q.len() > 0 && q.queue[q.head].expiresMs <= nowMs {
		c.pop(tenant, q)
	}
	for c.queued >= maxReplayEntries {
		t, largest := c.largest()
		c.pop(t, largest)
	}
	c.tenants[tenant] = q // the loops above drop emptied queues
	c.index[k] = replayState{expiresMs: expiresMs}
	if q.head > 0 && q.head >= len(q.queue)/2 {
		n := copy(q.queue, q.queue[q.head:])
		q.queue, q.head = q.queue[:n], 0
	}
	q.queue = append(q.queue, queuedKey{key: k, expiresMs: expiresMs})
	c.queued++
	if forwarding {
		return claimNew, c.startRelay(k)
	}
	return claimNew, nil
}

func (c *replayCache) startRelay(k replayKey) *relayWait {
	w := &relayWait{done: make(chan struct{})}
	c.relays[k] = w
	return w
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

// pop drops tenant's oldest queued key, and its entry unless a later claim
// of the same key renewed it.
func (c *replayCache) pop(tenant string, q *tenantReplay) {
	e := q.queue[q.head]
	q.head++
	c.queued--
	if st, ok := c.index[e.key]; ok && st.expiresMs == e.expiresMs {
		delete(c.index, e.key)
	}
	if q.len() == 0 {
		delete(c.tenants, tenant)
	}
}

// finish ends the relay of k started by claim: ok tells whether the app
// took it.
func (c *replayCache) finish(k replayKey, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, found := c.index[k]; found && ok {
		st.relayed = true
		c.index[k] = st
	}
	c.endRelay(k, ok)
}

func (c *replayCache) endRelay(k replayKey, ok bool) {
	if w, found := c.relays[k]; found {
		w.ok = ok
		close(w.done)
		delete(c.relays, k)
	}
}

// outcome is whether the relay w waited for reached the app.
func (c *replayCache) outcome(w *relayWait) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.ok
}

// forget drops k, whose event was not recorded after all: a resend must be
// taken as new.
func (c *replayCache) forget(k replayKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.index, k)
	c.endRelay(k, false)
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
